// Service worker of the field page: keeps the page, the map library, the style and every walk,
// observation list and tile read while connected, so the page and the walk open without a
// connection. Reads go to the network first (fresh data when there is a connection) and fall
// back to the copy kept here. Writes are never cached: the page queues them (field.js).
'use strict';

const CACHE = 'lagesbild-field-v1';
const SHELL = ['field.html', 'field.js', 'field.css', 'vendor/maplibre-gl/maplibre-gl.js', 'vendor/maplibre-gl/maplibre-gl.css', '/basemap/style.json'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// Answers differ by token (privacy rules), so a copy is kept per URL and Authorization.
function keyOf(req) {
  const auth = req.headers.get('Authorization') || '';
  if (!auth) return req.url;
  const u = new URL(req.url);
  u.searchParams.set('__auth', String(hash(auth)));
  return u.toString();
}

function hash(s) {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h >>> 0;
}

self.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin) return;
  e.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const key = keyOf(req);
    try {
      const resp = await fetch(req);
      if (resp.ok && resp.status === 200) await cache.put(key, resp.clone());
      return resp;
    } catch (err) {
      const hit = (await cache.match(key)) || (await cache.match(req.url, { ignoreSearch: false }));
      if (hit) return hit;
      return new Response(JSON.stringify({ code: 'Offline', description: 'Ingen uppkoppling och inget sparat svar för ' + new URL(req.url).pathname }), {
        status: 503, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
      });
    }
  })());
});
