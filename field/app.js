// 河长巡河: the phone app at /m/ (signed-in: 巡河, 上报, 对象, 同步, 我的), /m/report (a resident's report
// from the signboard) and /m/case (a report's state by its 查询码). Everything the user sees is Chinese;
// text from the server is put in as text, never as HTML.
import { API, APP, ApiError, TILES, call } from "./api.js";
import {
  formatElapsed, formatKm, formatStation, haversineM, intersectBounds, nearestReach, tilesCovering, unionBounds,
  walkStep,
} from "./geo.js";
import {
  addFix, clearMe, clearPatrol, clearSession, deleteItem, dropFixes, fixesOf, getMe, getPatrol, getSession, items, putItem,
  setMe, setPatrol, setSession,
} from "./store.js";
import { inspectionItem, patrolItem, reportItem, syncNow } from "./sync.js";

// ---------------------------------------------------------------------------------------------
// Small helpers

/** An element: h("div", {class: "x", onclick: f, "data-testid": "y"}, "text", child, …). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function clear(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** A client id: crypto.randomUUID where the browser has it (secure contexts), else from random bytes. */
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function formatTime(value) {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

const FALLBACK_CATEGORIES = [
  ["discharge_enterprise", "排污企业"],
  ["ecology", "生态环境"],
  ["petition", "信访案件"],
  ["pollution_dispute", "污染纠纷"],
  ["safety_hazard", "环境安全隐患"],
  ["illegal_construction", "违法建设项目"],
  ["drinking_water_source", "饮用水源地"],
  ["nature_reserve", "自然保护区"],
  ["livestock_pollution", "畜禽养殖污染"],
  ["other", "其他"],
].map(([code, label]) => ({ code, label }));
/** What a resident may choose (信访案件 is a staff category: petitions go through their own channel). */
const PUBLIC_CATEGORIES = FALLBACK_CATEGORIES.filter((c) => c.code !== "petition");

/** The category select: no option chosen until the user picks one (testid report-category). */
function categorySelect(categories) {
  return h(
    "select",
    { "data-testid": "report-category", name: "category", required: true, class: "field-input" },
    h("option", { value: "", selected: true, disabled: true }, "请选择问题类别"),
    categories.map((c) => h("option", { value: c.code }, c.label)),
  );
}

const README_HTTPS = "HTTPS（nginx 反向代理，内网证书）";

/** The notice shown when the page is not a secure context (plain HTTP on another address). */
function insecureNotice({ resident = false } = {}) {
  if (window.isSecureContext) return null;
  if (resident) {
    return h(
      "div",
      { class: "notice notice-danger", role: "alert", "data-testid": "insecure-notice" },
      "当前地址不是 HTTPS，手机定位不可用：举报将使用公示牌所在河段的位置。",
    );
  }
  return h(
    "div",
    { class: "notice notice-danger", role: "alert", "data-testid": "insecure-notice" },
    h("strong", {}, "当前地址不安全（HTTP）"),
    h(
      "p",
      {},
      `本页通过 ${location.origin} 打开，不是 HTTPS。手机浏览器只在 HTTPS 下允许定位、巡河记录、离线保存和保持屏幕常亮，`,
      "因此现在无法记录巡河，也不能离线使用。",
    ),
    h("p", {}, `请管理员按使用说明（README）中“${README_HTTPS}”一节为本系统配置 HTTPS，然后用 https:// 开头的地址打开。`),
  );
}

// ---------------------------------------------------------------------------------------------
// Service worker and the tiles of the user's grids

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return null;
  try {
    return await navigator.serviceWorker.register(`${APP}sw.js`, { scope: APP });
  } catch (error) {
    console.warn("service worker not registered", error);
    return null;
  }
}

let knownTileSet = null;

/** The app's tile set for the phone map: the bundled 简图, else the local tile file (null: none). */
async function tileSet() {
  if (!knownTileSet) knownTileSet = findTileSet();
  const info = await knownTileSet;
  if (!info) knownTileSet = null; // look again next time (offline, or not built yet)
  return info;
}

async function findTileSet() {
  for (const name of ["simple", "local"]) {
    try {
      const response = await fetch(`${TILES}/${name}.json`);
      if (!response.ok) continue;
      const info = await response.json();
      const template = info.tiles && info.tiles[0];
      if (!template) continue;
      const url = new URL(template, location.href);
      // same origin as the page (the server may see another scheme or host behind a proxy)
      return { ...info, name, template: decodeURI(url.pathname) + url.search };
    } catch {
      // offline without a cached TileJSON: no basemap
    }
  }
  return null;
}

/** Ask the service worker to keep the tiles of the user's grids for offline use. */
async function cacheGridTiles(grids) {
  if (!("serviceWorker" in navigator) || !window.isSecureContext || !navigator.onLine) return;
  const info = await tileSet();
  const area = unionBounds((grids || []).map((g) => g.bounds));
  if (!info || !area) return;
  const bounds = info.bounds ? intersectBounds(area, info.bounds) : area;
  if (!bounds) return;
  const top = info.maxzoom ?? 14;
  const zooms = [];
  for (let z = Math.max(info.minzoom ?? 0, top - 3); z <= top; z++) zooms.push(z);
  const urls = tilesCovering(bounds, zooms, 1500).map(([z, x, y]) =>
    info.template.replace("{z}", z).replace("{x}", x).replace("{y}", y),
  );
  const registration = await navigator.serviceWorker.ready;
  registration.active?.postMessage({ type: "cache-tiles", urls, set: info.name, version: String(info.version ?? "") });
}

// ---------------------------------------------------------------------------------------------
// The map (Leaflet, the app's basemap, the user's grids and reaches)

