/**
 * The engine host: owns the loaded model and the router, and answers WireRequests by pushing
 * the response on the request's MessagePort. It runs inside the Web Worker in browsers, and in
 * the same thread (or a worker_threads worker) in Node.
 */
import { APIError } from '../api/errors.js';
import { errorResponse, Router } from '../api/router.js';
import { Serving } from '../api/serving.js';
import type { LoadedRunner, LoadOptions } from '../engine/backend.js';
import type { BackendName } from '../engine/backend.js';
import { loadCpu } from '../engine/cpu/backend.js';
import { loadWasm } from '../engine/wasm/backend.js';
import { loadWgsl } from '../engine/wgsl/backend.js';
import { isCpuBacked } from '../engine/wgsl/device.js';
import { hasSimd } from '../engine/wasm/module.js';
import { loadOrt } from '../engine/ort/backend.js';
import { openSource } from '../model/files.js';
import { Engine } from '../engine/engine.js';
import { fetchHubModel, openLocalModel } from '../hub/cache.js';
import { isHubModel, type HubModelSource } from '../hub/ref.js';
import type { ModelSource } from '../model/files.js';
import { onnxFileOrder } from '../engine/ort/backend.js';
import type { EngineOptions, EngineStats, HostApi, LoadProgress, ModelInfo, PortToHost, PortToPage, WireRequest } from './protocol.js';

/** A directory with ONNX weights and no safetensors is an onnx-community export. */
async function isOnnxDirectory(model: ModelSource): Promise<boolean> {
  const { store, single } = await openSource(model);
  if (single) return false;
  const has = async (name: string) => {
    const f = await store.open(name);
    await f?.stream.cancel();
    return !!f;
  };
  if ((await has('model.safetensors')) || (await has('model.safetensors.index.json'))) return false;
  for (const f of ['model.onnx', 'model_q4.onnx', 'model_fp16.onnx', 'model_quantized.onnx', 'model_q4f16.onnx']) if (await has(`onnx/${f}`)) return true;
  return false;
}

/**
 * `auto`: onnxruntime-web for ONNX directories; our WGSL kernels where the page has a hardware
 * GPU; else the wasm kernels (no WebGPU, a software adapter such as SwiftShader, where wasm
 * decodes several times faster (ARCHITECTURE.md), and Node, where WebGPU comes from an optional
 * package and `wgsl` is chosen only when asked for); the TypeScript reference only where
 * WebAssembly SIMD is missing.
 */
async function chooseBackend(backend: BackendName, model: ModelSource): Promise<Exclude<BackendName, 'auto'>> {
  if (backend !== 'auto') return backend;
  if (await isOnnxDirectory(model)) return 'ort';
  const adapter = typeof navigator !== 'undefined' && navigator.gpu ? await navigator.gpu.requestAdapter().catch(() => null) : null;
  if (adapter && !isCpuBacked(adapter)) return 'wgsl';
  return (await hasSimd().catch(() => false)) ? 'wasm' : 'cpu';
}

/** Options whose model is local: bytes, a URL or path, or the files of a Hub model in the cache. */
type LocalOptions = Omit<EngineOptions, 'model'> & { model: ModelSource };

/** The engine options that size the engine, checked before anything is fetched or allocated. */
function checkSizes(o: EngineOptions): void {
  const bad = (name: string, v: unknown, what: string) => new APIError(400, `${name} must be ${what}, got ${JSON.stringify(v)}`, 'invalid_request_error', name, 'invalid_value');
  const int = (name: string, v: unknown, min: number, max: number) => {
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) throw bad(name, v, `an integer from ${min} to ${max}`);
  };
  int('maxModelLen', o.maxModelLen, 2, 1 << 24);
  int('maxBatch', o.maxBatch, 1, 1024);
  int('kvCacheBytes', o.kvCacheBytes, 1, Number.MAX_SAFE_INTEGER);
  int('threads', o.threads, 1, 256);
  if (o.kvDtype !== undefined && o.kvDtype !== 'f16' && o.kvDtype !== 'f32') throw bad('kvDtype', o.kvDtype, "'f16' or 'f32'");
}

async function loadBackend(options: LocalOptions, load: LoadOptions): Promise<LoadedRunner> {
  const backend = await chooseBackend(options.backend ?? 'auto', options.model);
  switch (backend) {
    case 'cpu':
      return loadCpu(options.model, load);
    case 'wasm':
      return loadWasm(options.model, load);
    case 'wgsl':
      return loadWgsl(options.model, load);
    case 'ort':
      return loadOrt(options.model, { ...load, onnxVariant: options.onnxVariant, executionProvider: options.executionProvider, ortWebgpu: options.ortWebgpu, ortWasmPaths: options.ortWasmPaths });
    default:
      throw new APIError(400, `unknown backend '${String(backend)}' (auto, wasm, wgsl, ort, cpu)`, 'invalid_request_error', 'backend', 'invalid_value');
  }
}

const mb = (n: number) => (n / 1e6).toFixed(1);

/**
 * A Hub model becomes the files of its cached copy (downloaded first when needed); an ONNX one
 * fetches only the variant this device would run.
 */
