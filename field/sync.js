// Sending the queue: patrols first, then reports and inspection records of supervised objects, oldest
// first (a report names its patrol by patrol_client_id; the server links them in either order). Every item carries its client_id, so sending it twice
// stores it once. An item that fails for a passing reason (no network, server error, 429) is tried
// again later, waiting longer each time (5 s, 10 s, 20 s … at most 10 min); one the server refuses
// for good (another 4xx) is kept with the server's message and not sent again.
import { ApiError, call } from "./api.js";
import { getItem, items, putItem } from "./store.js";

const BASE_DELAY_MS = 5000;
const MAX_DELAY_MS = 10 * 60 * 1000;

export function backoffMs(attempts) {
  return Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempts - 1));
}

/** A queued patrol (state "queued"), from its fixes. */
export function patrolItem(username, clientId, fixes, startedAt) {
  return {
    kind: "patrol",
    client_id: clientId,
    username,
    created_at: Date.now(),
    started_at: startedAt,
    state: "queued",
    attempts: 0,
    next_at: 0,
    body: { client_id: clientId, fixes },
    result: null,
    error: null,
  };
}

/** A queued report: fields {category, description, lon, lat, patrol_client_id} and photo Blobs. */
export function reportItem(username, clientId, fields, photos) {
  return {
    kind: "report",
    client_id: clientId,
    username,
    created_at: Date.now(),
    state: "queued",
    attempts: 0,
    next_at: 0,
    fields,
    photos,
    result: null,
    error: null,
  };
}

/** A queued inspection record of a supervised object: fields {object_id, note}, at most one photo Blob. */
export function inspectionItem(username, clientId, object, fields, photos) {
  return {
    kind: "inspection",
    client_id: clientId,
    username,
    created_at: Date.now(),
    object_name: object.name,
    state: "queued",
    attempts: 0,
    next_at: 0,
    fields: { object_id: object.id, ...fields },
    photos,
    result: null,
    error: null,
  };
}

/** The multipart body of a report or an inspection record: client_id, its fields and photos. */
function itemForm(item) {
  const form = new FormData();
  form.set("client_id", item.client_id);
  for (const [name, value] of Object.entries(item.fields)) {
    if (value !== null && value !== undefined && value !== "") form.set(name, String(value));
  }
  for (const photo of item.photos || []) {
    form.append("photo", photo.blob, photo.name || "photo.jpg");
  }
  return form;
}

async function send(item, key) {
  if (item.kind === "patrol") return call("POST", "/patrols", { key, json: item.body, timeoutMs: 120000 });
  if (item.kind === "inspection") return call("POST", "/inspections", { key, form: itemForm(item), timeoutMs: 120000 });
  return call("POST", "/reports", { key, form: itemForm(item), timeoutMs: 120000 });
}

let running = null;

/**
 * Send what is due for the signed-in user. Returns {sent, failed, waiting, unauthorized}.
 * Only one sync runs at a time (also across tabs, with Web Locks where the browser has them).
 */
export function syncNow(session, { force = false } = {}) {
  if (running) return running;
  const work = () => syncOnce(session, force);
  running = (navigator.locks ? navigator.locks.request("rivergrid-field-sync", work) : work()).finally(() => {
    running = null;
  });
  return running;
}

async function syncOnce(session, force) {
  const outcome = { sent: 0, failed: 0, waiting: 0, unauthorized: false, nextAt: null };
  if (!session) return outcome;
  const pending = (await items()).filter(
    (item) => item.username === session.user.username && (item.state === "queued" || item.state === "retry"),
  );
  const rank = (item) => (item.kind === "patrol" ? 0 : 1);
  pending.sort((a, b) => rank(a) - rank(b) || a.created_at - b.created_at);
  for (const queued of pending) {
    const item = (await getItem(queued.client_id)) || queued;
    if (item.state !== "queued" && item.state !== "retry") continue;
    if (!force && item.next_at > Date.now()) {
      outcome.waiting += 1;
      outcome.nextAt = Math.min(outcome.nextAt ?? Infinity, item.next_at);
      continue;
    }
    try {
      const result = await send(item, session.key);
      Object.assign(item, { state: "done", result, error: null, sent_at: Date.now() });
      delete item.photos; // sent: the server has them now
      if (item.body) item.body = { client_id: item.client_id, fix_count: item.body.fixes.length };
      outcome.sent += 1;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 0 && !navigator.onLine) {
        break; // offline: everything waits, unchanged, for the "online" event
      }
      item.attempts += 1;
      item.error = error.message;
      if (error.status === 401) {
        item.state = "retry";
        item.next_at = 0;
        outcome.unauthorized = true;
        await putItem(item);
        break;
      }
      if (error.transient) {
        item.state = "retry";
        item.next_at = Date.now() + backoffMs(item.attempts);
        outcome.waiting += 1;
        outcome.nextAt = Math.min(outcome.nextAt ?? Infinity, item.next_at);
      } else {
        item.state = "failed";
        outcome.failed += 1;
      }
      if (error.status === 0) {
        await putItem(item);
        break; // no network: the rest waits too
      }
    }
    await putItem(item);
  }
  return outcome;
}
