/**
 * The page side of the Service Worker engine (webinfer/sw): registers it and resolves once it
 * controls the page, so that `fetch('/v1/...')` from here on is answered by it.
 */
import type { ServiceWorkerMessage } from '../sw/index.js';
import type { LoadProgress, ModelInfo } from '../worker/protocol.js';

export interface ServiceWorkerEngine {
  registration: ServiceWorkerRegistration;
  /** Resolves with the model's load info once the worker has it loaded. */
  ready: Promise<ModelInfo>;
  /** Loading progress, as the worker broadcasts it. */
  onProgress(listener: (p: LoadProgress) => void): () => void;
}

export async function registerServiceWorkerEngine(scriptURL: string | URL, options: RegistrationOptions = {}): Promise<ServiceWorkerEngine> {
  const container = navigator.serviceWorker;
  if (!container) throw new Error('this page has no Service Workers (they need a secure context: https or localhost)');
  const where = new URL(scriptURL, location.href).href;
  let registration: ServiceWorkerRegistration;
  try {
    registration = await container.register(scriptURL, { type: 'module', ...options });
  } catch (e) {
    throw new Error(`could not register the webinfer Service Worker ${where}: ${(e as Error).message}. It must be served from the site (unhashed, at or above the pages it controls) as JavaScript; see "Use it in your app" in webinfer's README`);
  }
  if (!container.controller) {
    await new Promise<void>((resolve, reject) => {
      container.addEventListener('controllerchange', () => resolve(), { once: true });
      // A worker whose script throws or whose install fails becomes redundant and never controls the page.
      const sw = registration.installing ?? registration.waiting;
      sw?.addEventListener('statechange', () => {
        if (sw.state === 'redundant') reject(new Error(`the webinfer Service Worker ${where} failed to install or activate (see its console)`));
      });
    });
  }
  // The page and what it loaded came before the worker controlled it: hand the worker their URLs to keep for offline use.
  const loaded = performance.getEntriesByType('resource').map((r) => r.name).filter((u) => new URL(u).origin === location.origin);
  container.controller!.postMessage({ type: 'webinfer:keep', urls: [location.href, ...loaded] });
  const listeners = new Set<(p: LoadProgress) => void>();
  const ready = new Promise<ModelInfo>((resolve, reject) => {
    container.addEventListener('message', (e: MessageEvent<ServiceWorkerMessage>) => {
      const m = e.data;
      if (m?.type === 'webinfer:progress') for (const l of listeners) l(m.progress);
      else if (m?.type === 'webinfer:ready') resolve(m.info);
      else if (m?.type === 'webinfer:error') reject(new Error(m.message));
      else if (m?.type === 'webinfer:info') {
        if (m.info) resolve(m.info);
        else if (m.error) reject(new Error(m.error));
      }
    });
    // Loaded before this page opened (another tab), or loading: the worker answers when asked, and
    // the message wakes a worker the browser stopped while idle (it then loads the model again).
    container.controller!.postMessage({ type: 'webinfer:info' });
  });
  ready.catch(() => {});
  return {
    registration,
    ready,
    onProgress(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