async function makeMap(container, { grids = [], reaches = [], center = null, onTap = null } = {}) {
  const L = window.L;
  if (!L) return null;
  const map = L.map(container, { zoomControl: true, attributionControl: true });
  map.attributionControl.setPrefix(false);
  const info = await tileSet();
  if (info) {
    const [w, s, e, n] = info.bounds || [-180, -85, 180, 85];
    if (info.format === "pbf" || info.format === "mvt" || info.vector_layers) {
      const options = { minZoom: (info.minzoom ?? 0) + 1, maxDataZoom: info.maxzoom, bounds: [[s, w], [n, e]] };
      const make = info.name === "simple" ? window.RiverGridBasemap?.simple : window.RiverGridBasemap?.protomaps;
      make?.(info.template, options)?.addTo(map);
    } else {
      L.tileLayer(info.template, {
        minNativeZoom: info.minzoom, maxNativeZoom: info.maxzoom, maxZoom: 18, bounds: [[s, w], [n, e]],
      }).addTo(map);
    }
  }
  for (const grid of grids) {
    if (!grid.bounds) continue;
    const [w, s, e, n] = grid.bounds;
    L.rectangle([[s, w], [n, e]], { color: "#5f6b7a", weight: 1.5, dashArray: "6 4", fill: false })
      .bindTooltip(grid.name)
      .addTo(map);
  }
  for (const reach of reaches) {
    if (reach.geometry) {
      L.geoJSON(reach.geometry, { style: { color: "#1565c0", weight: 4, opacity: 0.8 } }).bindTooltip(reach.name).addTo(map);
    }
  }
  const area = unionBounds(grids.map((g) => g.bounds));
  if (center) map.setView([center[1], center[0]], 15);
  else if (area) map.fitBounds([[area[1], area[0]], [area[3], area[2]]], { padding: [8, 8] });
  else map.setView([41.78, 126.92], 11);
  if (onTap) map.on("click", (event) => onTap(event.latlng.lng, event.latlng.lat));
  return map;
}

// ---------------------------------------------------------------------------------------------
// The signed-in app

const state = {
  session: null,
  me: null,
  view: "patrol",
  patrol: null, // the running patrol (also in IndexedDB)
  watchId: null,
  gpsWeak: false,
  gpsMessage: "",
  lastFix: null,
  wakeLock: null,
  wakeLockFailed: false,
  fixChain: Promise.resolve(),
  patrolMap: null,
  trackLine: null,
  positionMarker: null,
  syncTimer: null,
  syncing: false,
  syncMessage: "",
  tick: null,
  inspectObject: null, // the object whose inspection record is being written (对象 → 巡查)
  objectsPosition: null, // [lon, lat, accuracy_m] of the last 定位 on the 对象 screen
};

const root = () => document.getElementById("app");

function deviceName() {
  const ua = navigator.userAgent;
  const kind = /iPhone|iPad/.test(ua) ? "iPhone" : /Android/.test(ua) ? "Android" : "浏览器";
  return `${kind} ${new Date().toISOString().slice(0, 10)}`;
}

async function signedInApp() {
  state.session = (await getSession()) || null;
  state.me = (await getMe()) || null;
  state.patrol = (await getPatrol()) || null;
  window.addEventListener("online", () => {
    renderStatus();
    startSync();
  });
  window.addEventListener("offline", renderStatus);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.patrol) keepAwake();
  });
  if (!state.session) {
    renderLogin();
    return;
  }
  if (state.patrol) {
    state.view = "patrol";
    startWatch(); // a patrol was running when the page was closed: go on recording
  }
  render();
  startSync();
  // new grids or a rebuilt basemap since the last visit: the service worker fetches what it lacks
  refreshMe().then(() => cacheGridTiles(state.me?.grids || state.session?.grids || []));
}

async function refreshMe() {
  if (!state.session || !navigator.onLine) return;
  try {
    state.me = await call("GET", "/me", { key: state.session.key });
    await setMe(state.me);
    if (state.view === "me" || state.view === "patrol" || state.view === "objects") render();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      // the device key was revoked: a running patrol goes on recording, the sync waits for a new sign-in
      if (state.patrol) state.syncMessage = "登录已失效：记录仍保存在本机，结束巡河后请退出并重新登录再同步。";
      else signedOut("登录已失效，请重新登录");
    }
  }
}

function renderLogin(message = "", { error = true } = {}) {
  const form = h(
    "form",
    { class: "card login", autocomplete: "on" },
    h("h1", {}, "河长巡河"),
    h("p", { class: "muted" }, "用河长网格的账号登录。"),
    h("label", { for: "login-username" }, "用户名"),
    h("input", {
      id: "login-username", "data-testid": "login-username", name: "username", autocomplete: "username",
      required: true, class: "field-input", autocapitalize: "off",
    }),
    h("label", { for: "login-password" }, "密码"),
    h("input", {
      id: "login-password", "data-testid": "login-password", name: "password", type: "password",
      autocomplete: "current-password", required: true, class: "field-input",
    }),
    h("p", { class: error ? "error" : "ok", role: "alert", "data-testid": "login-error" }, message),
    h("button", { type: "submit", class: "big primary", "data-testid": "login-submit" }, "登录"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    const error = form.querySelector('[data-testid="login-error"]');
    error.className = "error";
    button.disabled = true;
    error.textContent = "";
    try {
      const answer = await call("POST", "/session", {
        json: { username: form.username.value.trim(), password: form.password.value, device: deviceName() },
      });
      state.session = { key: answer.key, user: answer.user, grids: answer.grids || [] };
      await setSession(state.session);
      state.view = "patrol";
      const running = await getPatrol();
      state.patrol = running && running.username === answer.user.username ? running : null;
      if (state.patrol) startWatch(); // recorded before the sign-in expired: go on
      render();
      await refreshMe();
      startSync();
      cacheGridTiles(state.session.grids);
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.message : String(e);
    } finally {
      button.disabled = false;
    }
  });
  clear(root(), insecureNotice(), form);
}

async function signOut() {
  const waiting = (await items()).filter(
    (i) => i.username === state.session?.user.username && i.state !== "done" && i.state !== "failed",
  );
  if (state.patrol) {
    alert("正在巡河，请先结束巡河再退出。");
    return;
  }
  if (waiting.length && !confirm(`还有 ${waiting.length} 条记录未同步。退出后它们仍保存在本机，同一账号再次登录后会继续同步。确定退出？`)) {
    return;
  }
  try {
    await call("DELETE", "/session", { key: state.session.key });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401) && !confirm("无法连接服务器，本机的登录密钥将不会在服务器上作废。仍要退出？")) {
      return;
    }
  }
  await signedOut("已退出", { error: false });
}

async function signedOut(message, options = {}) {
  stopWatch();
  state.session = null;
  state.me = null;
  await clearSession();
  await clearMe();
  state.patrolMap = null;
  renderLogin(message, options);
}

