/**
 * createFetch: a function with fetch's signature whose `/v1/...` requests are answered by a model
 * running locally. In browsers the engine lives in a dedicated Web Worker; in Node (or with
 * `worker: false`) it runs in the calling thread behind the same message protocol.
 */
import * as Comlink from 'comlink';
import type { OpenAIErrorBody } from '../api/errors.js';
import { isHubModel } from '../hub/ref.js';
import { EngineHost } from '../worker/host.js';
import { STARTED, type EngineOptions, type EngineStats, type HostApi, type LoadProgress, type ModelInfo, type PortToHost, type PortToPage, type WireRequest } from '../worker/protocol.js';

export interface CreateFetchOptions extends EngineOptions {
  onProgress?: (p: LoadProgress) => void;
  /** Run the engine in a Web Worker (default in browsers) or in the calling thread. */
  worker?: boolean;
  /** Cancels the load (a Hub download keeps what it stored: loading again resumes). */
  signal?: AbortSignal;
}

export type WebinferFetch = typeof fetch & {
  /** Resolves when the model is loaded (rejects with the load error). */
  ready: Promise<ModelInfo>;
  /** Stops the worker and frees the model. */
  dispose(): Promise<void>;
  /** Requests running and waiting, KV blocks, live grammar matchers (undefined without batching). */
  stats(): Promise<EngineStats | undefined>;
};

const inBrowser = typeof Worker !== 'undefined' && typeof (globalThis as { document?: unknown; importScripts?: unknown }).document !== 'undefined';

/**
 * The engine's Web Worker, written as the literal `new Worker(new URL(...), { type: 'module' })`
 * that bundlers follow to emit the worker script and what it imports. `webinfer/ort` swaps in a
 * worker that includes onnxruntime-web.
 */
let engineWorker = (): Worker => new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module', name: 'webinfer-engine' });

export function useEngineWorker(factory: () => Worker): void {
  engineWorker = factory;
}

/**
 * The worker, and the URL its script was looked for at: bundlers rewrite the URL inside the
 * factory, so it is read from the constructor call (the global is swapped for that one
 * synchronous call only).
 */
function spawn(): { worker: Worker; url: string } {
  const Native = globalThis.Worker;
  let url = '';
  globalThis.Worker = class extends Native {
    constructor(script: string | URL, options?: WorkerOptions) {
      url = String(script);
      super(script, options);
    }
  };
  try {
    return { worker: engineWorker(), url };
  } finally {
    globalThis.Worker = Native;
  }
}

/** How long dispose() waits for the worker to free the model before terminating it anyway. */
const DISPOSE_WAIT_MS = 3000;

interface Host {
  host: HostApi | Comlink.Remote<HostApi>;
  /** Rejects when the engine could not start (its worker script failed to load or run). */
  failed: Promise<never>;
  terminate(): void;
}

function startHost(useWorker: boolean): Host {
  if (!useWorker) return { host: new EngineHost(), failed: new Promise<never>(() => {}), terminate() {} };
  let worker: Worker | undefined;
  let url = '';
  try {
    ({ worker, url } = spawn());
    // Node's worker_threads Worker, which some packages put on globalThis, is no Web Worker.
    if (typeof worker.addEventListener !== 'function') throw new Error('this environment has no Web Workers (worker: false runs the engine in this thread)');
  } catch (e) {
    void (worker as { terminate?: () => unknown } | undefined)?.terminate?.();
    const failed = Promise.reject(new Error(`could not start the webinfer engine's Web Worker: ${(e as Error).message}`));
    failed.catch(() => {});
    // No engine: every call fails the way `failed` does (requests see it through localFetch).
    const none: HostApi = { load: () => failed, cancelLoad() {}, fetch() {}, unload: async () => {}, stats: () => undefined };
    return { host: none, failed, terminate() {} };
  }
  const w = worker;
  const failed = new Promise<never>((_, reject) => {
    let started = false;
    w.addEventListener('message', (e: MessageEvent) => {
      if ((e.data as { type?: string } | null)?.type === STARTED.type) started = true;
    });
    w.addEventListener('error', (e: ErrorEvent) => {
      if (started) return;
      // A script that 404s or is not JavaScript gives a bare Event; a throwing one, an ErrorEvent with its message.
      const why = e.message ? `its script threw: ${e.message}` : 'its script failed to load (missing, or not served as JavaScript)';
      reject(new Error(`the webinfer engine's Web Worker did not start: ${why}. Looked for: ${url}. A bundler must emit it (see "Use it in your app" in webinfer's README; Vite's dev server: optimizeDeps.exclude ['webinfer'])`));
      w.terminate();
    });
  });
  failed.catch(() => {});
  return { host: Comlink.wrap<HostApi>(w), failed, terminate: () => w.terminate() };
}

/** A model URL given relative to the page must be resolved there: the worker has another base. */
function absolute<T>(file: T): T | string {
  if (typeof file === 'string' && typeof location !== 'undefined' && !/^[a-z]+:/i.test(file)) return new URL(file, location.href).href;
  if (file instanceof URL) return file.href;
  return file;
}

