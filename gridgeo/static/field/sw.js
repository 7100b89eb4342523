// The field app's service worker (scope /field/): the app shell and vendored libraries
// are cached at install; my area's tiles, styles and hillshade are kept once fetched;
// today's documents (/me/today, /me, categories, my incidents) come from the network when
// it answers and from the cache when it does not. Writes are never handled here: the
// page's outbox (queue.js, IndexedDB) keeps them until the server answers.
const VERSION = 'gridgeo-field-1';
const SHELL = `${VERSION}-shell`;
const DATA = `${VERSION}-data`;
const SHELL_FILES = [
  './', 'app.js', 'api.js', 'i18n.js', 'map.js', 'position.js', 'queue.js', 'scan.js',
  'screens.js', 'app.css', 'manifest.webmanifest', 'icon-192.png', 'icon-512.png',
  '/static/vendor/maplibre-gl/maplibre-gl.js', '/static/vendor/maplibre-gl/maplibre-gl.css',
  '/static/vendor/zxing-library/umd/index.min.js',
];
// Kept as first fetched (they change rarely; a tile's age is bounded by the server anyway).
const LASTING = [/\/tiles\/WebMercatorQuad\//, /^\/styles\//, /^\/field\/glyphs\//,
                 /^\/overview\/hillshade\./];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_FILES))
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => !k.startsWith(VERSION)).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

async function fromCacheThenNetwork(request, cacheName) {
  const cached = await caches.match(request, { ignoreVary: true });
  const fresh = fetch(request).then(async (response) => {
    if (response.ok) await (await caches.open(cacheName)).put(request, response.clone());
    return response;
  });
  if (cached) {
    fresh.catch(() => null);  // refreshed for next time when online; the cached copy now
    return cached;
  }
  return fresh;
}

async function fromNetworkThenCache(request) {
  try {
    const response = await fetch(request);
    if (response.ok) await (await caches.open(DATA)).put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await caches.match(request, { ignoreVary: true });
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  const path = url.pathname;
  const shell = (path.startsWith('/field/') && !path.startsWith('/field/glyphs/')
                 && path !== '/field/style.json') || path.startsWith('/static/vendor/');
  if (shell) event.respondWith(fromCacheThenNetwork(event.request, SHELL));
  else if (LASTING.some((pattern) => pattern.test(path))) {
    event.respondWith(fromCacheThenNetwork(event.request, DATA));
  } else event.respondWith(fromNetworkThenCache(event.request));
});
