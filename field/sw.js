// Service worker of the phone app (scope /m/): the app shell from the cache (it opens with no
// network), the basemap tiles of the user's grids cache-first, and nothing else: API calls go to
// the network (the queue of patrols and reports lives in IndexedDB, sent by the page).
// The server fills in SHELL_VERSION (a digest of the shell's files): a new release installs anew.
const SHELL_VERSION = "__SHELL_VERSION__";
const SHELL_CACHE = `rivergrid-field-shell-${SHELL_VERSION}`;
const TILE_CACHE = "rivergrid-field-tiles";
const TILEJSON_CACHE = "rivergrid-field-tilejson";

/** The app shell, relative to this file (/m/sw.js). */
const SHELL = [
  "./",
  "app.js",
  "api.js",
  "geo.js",
  "store.js",
  "sync.js",
  "pow-worker.js",
  "app.css",
  "manifest.webmanifest",
  "icons/icon-192.png",
  "icons/icon-512.png",
  "../app/static/vendor/leaflet/leaflet.js",
  "../app/static/vendor/leaflet/leaflet.css",
  "../app/static/vendor/leaflet/images/marker-icon.png",
  "../app/static/vendor/leaflet/images/marker-icon-2x.png",
  "../app/static/vendor/leaflet/images/marker-shadow.png",
  "../app/static/vendor/protomaps-leaflet/protomaps-leaflet.js",
  "../app/static/vendor/idb-keyval/idb-keyval.js",
  "../app/static/rivergrid/basemap.js",
];

const scope = new URL(self.registration.scope);
const APP_PATH = scope.pathname; // "/m/" (or "/prefix/m/")
const ROOT = APP_PATH.replace(/m\/$/, "");
const TILES_PATH = `${ROOT}api/tiles/`;
const INDEX = new URL("./", scope).href;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(new URL(path, self.location.href), { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names
        .filter((name) => name.startsWith("rivergrid-field-shell-") && name !== SHELL_CACHE)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

async function fromShell(request) {
  const cached = await caches.match(request, { cacheName: SHELL_CACHE, ignoreSearch: true });
  return cached || fetch(request);
}

async function page(request) {
  // every page of the app is index.html, routed in the browser
  const cached = await caches.match(INDEX, { cacheName: SHELL_CACHE });
  if (cached) return cached;
  return fetch(request);
}

async function tile(request) {
  const cache = await caches.open(TILE_CACHE);
  const cached = await cache.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function tileJson(request) {
  const cache = await caches.open(TILEJSON_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith(TILES_PATH)) {
    event.respondWith(url.pathname.endsWith(".json") ? tileJson(request) : tile(request));
    return;
  }
  if (url.pathname.startsWith(`${ROOT}api/`)) return; // the API: network only
  if (request.mode === "navigate" && url.pathname.startsWith(APP_PATH)) {
    event.respondWith(page(request));
    return;
  }
  const inShell = SHELL.some((path) => new URL(path, self.location.href).pathname === url.pathname);
  if (inShell) event.respondWith(fromShell(request));
});

async function cacheTiles(urls, set, version) {
  const cache = await caches.open(TILE_CACHE);
  if (set && version) {
    // tiles of an older build of the same set are never asked for again
    for (const request of await cache.keys()) {
      const url = new URL(request.url);
      if (url.pathname.startsWith(`${TILES_PATH}${set}/`) && url.searchParams.get("v") !== version) {
        await cache.delete(request, { ignoreVary: true });
      }
    }
  }
  for (let i = 0; i < urls.length; i += 6) {
    await Promise.all(urls.slice(i, i + 6).map(async (path) => {
      const request = new Request(new URL(path, self.location.href));
      if (await cache.match(request, { ignoreVary: true })) return;
      try {
        const response = await fetch(request);
        if (response.ok) await cache.put(request, response);
      } catch {
        // offline again: the rest is fetched when the map shows it
      }
    }));
  }
}

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "cache-tiles" && Array.isArray(event.data.urls)) {
    event.waitUntil(cacheTiles(event.data.urls, event.data.set, event.data.version));
  }
});
