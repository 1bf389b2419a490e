// The demo's offline mode: every same-origin GET it answers is kept (network first, the kept
// copy when offline), so the app opens with no network after one visit. The models themselves
// are kept by webinfer in OPFS; the embedded one is one of this app's own files.
const CACHE = 'webinfer-demo-app';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(request);
    if (res.ok && res.status === 200) await cache.put(request, res.clone());
    return res;
  } catch (err) {
    // Vite's dev server answers with `Vary: Origin`, and module requests carry an Origin the
    // copies kept from the page's list did not: a kept copy is the same file either way.
    const hit = await cache.match(request, { ignoreSearch: request.mode === 'navigate', ignoreVary: true });
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method === 'GET' && url.origin === self.location.origin && !e.request.headers.has('range')) e.respondWith(networkFirst(e.request));
});

// What the page loaded before this worker controlled it.
self.addEventListener('message', (e) => {
  if (e.data?.type !== 'keep' || !Array.isArray(e.data.urls)) return;
  e.waitUntil(Promise.all(e.data.urls.map((u) => caches.match(u, { ignoreVary: true }).then((hit) => hit ?? networkFirst(new Request(u)).catch(() => undefined)))));
});
