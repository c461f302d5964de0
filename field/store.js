// What the phone keeps in IndexedDB (idb-keyval, one small database per kind of record):
// kv     session (device key, user, grids), me (the last GET /me), patrol (the running patrol)
// fixes  every GPS fix of the running patrol, written as it arrives: key [patrol client_id, t_ms]
// queue  patrols, reports and inspection records waiting to be sent, and what the server answered: key client_id
import {
  createStore, get, set, del, entries, delMany,
} from "../app/static/vendor/idb-keyval/idb-keyval.js";

const kv = createStore("rivergrid-field", "kv");
const fixes = createStore("rivergrid-field-fixes", "fixes");
const queue = createStore("rivergrid-field-queue", "queue");

export const getSession = () => get("session", kv);
export const setSession = (value) => set("session", value, kv);
export const clearSession = () => del("session", kv);

export const getMe = () => get("me", kv);
export const setMe = (value) => set("me", value, kv);
export const clearMe = () => del("me", kv);

export const getPatrol = () => get("patrol", kv);
export const setPatrol = (value) => set("patrol", value, kv);
export const clearPatrol = () => del("patrol", kv);

export const getValue = (key) => get(key, kv);
export const setValue = (key, value) => set(key, value, kv);

/** Store one fix [lon, lat, t_ms, accuracy_m] of patrol clientId (key: the patrol and the fix's time). */
export const addFix = (clientId, fix) => set([clientId, fix[2]], fix, fixes);

/** The fixes of patrol clientId, in the order they were taken. */
export async function fixesOf(clientId) {
  const all = await entries(fixes);
  return all
    .filter(([key]) => Array.isArray(key) && key[0] === clientId)
    .sort((a, b) => a[0][1] - b[0][1])
    .map(([, fix]) => fix);
}

export async function dropFixes(clientId) {
  const all = await entries(fixes);
  await delMany(all.filter(([key]) => Array.isArray(key) && key[0] === clientId).map(([key]) => key), fixes);
}

export const putItem = (item) => set(item.client_id, item, queue);
export const getItem = (clientId) => get(clientId, queue);
export const deleteItem = (clientId) => del(clientId, queue);

/** Every queued item (patrols, reports and inspection records, sent or not), oldest first. */
export async function items() {
  const all = await entries(queue);
  return all.map(([, item]) => item).sort((a, b) => a.created_at - b.created_at);
}