const VIEWS = [
  ["patrol", "巡河"],
  ["report", "上报"],
  ["objects", "对象"],
  ["sync", "同步"],
  ["me", "我的"],
];

function render() {
  if (!state.session) {
    renderLogin();
    return;
  }
  state.patrolMap = null;
  const main = h("main", { id: "view" });
  const nav = h(
    "nav",
    { class: "tabs" },
    VIEWS.map(([code, label]) =>
      h("button", {
        type: "button", class: code === (state.view === "inspect" ? "objects" : state.view) ? "tab active" : "tab",
        "data-view": code,
        onclick: () => {
          state.view = code;
          render();
        },
      }, label),
    ),
  );
  const header = h(
    "header",
    { class: "top" },
    h("span", { class: "title" }, "河长巡河"),
    h("span", { id: "net-status", class: "net" }),
  );
  clear(root(), header, insecureNotice(), main, nav);
  renderStatus();
  if (state.view === "patrol") renderPatrol(main);
  else if (state.view === "report") renderReport(main);
  else if (state.view === "objects") renderObjects(main);
  else if (state.view === "inspect") renderInspect(main);
  else if (state.view === "sync") renderSync(main);
  else renderMe(main);
}

async function renderStatus() {
  const el = document.getElementById("net-status");
  if (!el) return;
  const pending = state.session
    ? (await items()).filter((i) => i.username === state.session.user.username && (i.state === "queued" || i.state === "retry")).length
    : 0;
  el.textContent = `${navigator.onLine ? "在线" : "离线"}${pending ? ` · 待同步 ${pending}` : ""}`;
  el.className = navigator.onLine ? "net online" : "net offline";
}

// ----- 巡河

function renderPatrol(main) {
  const p = state.patrol;
  const grids = state.me?.grids || state.session.grids || [];
  const mapBox = h("div", { class: "map", id: "patrol-map" });
  const controls = p
    ? h("button", { type: "button", class: "big danger", "data-testid": "stop-patrol", onclick: stopPatrol }, "结束巡河")
    : h("button", {
      type: "button", class: "big primary", "data-testid": "start-patrol", onclick: startPatrol,
      disabled: !("geolocation" in navigator) || !window.isSecureContext,
    }, "开始巡河");
  clear(
    main,
    h(
      "section",
      { class: "card patrol" },
      h(
        "div",
        { class: "stats" },
        h("div", {}, h("span", { class: "label" }, "用时"), h("span", { class: "value", "data-testid": "patrol-elapsed", id: "patrol-elapsed" }, p ? formatElapsed((Date.now() - p.started_at) / 1000) : "0:00:00")),
        h("div", {}, h("span", { class: "label" }, "距离（km）"), h("span", { class: "value", "data-testid": "patrol-distance", id: "patrol-distance" }, formatKm(p?.distance_m || 0))),
      ),
      h("div", { class: "where", id: "patrol-where" }, whereText()),
      h("div", { class: "gps-hint", id: "gps-hint", hidden: !(p && (state.gpsWeak || state.gpsMessage)) }, state.gpsMessage || "GPS 信号弱"),
      h("p", { class: "muted small", id: "patrol-awake" }, awakeText()),
      controls,
      p ? h("button", { type: "button", class: "big", onclick: () => { state.view = "report"; render(); } }, "上报问题") : null,
    ),
    mapBox,
    grids.length ? null : h("p", { class: "muted" }, "您还没有负责的网格。"),
  );
  makeMap(mapBox, { grids, reaches: state.me?.reaches || [] }).then(async (map) => {
    if (!map || !mapBox.isConnected) return;
    state.patrolMap = map;
    state.trackLine = window.L.polyline([], { color: "#e65100", weight: 4 }).addTo(map);
    state.positionMarker = null;
    if (state.patrol) {
      const fixes = await fixesOf(state.patrol.client_id);
      state.trackLine.setLatLngs(fixes.map((f) => [f[1], f[0]]));
      if (fixes.length) showPosition(fixes[fixes.length - 1], true);
    }
  });
  if (state.tick) clearInterval(state.tick);
  state.tick = setInterval(() => {
    const el = document.getElementById("patrol-elapsed");
    if (el && state.patrol) el.textContent = formatElapsed((Date.now() - state.patrol.started_at) / 1000);
  }, 1000);
}

function whereText() {
  const fix = state.lastFix || state.patrol?.last;
  if (!state.patrol) return "点“开始巡河”记录轨迹。";
  if (!fix) return "正在定位…";
  const reaches = state.me?.reaches || [];
  const near = nearestReach(reaches, fix[0], fix[1]);
  if (!near) return `已记录 ${state.patrol.fix_count} 个定位点`;
  const off = near.distanceM > 200 ? `（距河道约 ${Math.round(near.distanceM)} 米）` : "";
  // the reach's 桩号 start where it does not begin at K0+000 (a stretch of a longer river)
  return `${near.reach.name} ${formatStation(near.stationM + (near.reach.start_station_m || 0))}${off}`;
}

function awakeText() {
  if (!state.patrol) return "巡河时请保持屏幕常亮、停留在本页：浏览器在后台或锁屏时会暂停定位。";
  if (state.wakeLock) return "屏幕常亮已开启。请停留在本页，不要锁屏或切换到其他应用。";
  return "请保持屏幕常亮、停留在本页：浏览器在后台或锁屏时会暂停定位（本机未能自动保持常亮，可在手机设置里延长自动锁屏时间）。";
}

function updatePatrolScreen() {
  const set = (id, text) => {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  };
  if (!state.patrol) return;
  set("patrol-distance", formatKm(state.patrol.distance_m));
  set("patrol-where", whereText());
  set("patrol-awake", awakeText());
  const hint = document.getElementById("gps-hint");
  if (hint) {
    hint.hidden = !(state.gpsWeak || state.gpsMessage);
    hint.textContent = state.gpsMessage || "GPS 信号弱";
  }
}

