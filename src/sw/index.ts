/**
 * webinfer/sw: a Service Worker that owns the engine and answers `/v1/*` for every page of its
 * origin — pages that import webinfer and pages that never did (an iframe, a plain `fetch`) — so
 * several tabs share one loaded model, and an installed app keeps working offline: the model
 * comes from the cache (Hub models: OPFS or the Cache API), and the app's own files from a copy
 * the worker keeps of every same-origin GET it served (network first, the copy when offline).
 *
 * The engine runs in the Service Worker itself. A Service Worker can start no workers of its own,
 * so wasm runs on one thread there; WebGPU exists in Chrome's Service Workers since 124, and
 * where it is missing `auto` runs the wasm backend (or the cpu reference without SIMD).
 * Module Service Workers cannot `import()`: onnxruntime-web and structured output (xgrammar),
 * which webinfer loads on first use, answer with an error there; run those in the page
 * (createFetch) instead.
 *
 *   // sw.js, registered with navigator.serviceWorker.register('/sw.js', { type: 'module' })
 *   import { installServiceWorker } from 'webinfer/sw';
 *   installServiceWorker({ model: 'hf:owner/repo-GGUF' });
 */
import { createFetch, type CreateFetchOptions, type WebinferFetch } from '../client/create-fetch.js';
import type { LoadProgress, ModelInfo } from '../worker/protocol.js';

export interface ServiceWorkerOptions extends Omit<CreateFetchOptions, 'worker' | 'onProgress' | 'signal'> {
  /** The path answered by the engine (default '/v1'). */
  baseURL?: string;
  /** Keep copies of same-origin GET responses for offline use (default true). */
  offline?: boolean;
  /** URLs cached at install, so the app opens offline even from pages never visited (default none). */
  precache?: string[];
  /** Start loading the model at activation rather than at the first request (default true). */
  eager?: boolean;
}

/** Messages the worker posts to its clients, and the one it answers. */
export type ServiceWorkerMessage =
  | { type: 'webinfer:progress'; progress: LoadProgress }
  | { type: 'webinfer:ready'; info: ModelInfo }
  | { type: 'webinfer:error'; message: string }
  | { type: 'webinfer:info'; info: ModelInfo | null; loads: number; error?: string };

interface SWGlobal {
  addEventListener(type: string, listener: (e: any) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void>; matchAll(o?: { includeUncontrolled?: boolean }): Promise<{ postMessage(m: unknown): void }[]> };
  location: Location;
}

const APP_CACHE = 'webinfer-app';

export function installServiceWorker(options: ServiceWorkerOptions): void {
  const sw = globalThis as unknown as SWGlobal;
  const { baseURL = '/v1', offline = true, precache = [], eager = true, ...engine } = options;
  const base = new URL(baseURL, sw.location.href);
  const prefix = base.href.replace(/\/+$/, '');
  const origin = sw.location.origin;
  let engineFetch: WebinferFetch | undefined;
  let info: ModelInfo | null = null;
  let error: string | undefined;
  let loads = 0;

  const broadcast = async (m: ServiceWorkerMessage) => {
    for (const c of await sw.clients.matchAll({ includeUncontrolled: true })) c.postMessage(m);
  };

  // The engine's own requests (its .wasm, shaders, a model by URL) do not pass through this
  // worker's fetch event: they get the same network-first copy as the pages' requests.
  const networkFetch = globalThis.fetch.bind(globalThis);
  const cachedFetch = async (request: Request): Promise<Response> => {
    const cache = await caches.open(APP_CACHE);
    try {
      const res = await networkFetch(request);
      if (res.ok && res.status === 200 && !request.headers.has('range')) await cache.put(request, res.clone()).catch(() => {});
      return res;
    } catch (e) {
      const hit = await cache.match(request, { ignoreVary: true });
      if (hit) return hit;
      throw e;
    }
  };
  if (offline) {
    globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const sameOrigin = new URL(request.url).origin === origin;
      return sameOrigin && request.method === 'GET' && init?.cache !== 'no-store' ? cachedFetch(request) : networkFetch(request);
    }) as typeof fetch;
  }

  const start = (): WebinferFetch => {
    if (engineFetch) return engineFetch;
    loads++;
    error = undefined;
    const f = createFetch({ ...engine, worker: false, onProgress: (progress) => void broadcast({ type: 'webinfer:progress', progress }) });
    f.ready.then(
      (i) => {
        info = i;
        void broadcast({ type: 'webinfer:ready', info: i });
      },
      (e: Error) => {
        error = e.message;
        engineFetch = undefined; // the next request tries again
        void broadcast({ type: 'webinfer:error', message: e.message });
      },
    );
    engineFetch = f;
    return f;
  };

  const matches = (url: string) => url === prefix || url.startsWith(prefix + '/') || url.startsWith(prefix + '?');

  sw.addEventListener('install', (e: { waitUntil(p: Promise<unknown>): void }) => {
    e.waitUntil((async () => {
      if (precache.length) await (await caches.open(APP_CACHE)).addAll(precache);
      await sw.skipWaiting();
    })());
  });
  sw.addEventListener('activate', (e: { waitUntil(p: Promise<unknown>): void }) => {
    e.waitUntil(sw.clients.claim());
    if (eager) start();
  });
  sw.addEventListener('fetch', (e: { request: Request; respondWith(r: Promise<Response>): void }) => {
    const { request } = e;
    if (matches(request.url)) e.respondWith(start()(request));
    else if (offline && request.method === 'GET' && new URL(request.url).origin === origin) e.respondWith(cachedFetch(request));
  });
  sw.addEventListener('message', (e: { data: unknown; source?: { postMessage(m: unknown): void }; waitUntil(p: Promise<unknown>): void }) => {
    const m = e.data as { type?: string; urls?: unknown };
    if (m?.type === 'webinfer:info') {
      const reply = () => e.source?.postMessage({ type: 'webinfer:info', info, loads, error } satisfies ServiceWorkerMessage);
      // A page asking is a page waiting for the model. The browser stops an idle worker and starts
      // it again for this message with nothing loaded (activate does not run again): load now, and
      // keep the worker alive until the answer is known.
      if (!info && eager && !error) e.waitUntil(start().ready.then(reply, reply));
      else reply();
    }
    // What a page loaded before this worker controlled it: kept too, so the first visit is enough to open offline.
    if (m?.type === 'webinfer:keep' && offline && Array.isArray(m.urls)) {
      const urls = m.urls.filter((u): u is string => typeof u === 'string' && new URL(u, origin).origin === origin);
      e.waitUntil(Promise.all(urls.map((u) => caches.match(u).then((hit) => hit ?? cachedFetch(new Request(u)).catch(() => undefined)))));
    }
  });
}