async function localModel(options: EngineOptions, signal: AbortSignal, onProgress?: (p: LoadProgress) => void): Promise<{ options: LocalOptions; aliases: string[]; fromCache?: boolean }> {
  if (typeof options.model === 'string' && options.model.startsWith('local:')) {
    const kept = await openLocalModel(options.model, { cache: options.cache, cacheDir: options.cacheDir });
    return { options: { ...options, model: kept.files, modelId: options.modelId ?? kept.id }, aliases: kept.aliases, fromCache: true };
  }
  if (!isHubModel(options.model, options.hubUrl)) return { options: options as LocalOptions, aliases: [] };
  const wantsOrt = options.backend === 'ort' || options.backend === 'auto' || options.backend === undefined;
  const hub = await fetchHubModel(options.model as string | HubModelSource, {
    hubUrl: options.hubUrl,
    accessToken: options.accessToken,
    cache: options.cache,
    cacheDir: options.cacheDir,
    signal,
    ...options.download,
    onnxFiles: wantsOrt ? await onnxFileOrder(options) : undefined,
    onProgress: onProgress && ((d) => onProgress({
      loadedBytes: d.loadedBytes,
      totalBytes: d.totalBytes,
      progress: d.totalBytes ? d.loadedBytes / d.totalBytes : undefined,
      text: `downloading: ${mb(d.loadedBytes)} of ${mb(d.totalBytes)} MB${d.bytesPerSecond > 0 ? ` at ${mb(d.bytesPerSecond)} MB/s` : ''}${d.etaSeconds !== undefined && d.etaSeconds > 0 ? `, ${Math.ceil(d.etaSeconds)} s left` : ''}`,
      download: d,
    })),
  });
  const onnxFile = hub.format === 'onnx' ? Object.keys(hub.files).find((n) => n.startsWith('onnx/') && n.endsWith('.onnx'))?.slice(5) : undefined;
  return {
    options: { ...options, model: hub.files, modelId: options.modelId ?? hub.id, onnxVariant: onnxFile ?? options.onnxVariant },
    aliases: hub.aliases,
    fromCache: hub.fromCache,
  };
}
export class EngineHost implements HostApi {
  private router?: Router;
  private engine?: Engine;
  private loading?: Promise<Router>;
  private options?: EngineOptions;
  private abort?: AbortController;
  private fromCache?: boolean;

  async load(options: EngineOptions, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    checkSizes(options); // a bad size keeps the loaded model
    void this.unload(); // synchronous in effect: `loading` must be set before any fetch can arrive
    this.options = options;
    const abort = (this.abort = new AbortController());
    let id = options.modelId;
    const loading = (async () => {
      const local = await localModel(options, abort.signal, onProgress);
      abort.signal.throwIfAborted();
      const o = local.options;
      const loaded = await loadBackend(o, {
        maxModelLen: o.maxModelLen,
        maxBatch: o.maxBatch,
        kvCacheBytes: o.kvCacheBytes,
        kvDtype: o.kvDtype,
        onProgress,
        gpuSampling: o.gpuSampling,
        intActivations: o.intActivations,
        threads: o.threads,
      });
      if (abort.signal.aborted) {
        loaded.runner.dispose();
        throw abort.signal.reason;
      }
      const engine = new Engine(loaded, { chainSteps: o.chainSteps });
      id = o.modelId ?? loaded.model.id;
      this.engine = engine;
      this.fromCache = local.fromCache;
      this.router = new Router(new Serving(engine, id, { enableLogprob: o.enableLogprob ?? false, jumpForward: o.jumpForward }), { aliases: local.aliases });
      return this.router;
    })();
    this.loading = loading;
    await loading;
    const e = this.engine!;
    return {
      fromCache: this.fromCache,
      id: id ?? e.model.id,
      backend: e.runner.backend,
      format: e.model.format,
      maxModelLen: e.maxModelLen,
      maxBatch: e.runner.maxBatch ?? 1,
      kvCache: e.runner.kv && { blocks: e.runner.kv.numBlocks, blockSize: e.runner.kv.blockSize, bytes: e.runner.kv.bytes, dtype: e.runner.kv.dtype },
      architecture: e.model.config.arch,
      vocabSize: e.model.config.vocabSize,
      description: e.runner.description,
      chatTemplate: e.model.chatTemplate !== undefined,
    };
  }

  cancelLoad(): void {
    this.abort?.abort(new DOMException('the model load was cancelled', 'AbortError'));
  }

  stats(): EngineStats | undefined {
    return this.engine?.stats();
  }

  async unload(): Promise<void> {
    this.cancelLoad();
    this.engine?.dispose();
    this.engine = undefined;
    this.router = undefined;
    this.loading = undefined;
  }

  fetch(wire: WireRequest, port: MessagePort): void {
    const abort = new AbortController();
    // Chunks are copied, not transferred: they are small, and a transfer would detach buffers the
    // router may share between responses.
    const post = (m: PortToPage) => port.postMessage(m);
    port.onmessage = (e: MessageEvent<PortToHost>) => {
      if (e.data?.type === 'abort') abort.abort();
    };
    void (async () => {
      let response: Response;
      try {
        // A lost GPU device fails the request in flight with a 503; the next one reloads the model.
        if (this.engine?.runner.lost && this.options) void this.load(this.options).catch(() => {});
        const router = this.router ?? (await this.loading);
        if (!router) throw new APIError(503, 'no model is loaded', 'server_error', null, 'model_not_loaded');
        const request = new Request(wire.url, { method: wire.method, headers: wire.headers, body: wire.body, signal: abort.signal });
        response = await router.handle(request);
      } catch (e) {
        const err = e instanceof APIError ? e : new APIError(503, `the model could not be loaded: ${(e as Error).message}`, 'server_error', null, 'model_load_failed');
        response = errorResponse(err);
      }
      post({ type: 'head', status: response.status, headers: [...response.headers] });
      if (response.body) {
        const reader = response.body.getReader();
        abort.signal.addEventListener('abort', () => void reader.cancel().catch(() => {}), { once: true });
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          post({ type: 'chunk', bytes: value });
        }
      }
      post({ type: 'end' });
    })()
      .catch((e) => post({ type: 'error', status: 500, body: APIError.from(e).toJSON() }))
      .finally(() => port.close());
  }
}