function showPosition(fix, center = false) {
  const map = state.patrolMap;
  if (!map) return;
  const latlng = [fix[1], fix[0]];
  if (!state.positionMarker) {
    state.positionMarker = window.L.circleMarker(latlng, { radius: 8, color: "#fff", weight: 2, fillColor: "#e65100", fillOpacity: 1 }).addTo(map);
  } else {
    state.positionMarker.setLatLng(latlng);
  }
  if (center || !map.getBounds().pad(-0.15).contains(latlng)) map.setView(latlng, Math.max(map.getZoom(), 15));
}

async function startPatrol() {
  if (state.patrol) return;
  state.patrol = {
    client_id: uuid(), username: state.session.user.username, started_at: Date.now(), seq: 0, fix_count: 0,
    distance_m: 0, counted: null, last: null,
  };
  await setPatrol(state.patrol);
  state.gpsWeak = false;
  state.gpsMessage = "";
  startWatch();
  render();
}

function startWatch() {
  if (state.watchId !== null || !("geolocation" in navigator)) return;
  state.watchId = navigator.geolocation.watchPosition(
    (position) => {
      state.fixChain = state.fixChain.then(() => onFix(position)).catch((error) => console.error(error));
    },
    onGpsError,
    { enableHighAccuracy: true, maximumAge: 0 },
  );
  keepAwake();
}

function stopWatch() {
  if (state.watchId !== null) navigator.geolocation.clearWatch(state.watchId);
  state.watchId = null;
  if (state.wakeLock) state.wakeLock.release().catch(() => {});
  state.wakeLock = null;
}

async function onFix(position) {
  const p = state.patrol;
  if (!p) return;
  const { longitude, latitude, accuracy } = position.coords;
  const fix = [Number(longitude.toFixed(7)), Number(latitude.toFixed(7)), Math.round(position.timestamp), accuracy ?? null];
  if (p.last && p.last[2] === fix[2]) return; // the same fix again (one key per time)
  p.seq += 1;
  await addFix(p.client_id, fix); // stored before anything else happens with it
  const step = walkStep(p.counted, fix[0], fix[1], fix[3]);
  p.distance_m += step.addM;
  p.counted = step.counted;
  p.last = fix;
  p.fix_count += 1;
  await setPatrol(p);
  state.lastFix = fix;
  state.gpsWeak = accuracy != null && accuracy > 50;
  state.gpsMessage = "";
  updatePatrolScreen();
  state.trackLine?.addLatLng([fix[1], fix[0]]);
  showPosition(fix);
}

function onGpsError(error) {
  // Errors are passing (no fix for a moment, a timeout): recording goes on, the watch stays.
  if (error.code === 1) state.gpsMessage = "未获得定位权限：请在浏览器设置中允许本网站使用位置信息";
  else {
    state.gpsWeak = true;
    state.gpsMessage = "GPS 信号弱";
  }
  updatePatrolScreen();
}

async function keepAwake() {
  if (!state.patrol || state.wakeLock || !("wakeLock" in navigator) || document.visibilityState !== "visible") {
    updatePatrolScreen();
    return;
  }
  try {
    state.wakeLock = await navigator.wakeLock.request("screen");
    state.wakeLock.addEventListener("release", () => {
      state.wakeLock = null;
      updatePatrolScreen();
    });
  } catch {
    state.wakeLock = null;
    state.wakeLockFailed = true;
  }
  updatePatrolScreen();
}

async function stopPatrol() {
  const p = state.patrol;
  if (!p) return;
  stopWatch();
  await state.fixChain;
  const fixes = await fixesOf(p.client_id);
  if (fixes.length < 2 && !confirm(`只记录到 ${fixes.length} 个定位点，无法形成轨迹，将不保存本次巡河。确定结束？`)) {
    startWatch();
    return;
  }
  if (fixes.length >= 2) await putItem(patrolItem(p.username, p.client_id, fixes, p.started_at));
  state.patrol = null;
  state.lastFix = null;
  await clearPatrol();
  await dropFixes(p.client_id);
  state.view = fixes.length >= 2 ? "sync" : "patrol";
  state.syncMessage = fixes.length >= 2 ? "本次巡河已保存，联网后自动同步。" : "";
  render();
  startSync();
}

// ----- 上报问题 (signed in)

async function shrinkPhoto(file) {
  // Photos from the camera are often 4–8 MB: send at most 1600 px on the long side as JPEG.
  if (!file.type.startsWith("image/") || file.size < 1_500_000 || !window.createImageBitmap) return file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    return blob && blob.size < file.size ? new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }) : file;
  } catch {
    return file;
  }
}

/** A camera button (the browser's own file input has English text on many phones) and a count. */
const MAX_PHOTOS = 20; // an account's report (the server's limit, as Open311)
const MAX_PUBLIC_PHOTOS = 5; // a resident's report

function photoInput(limit, testid = "report-photo") {
  const count = h("span", { class: "muted photo-count" }, "未选择照片");
  const input = h("input", {
    type: "file", accept: "image/*", capture: "environment", multiple: limit > 1, name: "photo",
    "data-testid": testid, class: "visually-hidden",
    onchange: (event) => {
      const n = event.target.files.length;
      count.textContent = n > limit ? `最多 ${limit} 张，请重新选择` : n ? `已选 ${n} 张照片` : "未选择照片";
      count.className = n > limit ? "error photo-count" : "muted photo-count";
    },
  });
  return h("div", { class: "photo" }, h("label", { class: "button photo-button" }, "拍照 / 选择照片", input), count);
}

function currentPosition() {
  return new Promise((resolve, reject) => {
    if (!("geolocation" in navigator)) {
      reject(new Error("此浏览器不能定位"));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve([p.coords.longitude, p.coords.latitude, p.coords.accuracy]),
      (e) => reject(new Error(e.code === 1 ? "未获得定位权限" : "暂时无法定位，请稍后重试或在地图上点选")),
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 },
    );
  });
}