function absoluteModel(options: EngineOptions): EngineOptions {
  const m = options.model;
  if (isHubModel(m, options.hubUrl) || (typeof m === 'string' && m.startsWith('local:'))) return options;
  return { ...options, model: (Array.isArray(m) ? m.map(absolute) : absolute(m)) as EngineOptions['model'] };
}

function errorResponse(status: number, body: OpenAIErrorBody): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** A body the reader cancelled or errored may still receive in-flight messages: drop them. */
function ignoreClosed(fn: () => void): void {
  try {
    fn();
  } catch {
    /* stream already closed or errored */
  }
}

const abortError = () => new DOMException('The operation was aborted.', 'AbortError');

/**
 * A path alone ('/v1/models') names a route here as it does in a page, where it is relative to the
 * page; Node's Request has no base to resolve it against and would reject it.
 */
function withOrigin(input: RequestInfo | URL): RequestInfo | URL {
  if (typeof input !== 'string' || typeof location !== 'undefined' || /^[a-z][a-z\d+.-]*:/i.test(input)) return input;
  return new URL(input, 'http://localhost/');
}

export function createFetch(options: CreateFetchOptions): WebinferFetch {
  const useWorker = options.worker ?? inBrowser;
  const { host, failed, terminate } = startHost(useWorker);
  const { onProgress, worker: _w, signal, ...engineOptions } = options;
  if (engineOptions.ortWasmPaths) engineOptions.ortWasmPaths = String(absolute(engineOptions.ortWasmPaths));
  const progress = onProgress && (useWorker ? Comlink.proxy(onProgress) : onProgress);
  // Only a window may ask for persistent storage; the download itself happens in the worker.
  if (isHubModel(engineOptions.model, engineOptions.hubUrl) && typeof navigator !== 'undefined' && typeof document !== 'undefined') void navigator.storage?.persist?.().catch(() => false);
  const ready = Promise.race([Promise.resolve(host.load(absoluteModel(engineOptions), progress)) as Promise<ModelInfo>, failed]);
  let dead = false;
  failed.catch(() => void (dead = true));
  signal?.addEventListener('abort', () => void host.cancelLoad(), { once: true });
  if (signal?.aborted) void host.cancelLoad();
  ready.catch(() => {}); // failures are reported per request (503) and through `ready`

  const localFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(withOrigin(input), init);
    if (request.signal.aborted) throw abortError();
    const wire: WireRequest = {
      url: request.url,
      method: request.method,
      headers: [...request.headers],
      body: request.method === 'GET' || request.method === 'HEAD' ? null : await request.text(),
    };
    const channel = new MessageChannel();
    const port = channel.port1;
    return new Promise<Response>((resolve, reject) => {
      let body: ReadableStreamDefaultController<Uint8Array> | undefined;
      let settled = false;
      const onAbort = () => {
        port.postMessage({ type: 'abort' } satisfies PortToHost);
        if (!settled) reject(abortError());
        else body?.error(abortError());
        port.close();
      };
      request.signal.addEventListener('abort', onAbort, { once: true });
      const finish = () => {
        request.signal.removeEventListener('abort', onAbort);
        port.close();
      };
      port.onmessage = (e: MessageEvent<PortToPage>) => {
        const m = e.data;
        switch (m.type) {
          case 'head': {
            settled = true;
            const stream = new ReadableStream<Uint8Array>({
              start: (c) => void (body = c),
              cancel: () => {
                port.postMessage({ type: 'abort' } satisfies PortToHost);
                finish();
              },
            });
            resolve(new Response(m.status === 204 ? null : stream, { status: m.status, headers: m.headers }));
            break;
          }
          case 'chunk':
            ignoreClosed(() => body?.enqueue(m.bytes));
            break;
          case 'end':
            ignoreClosed(() => body?.close());
            finish();
            break;
          case 'error':
            if (!settled) resolve(errorResponse(m.status, m.body));
            else body?.error(new Error(m.body.error.message));
            finish();
            break;
        }
      };
      // A worker that never started answers nothing: the request fails as a load failure would.
      failed.catch((e: Error) => {
        if (settled) return;
        settled = true;
        resolve(errorResponse(503, { error: { message: `the model could not be loaded: ${e.message}`, type: 'server_error', param: null, code: 'model_load_failed' } }));
        finish();
      });
      host.fetch(wire, useWorker ? Comlink.transfer(channel.port2, [channel.port2]) : channel.port2);
    });
  };

  return Object.assign(localFetch as typeof fetch, {
    ready,
    async stats() {
      return dead ? undefined : await host.stats();
    },
    async dispose() {
      // A worker that failed, hangs or crashed never answers: terminate it after a bounded wait.
      if (!dead) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const wait = new Promise<void>((r) => (timer = setTimeout(r, DISPOSE_WAIT_MS)));
        await Promise.race([Promise.resolve(host.unload()).catch(() => {}), wait, failed.catch(() => {})]);
        clearTimeout(timer);
      }
      terminate();
    },
  });
}