function renderReport(main) {
  const categories = state.me?.categories?.length ? state.me.categories : FALLBACK_CATEGORIES;
  const position = { lon: null, lat: null, how: "" };
  const fix = state.lastFix || state.patrol?.last;
  if (fix) Object.assign(position, { lon: fix[0], lat: fix[1], how: `GPS（±${Math.round(fix[3] ?? 0)} 米）` });
  const where = h("p", { class: "muted", "data-testid": "report-position" });
  const showWhere = () => {
    where.textContent = position.lon === null ? "位置：未定（用 GPS 定位，或在地图上点选）" : `位置：${position.how}`;
  };
  showWhere();
  let marker = null;
  let map = null;
  const setPosition = (lon, lat, how) => {
    Object.assign(position, { lon, lat, how });
    showWhere();
    if (map) {
      if (marker) marker.setLatLng([lat, lon]);
      else marker = window.L.marker([lat, lon]).addTo(map);
    }
  };
  const message = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "card report", novalidate: true },
    h("h2", {}, "上报问题"),
    state.patrol ? h("p", { class: "muted small" }, "将关联到正在进行的巡河。") : null,
    h("span", { class: "label" }, "照片"),
    photoInput(MAX_PHOTOS),
    h("label", {}, "问题类别"),
    categorySelect(categories),
    h("label", {}, "问题描述"),
    h("textarea", { "data-testid": "report-description", name: "description", rows: 3, class: "field-input", placeholder: "看到了什么、在哪里" }),
    where,
    h("button", {
      type: "button", class: "big", onclick: async (event) => {
        event.target.disabled = true;
        try {
          const [lon, lat, acc] = await currentPosition();
          setPosition(lon, lat, `GPS（±${Math.round(acc)} 米）`);
        } catch (error) {
          message.textContent = error.message;
        } finally {
          event.target.disabled = false;
        }
      },
    }, "用 GPS 定位"),
    h("div", { class: "map small-map", id: "report-map" }),
    message,
    h("button", { type: "submit", class: "big primary", "data-testid": "report-submit" }, "保存并上报"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    if (!form.category.value) {
      message.textContent = "请选择问题类别";
      return;
    }
    if (position.lon === null) {
      message.textContent = "请先定位，或在地图上点选问题的位置";
      return;
    }
    if (form.photo.files.length > MAX_PHOTOS) {
      message.textContent = `照片最多 ${MAX_PHOTOS} 张`;
      return;
    }
    const photos = [];
    for (const file of form.photo.files) {
      const small = await shrinkPhoto(file);
      photos.push({ blob: small, name: small.name || file.name });
    }
    const item = reportItem(state.session.user.username, uuid(), {
      category: form.category.value,
      description: form.description.value.trim(),
      lon: position.lon.toFixed(7),
      lat: position.lat.toFixed(7),
      patrol_client_id: state.patrol?.client_id ?? null,
    }, photos);
    await putItem(item);
    state.syncMessage = "问题已保存，联网后自动上报。";
    state.view = state.patrol ? "patrol" : "sync";
    render();
    startSync();
  });
  clear(main, form);
  const grids = state.me?.grids || state.session.grids || [];
  makeMap(form.querySelector("#report-map"), {
    grids, reaches: state.me?.reaches || [], center: position.lon !== null ? [position.lon, position.lat] : null,
    onTap: (lon, lat) => setPosition(lon, lat, "地图点选"),
  }).then((m) => {
    map = m;
    if (map && position.lon !== null) setPosition(position.lon, position.lat, position.how);
  });
}

// ----- 对象巡查 (inspection records of the supervised objects of the user's grids)

const overdueCount = (objects) => objects.filter((o) => o.overdue).length;

/** The user's objects, nearest first when a position is known (else overdue first, then by name). */
function sortedObjects(objects, position) {
  const withDistance = objects.map((o) => ({
    ...o,
    distanceM: position && o.lon != null && o.lat != null ? haversineM(position[0], position[1], o.lon, o.lat) : null,
  }));
  if (position) return withDistance.sort((a, b) => (a.distanceM ?? Infinity) - (b.distanceM ?? Infinity));
  return withDistance.sort((a, b) => Number(b.overdue) - Number(a.overdue) || a.name.localeCompare(b.name, "zh-CN"));
}

function formatDistance(m) {
  return m < 1000 ? `${Math.round(m)} 米` : `${(m / 1000).toFixed(1)} 公里`;
}

function renderObjects(main) {
  const objects = state.me?.objects;
  const fix = state.lastFix || state.patrol?.last;
  const position = fix ? [fix[0], fix[1], fix[3]] : state.objectsPosition;
  const message = h("p", { class: "error", role: "alert", hidden: true });
  const locate = h("button", {
    type: "button", class: "big", "data-testid": "objects-locate", onclick: async (event) => {
      event.target.disabled = true;
      message.hidden = true;
      try {
        state.objectsPosition = await currentPosition();
        if (state.view === "objects") renderObjects(document.getElementById("view"));
      } catch (error) {
        message.textContent = error.message;
        message.hidden = false;
        event.target.disabled = false;
      }
    },
  }, state.objectsPosition ? "重新定位" : "定位，按距离排列");
  const list = objects?.length
    ? h("ul", { class: "items", "data-testid": "objects-list" }, sortedObjects(objects, position).map((o) =>
      h(
        "li",
        { class: "item" },
        h("button", {
          type: "button", class: "object-button", "data-testid": "object-item", "data-object-id": o.id,
          onclick: () => {
            state.inspectObject = o;
            state.view = "inspect";
            render();
          },
        },
        h("span", { class: "item-head" },
          h("strong", {}, o.name),
          h("span", { class: o.overdue ? "badge overdue" : "badge" }, o.overdue ? "超期未巡查" : (o.interval || "未定周期"))),
        h("span", { class: "muted small" },
          [o.category_label, o.distanceM != null ? `约 ${formatDistance(o.distanceM)}` : null,
            o.last_visit ? `上次 ${formatTime(o.last_visit)}` : "尚无巡查"].filter(Boolean).join(" · ")),
        ),
      )))
    : h("p", { class: "muted" }, objects ? "您的网格内没有监管对象。" : "联网后显示您网格内的监管对象。");
  clear(
    main,
    h(
      "section",
      { class: "card" },
      h("h2", {}, "对象巡查"),
      h("p", { class: "muted small" }, position ? `按距您的位置由近到远排列（±${Math.round(position[2] ?? 0)} 米）。` : "点对象记录巡查情况；定位后按距离排列。"),
      position && fix ? null : locate,
      message,
    ),
    list,
  );
  if (!position && !state.objectsPosition && window.isSecureContext && "geolocation" in navigator && objects?.length) {
    currentPosition().then((p) => {
      state.objectsPosition = p;
      if (state.view === "objects") renderObjects(document.getElementById("view"));
    }).catch(() => {}); // no fix: the list stays in its default order, the button can try again
  }
}

function renderInspect(main) {
  const o = state.inspectObject;
  if (!o) {
    state.view = "objects";
    renderObjects(main);
    return;
  }
  const message = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "card report", novalidate: true },
    h("h2", {}, "记录巡查"),
    h("p", { "data-testid": "inspect-object" }, h("strong", {}, o.name), h("span", { class: "muted" }, ` · ${o.category_label}`)),
    h("p", { class: "muted small" },
      [o.grid ? `网格：${o.grid}` : null, o.responsible ? `责任人：${o.responsible}` : null, o.interval ? `巡查周期：${o.interval}` : null]
        .filter(Boolean).join(" · ")),
    h("span", { class: "label" }, "照片（可选，1 张）"),
    photoInput(1, "inspect-photo"),
    h("label", {}, "巡查情况"),
    h("textarea", {
      "data-testid": "inspect-note", name: "note", rows: 4, class: "field-input", placeholder: "检查了什么、是否正常",
      oninput: () => { message.textContent = ""; },
    }),
    message,
    h("button", { type: "submit", class: "big primary", "data-testid": "inspect-submit" }, "保存巡查记录"),
    h("button", { type: "button", class: "big", onclick: () => { state.view = "objects"; render(); } }, "返回对象列表"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    const note = form.note.value.trim();
    if (!note) {
      message.textContent = "请填写巡查情况";
      return;
    }
    if (form.photo.files.length > 1) {
      message.textContent = "每条巡查记录最多 1 张照片";
      return;
    }
    const photos = [];
    for (const file of form.photo.files) {
      const small = await shrinkPhoto(file);
      photos.push({ blob: small, name: small.name || file.name });
    }
    await putItem(inspectionItem(state.session.user.username, uuid(), o, { note }, photos));
    state.inspectObject = null;
    state.syncMessage = "巡查记录已保存，联网后自动同步。";
    state.view = "sync";
    render();
    startSync();
  });
  clear(main, form);
}

// ----- 同步

async function startSync(force = false) {
  if (!state.session || state.syncing) return;
  clearTimeout(state.syncTimer);
  if (!navigator.onLine) {
    if (force) state.syncMessage = "当前没有网络：记录已保存在本机，联网后自动同步。";
    if (state.view === "sync") renderSync(document.getElementById("view"));
    return;
  }
  state.syncing = true;
  try {
    const outcome = await syncNow(state.session, { force });
    if (outcome.unauthorized) state.syncMessage = "登录已失效，请退出后重新登录再同步（记录仍保存在本机）。";
    else if (outcome.sent) state.syncMessage = `已同步 ${outcome.sent} 条。`;
    if (outcome.nextAt) state.syncTimer = setTimeout(() => startSync(), Math.max(1000, outcome.nextAt - Date.now()));
    if (outcome.sent) refreshMe();
  } catch (error) {
    state.syncMessage = `同步出错：${error}`;
  } finally {
    state.syncing = false;
  }
  renderStatus();
  if (state.view === "sync") renderSync(document.getElementById("view"));
}

const ITEM_STATE = { queued: "待同步", retry: "等待重试", done: "已同步", failed: "未被接受" };

function itemTitle(item) {
  if (item.kind === "patrol") return `巡河 ${formatTime(item.started_at)}`;
  if (item.kind === "inspection") return `对象巡查 ${item.object_name ?? ""} ${formatTime(item.created_at)}`;
  return `问题上报 ${formatTime(item.created_at)}`;
}

/** A 桩号 from the server: already formatted ("K1+200"), or metres. */
function station(value) {
  return typeof value === "number" ? formatStation(value) : String(value ?? "");
}

function patrolResult(result) {
  const lines = [
    h("div", {}, `沿河里程 ${formatKm(result.river_length_m ?? 0)} km · 轨迹 ${formatKm(result.length_m ?? 0)} km`),
    h("div", {}, result.counted ? "计入本期巡河" : `未计入：${(result.reasons || []).join("；") || "—"}`),
  ];
  for (const m of result.matched || []) {
    lines.push(h("div", {}, `${m.reach}：${station(m.from_station)} – ${station(m.to_station)}（${formatKm(m.length_m)} km）`));
  }
  for (const f of result.flags || []) {
    lines.push(h("div", { class: "flag" }, `⚠ ${f.label}${f.message ? `：${f.message}` : ""}`));
  }
  if (result.grid) lines.push(h("div", { class: "muted" }, `网格：${result.grid.name}`));
  return lines;
}

async function renderSync(main) {
  if (!main) return;
  const mine = (await items()).filter((i) => i.username === state.session?.user.username).reverse();
  const list = mine.map((item) =>
    h(
      "li",
      { class: `item ${item.state}`, "data-client-id": item.client_id, "data-testid": `queue-${item.kind}` },
      h(
        "div",
        { class: "item-head" },
        h("strong", {}, itemTitle(item)),
        h("span", { class: "badge" }, ITEM_STATE[item.state] || item.state),
      ),
      item.kind === "patrol" && item.state !== "done" ? h("div", { class: "muted" }, `${item.body.fixes?.length ?? 0} 个定位点`) : null,
      item.error && item.state !== "done" ? h("div", { class: "error" }, item.error) : null,
      item.state === "failed"
        ? h("button", {
          type: "button", class: "small-button", onclick: async () => {
            if (!confirm("服务器未接受这条记录，删除后无法恢复。确定删除？")) return;
            await deleteItem(item.client_id);
            renderSync(document.getElementById("view"));
            renderStatus();
          },
        }, "删除")
        : null,
      item.state === "retry" && item.next_at ? h("div", { class: "muted small" }, `下次重试：${formatTime(item.next_at)}`) : null,
      item.state === "done" && item.kind === "patrol" ? patrolResult(item.result) : null,
      item.state === "done" && item.kind === "report"
        ? h("div", {}, `编号 ${item.result.code} · ${item.result.status_label}${item.result.grid ? ` · ${item.result.grid.name}` : ""}`)
        : null,
      item.state === "done" && item.kind === "inspection"
        ? h("div", {}, `已记入对象台账 · ${item.result.object?.name ?? item.object_name}${item.result.photo ? " · 含照片" : ""} · ${formatTime(item.result.at)}`)
        : null,
    ),
  );
  clear(
    main,
    h(
      "section",
      { class: "card" },
      h("h2", {}, "同步"),
      h("p", { class: "muted" }, navigator.onLine ? "联网时自动同步；也可以点下面的按钮。" : "当前离线：记录保存在本机，联网后自动同步。"),
      state.syncMessage ? h("p", { class: "ok", "data-testid": "sync-message" }, state.syncMessage) : null,
      h("button", {
        type: "button", class: "big primary", "data-testid": "sync-now", disabled: state.syncing,
        onclick: () => startSync(true),
      }, state.syncing ? "正在同步…" : "立即同步"),
    ),
    mine.length ? h("ul", { class: "items" }, list) : h("p", { class: "muted" }, "还没有巡河、上报或巡查记录。"),
  );
}

// ----- 我的

function renderMe(main) {
  const me = state.me;
  const user = me?.user || state.session.user;
  const patrols = me?.patrols;
  clear(
    main,
    h(
      "section",
      { class: "card" },
      h("h2", {}, user.display_name || user.username),
      h("p", { class: "muted" }, `账号 ${user.username}${(me?.grids || state.session.grids || []).length ? ` · 网格：${(me?.grids || state.session.grids).map((g) => g.name).join("、")}` : ""}`),
      me ? null : h("p", { class: "muted" }, "联网后显示本期巡河和上报情况。"),
    ),
    patrols
      ? h(
        "section",
        { class: "card" },
        h("h3", {}, `本期巡河（${me.period?.label ?? ""}）`),
        h("p", { class: "big-number", "data-testid": "me-patrols" },
          patrols.required != null ? `${patrols.done} / ${patrols.required} 次` : `${patrols.done} 次`,
          patrols.frequency ? h("span", { class: "muted small" }, ` 要求：${patrols.frequency}`) : null),
        h("ul", { class: "items" }, (patrols.items || []).map((p) =>
          h("li", { class: "item" }, `${formatTime(p.started_at)} · 沿河 ${formatKm(p.river_length_m ?? 0)} km · ${p.counted ? "计入" : `未计入：${(p.reasons || []).join("；")}`}`))),
      )
      : null,
    me
      ? h(
        "section",
        { class: "card" },
        h("h3", {}, "我的上报"),
        (me.reports || []).length
          ? h("ul", { class: "items" }, me.reports.map((r) =>
            h("li", { class: "item" }, `${r.code} · ${r.category_label} · ${r.status_label}`,
              h("div", { class: "muted small" }, `${formatTime(r.reported_at)}${r.deadline ? ` · 期限 ${formatTime(r.deadline)}` : ""}`))))
          : h("p", { class: "muted" }, "暂无"),
      )
      : null,
    me?.objects
      ? h(
        "section",
        { class: "card" },
        h("h3", {}, "监管对象"),
        h("p", { "data-testid": "me-objects" }, `网格内 ${me.objects.length} 个对象${overdueCount(me.objects) ? `，其中 ${overdueCount(me.objects)} 个超期未巡查` : ""}`),
        me.objects.length
          ? h("button", { type: "button", class: "big", onclick: () => { state.view = "objects"; render(); } }, "记录对象巡查")
          : null,
      )
      : null,
    h("button", { type: "button", class: "big", "data-testid": "sign-out", onclick: signOut }, "退出登录"),
  );
}

function startSyncLoop() {
  // a retry that came due while the page slept
  setInterval(() => {
    if (navigator.onLine) startSync();
  }, 60000);
}

// ---------------------------------------------------------------------------------------------
// Public pages: a resident's report (/m/report?grid=… or ?reach=…) and its state (/m/case?code=…)

function solveChallenge(token, bits) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(`${APP}pow-worker.js`, { type: "module" });
    worker.onmessage = (event) => {
      worker.terminate();
      if (event.data.error) reject(new Error(event.data.error));
      else resolve(event.data.nonce);
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(event.message || "worker failed"));
    };
    worker.postMessage({ token, bits });
  });
}

async function publicGet(path) {
  const response = await fetch(API + path, { headers: { Accept: "application/json" }, cache: "no-store" });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.message || `服务器返回错误（${response.status}）`, data?.reason || "");
  return data;
}

async function publicReport() {
  const params = new URLSearchParams(location.search);
  const grid = params.get("grid");
  const reach = params.get("reach");
  const placeText = h("p", { class: "muted", "data-testid": "report-place" }, grid || reach ? "正在读取位置…" : "");
  const position = { lon: null, lat: null };
  const where = h("p", { class: "muted small" }, "位置：使用河段位置（也可以用手机定位）");
  const message = h("p", { class: "error", role: "alert" });
  const categories = PUBLIC_CATEGORIES;
  const form = h(
    "form",
    { class: "card report", novalidate: true },
    h("h1", {}, "我要举报"),
    placeText,
    h("p", { class: "muted small" }, "无需登录。请拍照并说明问题，提交后会得到查询码，可凭查询码查看处理进展。"),
    h("span", { class: "label" }, "照片"),
    photoInput(MAX_PUBLIC_PHOTOS),
    h("label", {}, "问题类别"),
    categorySelect(categories),
    h("label", {}, "问题描述"),
    h("textarea", { "data-testid": "report-description", name: "description", rows: 4, class: "field-input", required: true, placeholder: "看到了什么、在哪里" }),
    h("label", {}, "联系电话（选填，不会公开）"),
    h("input", { name: "phone", type: "tel", inputmode: "tel", autocomplete: "tel", class: "field-input", "data-testid": "report-phone" }),
    where,
    h("button", {
      type: "button", class: "big", onclick: async (event) => {
        event.target.disabled = true;
        try {
          const [lon, lat, acc] = await currentPosition();
          Object.assign(position, { lon, lat });
          where.textContent = `位置：手机定位（±${Math.round(acc)} 米）`;
        } catch (error) {
          message.textContent = `${error.message}；将使用河段位置。`;
        } finally {
          event.target.disabled = false;
        }
      },
    }, "用手机定位"),
    message,
    h("button", { type: "submit", class: "big primary", "data-testid": "report-submit" }, "提交举报"),
  );
  const clientId = uuid();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    if (!form.category.value) {
      message.textContent = "请选择问题类别";
      return;
    }
    if (!form.description.value.trim()) {
      message.textContent = "请填写问题描述";
      return;
    }
    if (form.photo.files.length > MAX_PUBLIC_PHOTOS) {
      message.textContent = `照片最多 ${MAX_PUBLIC_PHOTOS} 张`;
      return;
    }
    const submit = form.querySelector('[data-testid="report-submit"]');
    submit.disabled = true;
    submit.textContent = "正在提交…";
    try {
      const challenge = await publicGet("/public/challenge");
      const nonce = await solveChallenge(challenge.token, challenge.difficulty_bits);
      const body = new FormData();
      body.set("client_id", clientId);
      body.set("token", challenge.token);
      body.set("nonce", nonce);
      body.set("category", form.category.value);
      body.set("description", form.description.value.trim());
      if (form.phone.value.trim()) body.set("phone", form.phone.value.trim());
      if (position.lon !== null) {
        body.set("lon", position.lon.toFixed(7));
        body.set("lat", position.lat.toFixed(7));
      } else {
        if (reach) body.set("reach", reach);
        if (grid) body.set("grid", grid);
      }
      for (const file of form.photo.files) {
        const small = await shrinkPhoto(file);
        body.append("photo", small, small.name || file.name);
      }
      let response;
      try {
        response = await fetch(`${API}/public/reports`, { method: "POST", body, headers: { Accept: "application/json" } });
      } catch {
        throw new ApiError(0, "无法连接服务器，请检查网络后重试");
      }
      const data = await response.json().catch(() => null);
      if (!response.ok) throw new ApiError(response.status, data?.message || `提交失败（${response.status}）`);
      rememberCode(data.query_code);
      clear(
        root(),
        h(
          "section",
          { class: "card done" },
          h("h1", {}, "已提交，谢谢！"),
          h("p", {}, "您的查询码："),
          h("p", { class: "code", "data-testid": "case-code" }, data.query_code),
          h("p", { class: "muted" }, `当前状态：${data.status_label}。请记下查询码，凭它查看处理进展。`),
          h("a", { class: "big primary button", href: `${APP}case?code=${encodeURIComponent(data.query_code)}` }, "查看处理进展"),
        ),
      );
    } catch (error) {
      message.textContent = error.message;
      submit.disabled = false;
      submit.textContent = "提交举报";
    }
  });
  clear(root(), insecureNotice({ resident: true }), form);
  if (grid || reach) {
    try {
      const query = new URLSearchParams();
      if (grid) query.set("grid", grid);
      if (reach) query.set("reach", reach);
      const place = await publicGet(`/public/place?${query}`);
      placeText.textContent = `网格：${place.grid?.name ?? "—"}${place.reach ? ` · 河段：${place.reach.name}` : ""}`;
    } catch (error) {
      placeText.textContent = error instanceof ApiError && error.status === 404 ? "没有找到这个网格或河段。" : `暂时无法读取位置（${error.message}）`;
    }
  } else {
    placeText.textContent = "请用手机定位，以便把问题交给所在网格。";
  }
}

const CODES_KEY = "rivergrid-field-codes";

/** The 查询码 this phone received (newest first, at most 20), so a resident need not write them down. */
function rememberedCodes() {
  try {
    const codes = JSON.parse(localStorage.getItem(CODES_KEY) || "[]");
    return Array.isArray(codes) ? codes.filter((c) => c && typeof c.code === "string") : [];
  } catch {
    return [];
  }
}

function rememberCode(code) {
  if (!code) return;
  const codes = [{ code, at: Date.now() }, ...rememberedCodes().filter((c) => c.code !== code)].slice(0, 20);
  try {
    localStorage.setItem(CODES_KEY, JSON.stringify(codes));
  } catch {
    // private mode or full: the code is on the screen
  }
}

async function caseView() {
  const params = new URLSearchParams(location.search);
  const code = (params.get("code") || "").trim();
  const form = h(
    "form",
    { class: "card", method: "get", action: `${APP}case` },
    h("h1", {}, "查询举报进展"),
    h("label", { for: "case-input" }, "查询码"),
    h("input", { id: "case-input", name: "code", value: code, class: "field-input", autocapitalize: "characters", required: true }),
    h("button", { type: "submit", class: "big primary" }, "查询"),
  );
  const result = h("section", { class: "card", "data-testid": "case-result" });
  const mine = rememberedCodes();
  const earlier = mine.length
    ? h(
      "section",
      { class: "card" },
      h("h3", {}, "本机提交过的举报"),
      h("ul", { class: "items" }, mine.map((c) =>
        h("li", { class: "item" }, h("a", { href: `${APP}case?code=${encodeURIComponent(c.code)}` }, c.code), ` · ${formatTime(c.at)}`))),
    )
    : null;
  clear(root(), form, code ? result : null, earlier);
  if (!code) return;
  result.textContent = "正在查询…";
  try {
    const c = await publicGet(`/public/cases/${encodeURIComponent(code)}`);
    clear(
      result,
      h("h2", {}, `${c.category_label} · ${formatTime(c.reported_at)}`),
      h("p", {}, "状态：", h("strong", { "data-testid": "case-status" }, c.status_label)),
      c.reply ? h("div", { class: "reply" }, h("h3", {}, "答复"), h("p", {}, c.reply)) : h("p", { class: "muted" }, "尚无答复。"),
      (c.updates || []).length
        ? h("ul", { class: "items" }, c.updates.map((u) => h("li", { class: "item" }, `${formatTime(u.at)} · ${u.status_label}${u.text && u.text !== u.status_label ? `：${u.text}` : ""}`)))
        : null,
    );
  } catch (error) {
    result.textContent = error instanceof ApiError && error.status === 404 ? "没有这个查询码，请核对后重试。" : error.message;
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const route = location.pathname.slice(APP.length).replace(/\/$/, "");
  registerServiceWorker();
  if (route === "report") await publicReport();
  else if (route === "case") await caseView();
  else {
    await signedInApp();
    startSyncLoop();
  }
  document.documentElement.dataset.ready = "1";
}

main().catch((error) => {
  console.error(error);
  clear(root(), h("p", { class: "error" }, `页面出错：${error.message}`));
});
