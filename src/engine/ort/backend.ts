/**
 * The `ort` backend: ONNX decoders in the Optimum / onnx-community layout run by onnxruntime-web.
 * The runner adapts to what the session declares — optional position_ids and logits_to_keep, the
 * past_key_values layout and element type — rather than assuming one export.
 *   WebGPU execution provider (pages with WebGPU): the KV cache stays on the GPU between steps
 *   (present.* outputs in gpu-buffer location, fed back as past_key_values), and the logits are
 *   sampled by webinfer's own WGSL sampler on the device ORT uses: only the token id comes back.
 *   By default ORT's native WebGPU provider (`onnxruntime-web/webgpu`, as transformers.js uses);
 *   with it, GroupQueryAttention exports write keys and values in place into a fixed-capacity
 *   cache. `ortWebgpu: 'jsep'` picks the JavaScript provider of the default build instead.
 *   WASM execution provider: Node, and pages without WebGPU (threads when cross-origin isolated).
 * float16 exports (fp16, q4f16: float16 KV cache and logits) work on both; their logits become
 * float32 on the way out (on the GPU, for the sampler, by shaders/convert.wgsl).
 */
import type * as Ort from 'onnxruntime-web';
import { loadHFMetadata, readAll } from '../../model/load.js';
import { openSource, ModelNotFoundError, type ModelSource } from '../../model/files.js';
import { UnsupportedModelError } from '../../model/config.js';
import type { DeviceSampler, LoadOptions, LoadedRunner, ModelRunner } from '../backend.js';
import { f16ToF32 } from '../../formats/dtypes.js';
import { HalfToFloat } from '../wgsl/kernels/convert.js';
import { PipelineCache } from '../wgsl/kernels/op.js';
import { Sampler } from '../wgsl/kernels/sample.js';
import { isCpuBacked } from '../wgsl/device.js';
import { ortModule } from './runtime.js';

/** The file names onnx-community repositories use for each weight variant. */
export const ONNX_VARIANTS: Record<string, string> = {
  fp32: 'model.onnx',
  fp16: 'model_fp16.onnx',
  q4: 'model_q4.onnx',
  q4f16: 'model_q4f16.onnx',
  quantized: 'model_quantized.onnx',
  int8: 'model_int8.onnx',
  uint8: 'model_uint8.onnx',
  bnb4: 'model_bnb4.onnx',
};
/** Preference per execution provider: small weights the provider runs well first. */
const WASM_ORDER = ['q4', 'quantized', 'int8', 'uint8', 'fp32', 'fp16', 'q4f16'];
const WEBGPU_ORDER = ['q4', 'fp32', 'fp16', 'quantized'];
const WEBGPU_F16_ORDER = ['q4f16', 'fp16', 'q4', 'fp32', 'quantized'];

export interface OrtOptions extends LoadOptions {
  /** A key of ONNX_VARIANTS, or a file name under onnx/. */
  onnxVariant?: string;
  /** Execution provider: 'webgpu' where the page has WebGPU, else 'wasm' (default: chosen so). */
  executionProvider?: 'webgpu' | 'wasm';
  /**
   * Which WebGPU provider: 'native' (ORT's C++ provider, `onnxruntime-web/webgpu`; default) or
   * 'jsep' (the JavaScript one of the default build). On SwiftShader native prefilled the 135M
   * model 4–6x faster and decoded 2–3x slower; only native supports the in-place KV cache.
   */
  ortWebgpu?: 'native' | 'jsep';
  /** Where onnxruntime-web fetches its .wasm files (a folder URL ending in '/'); default: where the app's bundler put them. */
  ortWasmPaths?: string;
}

async function webgpuAdapter(): Promise<GPUAdapter | null> {
  if (typeof navigator === 'undefined' || !navigator.gpu) return null;
  return navigator.gpu.requestAdapter().catch(() => null);
}

async function runtime(native: boolean, wasmPaths?: string): Promise<typeof Ort> {
  const ort = await ortModule(native);
  const inNode = typeof process !== 'undefined' && !!process.versions?.node;
  // Otherwise onnxruntime-web finds its .wasm where the app's bundler emitted it (next to its chunk).
  if (wasmPaths && !inNode) ort.env.wasm.wasmPaths = wasmPaths;
  // Threads need cross-origin isolation in browsers; one thread works everywhere.
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  ort.env.wasm.numThreads = isolated || inNode ? Math.min(4, (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 2) : 1;
  ort.env.logLevel = 'error';
  return ort;
}

/** A float16 tensor's data is a Uint16Array of bit patterns, or a Float16Array where the JS engine has one. */
type KVArray = Float32Array | Uint16Array;

/** float32 values of a float32 or float16 tensor's data. */
function toFloat32Data(data: unknown): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof Uint16Array) return Float32Array.from(data, (h) => f16ToF32(h));
  return Float32Array.from(data as ArrayLike<number>); // Float16Array
}

/** Whether the ONNX graph uses an operator (its op_type string is in the protobuf). */
function hasOpType(bytes: Uint8Array, op: string): boolean {
  const needle = new TextEncoder().encode(op);
  outer: for (let i = bytes.indexOf(needle[0]!); i !== -1 && i <= bytes.length - needle.length; i = bytes.indexOf(needle[0]!, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** GPU memory the in-place cache may take; above it (a long maxModelLen) the cache grows per step instead. */
const IN_PLACE_KV_BUDGET = 2 ** 31;

/** One GPU tensor per past_key_values input, of the full capacity, on ORT's device (undefined when too large). */
async function staticCache(ort: typeof Ort, names: string[], type: 'float32' | 'float16', dims: number[]): Promise<Map<string, Ort.Tensor> | undefined> {
  const device = (await ort.env.webgpu.device) as GPUDevice;
  const bytes = dims.reduce((a, b) => a * b, 1) * (type === 'float16' ? 2 : 4);
  if (bytes > device.limits.maxBufferSize || bytes * names.length > IN_PLACE_KV_BUDGET) return undefined;
  return new Map(
    names.map((n) => {
      const buffer = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: n });
      return [n, ort.Tensor.fromGpuBuffer(buffer, { dataType: type, dims, dispose: () => buffer.destroy() })];
    }),
  );
}

/** WebGPU output locations: the KV cache on the GPU, the logits there only for the GPU sampler. */
function outputLocations(layers: number, gpuLogits: boolean): Record<string, 'gpu-buffer' | 'cpu'> {
  const out: Record<string, 'gpu-buffer' | 'cpu'> = { logits: gpuLogits ? 'gpu-buffer' : 'cpu' };
  for (let l = 0; l < layers; l++) for (const kv of ['key', 'value']) out[`present.${l}.${kv}`] = 'gpu-buffer';
  return out;
}

/** The onnx/ file names to try, in order, for an adapter (null: the wasm provider). */
function variantFiles(adapter: GPUAdapter | null, wanted?: string): string[] {
  if (wanted) return [ONNX_VARIANTS[wanted] ?? wanted];
  const order = !adapter ? WASM_ORDER : adapter.features.has('shader-f16') ? WEBGPU_F16_ORDER : WEBGPU_ORDER;
  return order.map((v) => ONNX_VARIANTS[v]!);
}

/** What loadOrt would look for on this device: lets a download fetch only the variant that will run. */
export async function onnxFileOrder(options: Pick<OrtOptions, 'executionProvider' | 'onnxVariant'>): Promise<string[]> {
  return variantFiles(options.executionProvider === 'wasm' ? null : await webgpuAdapter(), options.onnxVariant);
}

export async function loadOrt(source: ModelSource, options: OrtOptions): Promise<LoadedRunner> {
  const { store, single } = await openSource(source);
  if (single) throw new ModelNotFoundError("the 'ort' backend needs a model directory (config.json, tokenizer.json, onnx/model*.onnx), not a single file");
  const meta = await loadHFMetadata(store);
  const adapter = options.executionProvider === 'wasm' ? null : await webgpuAdapter();
  if (options.executionProvider === 'webgpu' && !adapter) throw new Error('the WebGPU execution provider was asked for, but this environment has no WebGPU adapter');
  const ep: 'webgpu' | 'wasm' = adapter ? 'webgpu' : 'wasm';
  const candidates = variantFiles(adapter, options.onnxVariant);
  let file: string | undefined;
  let bytes: Uint8Array | null = null;
  for (const c of candidates) {
    bytes = await readAll(store, `onnx/${c}`, options.onProgress);
    if (bytes) {
      file = c;
      break;
    }
  }
  if (!bytes || !file) throw new ModelNotFoundError(`no ONNX model in ${store.label}/onnx (looked for ${candidates.join(', ')})`);
  const externalData = await readAll(store, `onnx/${file}_data`);
  const native = ep === 'webgpu' && options.ortWebgpu !== 'jsep';
  const ort = await runtime(native, options.ortWasmPaths);
  // As on the wgsl backend: sampling on the GPU by default on hardware GPUs; on a CPU-backed
  // adapter an extra GPU submission costs more than reading the logits back.
  const gpuSampling = ep === 'webgpu' && (options.gpuSampling ?? !isCpuBacked(adapter!));
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [ep],
    // ORT's default. (An earlier 'basic' on WASM rested on a measurement taken while V8 was still
    // tiering up ORT's WebAssembly: once warm, both levels run these decoders at the same speed.)
    graphOptimizationLevel: 'all',
    // present.* stay on the GPU: they become the next past_key_values without a copy. The logits
    // stay there only for the GPU sampler; otherwise ORT reads them back within the run.
    ...(ep === 'webgpu' ? { preferredOutputLocation: outputLocations(meta.config.nLayers, gpuSampling) } : {}),
    ...(externalData ? { externalData: [{ path: `${file}_data`, data: externalData }] } : {}),
  });

  // ORT's WebGPU providers run float16 tensors only with shader-f16 (else the first step fails
  // with "Program Gather requires f16 but the device does not support it"): refuse at load.
  const half = [...session.inputMetadata, ...session.outputMetadata].some((m) => m.isTensor && m.type === 'float16');
  if (ep === 'webgpu' && half && !adapter!.features.has('shader-f16')) {
    void session.release();
    throw new UnsupportedModelError(`onnx/${file} computes in float16, which ORT's WebGPU provider runs only on adapters with the shader-f16 feature, and this one has none: choose a float32 or q4 variant (onnxVariant), or the wasm execution provider`);
  }

  // What the export declares.
  const names = new Set(session.inputNames);
  const hasPositions = names.has('position_ids');
  const keepInput = ['logits_to_keep', 'num_logits_to_keep'].find((n) => names.has(n));
  const pastNames = session.inputNames.filter((n) => n.startsWith('past_key_values.'));
  const layers = pastNames.length / 2;
  const meta0 = session.inputMetadata.find((m) => m.name === pastNames[0]);
  const kvType: 'float32' | 'float16' = meta0 && meta0.isTensor && meta0.type === 'float16' ? 'float16' : 'float32';
  const shape = meta0 && meta0.isTensor ? meta0.shape : [];
  const kvHeads = typeof shape[1] === 'number' ? shape[1] : meta.config.nKvHeads;
  const headDim = typeof shape[3] === 'number' ? shape[3] : meta.config.headDim;
  const empty = (): KVArray => (kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0));
  const maxSeqLen = Math.min(options.maxModelLen ?? meta.config.contextLength, meta.config.contextLength);

  // GroupQueryAttention exports (onnxruntime-genai's model builder) on the native provider write
  // each step's keys and values in place: past_key_values.* and present.* are bound to the same
  // fixed-capacity GPU buffers, and the attention mask says how much of them is valid. No per-step
  // allocation or copy of the cache, and going back to a shared prefix is free.
  const staticKV = native && hasOpType(bytes, 'GroupQueryAttention') ? await staticCache(ort, pastNames, kvType, [1, kvHeads, maxSeqLen, headDim]) : undefined;
  let past = new Map<string, Ort.Tensor>();
  let pastLen = 0;
  const reset = () => {
    for (const t of past.values()) if (t.location === 'gpu-buffer') t.dispose();
    past = new Map(pastNames.map((n) => [n, new ort.Tensor(kvType, empty(), [1, kvHeads, 0, headDim])]));
    pastLen = 0;
  };
  /** Keeps the first `len` positions of the cache (a new request sharing a prefix). */
  const truncate = async (len: number) => {
    for (const [n, t] of past) {
      const data = (t.location === 'cpu' ? t.data : await t.getData(true)) as KVArray;
      // the same array type as ORT gave (Float16Array or Uint16Array for float16)
      const out = new (data.constructor as new (n: number) => KVArray)(kvHeads * len * headDim);
      for (let h = 0; h < kvHeads; h++) out.set(data.subarray(h * pastLen * headDim, h * pastLen * headDim + len * headDim), h * len * headDim);
      past.set(n, new ort.Tensor(kvType, out, [1, kvHeads, len, headDim]));
    }
    pastLen = len;
  };
  reset();

  // Integer inputs in the type the export declares: int64 (Optimum, most model-builder exports) or int32.
  const int32Inputs = new Set(session.inputMetadata.filter((m) => m.isTensor && m.type === 'int32').map((m) => m.name));
  const ints = (name: string, v: number[], dims: number[]) => (int32Inputs.has(name) ? new ort.Tensor('int32', Int32Array.from(v), dims) : new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims));
  /** input_ids, attention_mask, position_ids and logits_to_keep of a step of `tokens` at `pos`. */
  const stepFeeds = (tokens: number[], pos: number, allLogits: boolean): Record<string, Ort.Tensor> => {
    const T = tokens.length;
    const feeds: Record<string, Ort.Tensor> = {
      input_ids: ints('input_ids', tokens, [1, T]),
      attention_mask: ints('attention_mask', new Array(pos + T).fill(1), [1, pos + T]),
    };
    if (hasPositions) feeds.position_ids = ints('position_ids', Array.from({ length: T }, (_, i) => pos + i), [1, T]);
    if (keepInput) feeds[keepInput] = ints(keepInput, [allLogits ? T : 1], []);
    return feeds;
  };
  /** Runs one step; the present.* outputs become the next step's past_key_values. */
  /** Token ids whose keys/values are in the cache, position by position. */
  let fed: number[] = [];
  const run = async (input: number[], start: number, allLogits: boolean): Promise<Ort.Tensor> => {
    let tokens = input;
    let pos = start;
    if (pos > pastLen) throw new Error(`KV cache holds ${pastLen} positions, cannot continue at ${pos}`);
    if (staticKV) return runInPlace(tokens, pos, allLogits);
    if (pos < pastLen && !allLogits && ep === 'webgpu') {
      // Cutting a GPU cache back means downloading every layer; re-running the kept prefix is cheaper.
      tokens = [...fed.slice(0, pos), ...tokens];
      pos = 0;
    }
    if (pos === 0) reset();
    else if (pos < pastLen) await truncate(pos);
    fed = [...fed.slice(0, pos), ...tokens];
    const T = tokens.length;
    const feeds = stepFeeds(tokens, pos, allLogits);
    for (const [n, t] of past) feeds[n] = t;
    const out = await session.run(feeds);
    for (let l = 0; l < layers; l++)
      for (const kv of ['key', 'value']) {
        const t = out[`present.${l}.${kv}`];
        if (!t) throw new Error(`the ONNX model has no output present.${l}.${kv}`);
        const name = `past_key_values.${l}.${kv}`;
        if (past.get(name)?.location === 'gpu-buffer') past.get(name)!.dispose(); // no growth of GPU memory per step
        past.set(name, t);
      }
    pastLen = pos + T;
    return out.logits!;
  };

  /** A step on the fixed-capacity cache: positions from `pos` on are overwritten in place. */
  const runInPlace = async (tokens: number[], pos: number, allLogits: boolean): Promise<Ort.Tensor> => {
    const T = tokens.length;
    if (pos + T > maxSeqLen) throw new Error(`the KV cache holds ${maxSeqLen} positions, ${pos + T} were asked for`);
    const feeds = stepFeeds(tokens, pos, allLogits);
    const fetches: Record<string, Ort.Tensor | null> = { logits: null };
    for (const [n, t] of staticKV!) {
      feeds[n] = t;
      fetches[n.replace('past_key_values.', 'present.')] = t;
    }
    const out = await session.run(feeds, fetches as Ort.InferenceSession.FetchesType);
    fed = [...fed.slice(0, pos), ...tokens];
    pastLen = pos + T;
    return out.logits!;
  };

  // The WGSL sampler, on the device ORT runs on; it reads a copy of the last position's logits.
  let sampler: DeviceSampler | undefined;
  let freeSampler = () => {};
  if (gpuSampling) {
    const device = (await ort.env.webgpu.device) as GPUDevice;
    const vocab = meta.config.vocabSize;
    const last = device.createBuffer({ size: vocab * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label: 'ort.last_logits' });
    const kernels = new PipelineCache(device);
    const gpu = await Sampler.create(kernels, vocab, last);
    const halfLogits = session.outputMetadata.some((m) => m.name === 'logits' && m.isTensor && m.type === 'float16');
    const toFloat = halfLogits ? await HalfToFloat.create(kernels) : undefined;
    const readback = device.createBuffer({ size: 4 * 48, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'ort.sample.readback' });
    // ORT's device outlives this model: its buffers go with the model
    freeSampler = () => {
      gpu.destroy();
      kernels.destroy();
      last.destroy();
      readback.destroy();
    };
    sampler = {
      reset: (prompt) => gpu.reset(prompt),
      async step(tokens, pos, s) {
        const running = run(tokens, pos, false);
        running.catch(() => {}); // awaited below; a failing mask must not leave it unhandled
        const mask = await s.mask?.(); // computed while ORT runs the forward pass
        const logits = await running;
        const rows = logits.dims[1]!;
        gpu.prepare(s, mask);
        const enc = device.createCommandEncoder();
        if (toFloat) toFloat.encode(enc, logits.gpuBuffer as GPUBuffer, (rows - 1) * vocab, vocab, last);
        else enc.copyBufferToBuffer(logits.gpuBuffer as GPUBuffer, (rows - 1) * vocab * 4, last, 0, vocab * 4);
        const pass = enc.beginComputePass();
        pass.setPipeline(gpu.op().pipeline);
        pass.setBindGroup(0, gpu.op().bindGroup);
        pass.dispatchWorkgroups(1);
        pass.end();
        const bytes = gpu.outBytes(s);
        enc.copyBufferToBuffer(gpu.out(), 0, readback, 0, bytes);
        device.queue.submit([enc.finish()]);
        await readback.mapAsync(GPUMapMode.READ, 0, bytes);
        const out = readback.getMappedRange(0, bytes).slice(0);
        readback.unmap();
        logits.dispose();
        const u = new Uint32Array(out);
        const f = new Float32Array(out);
        if (s.logprobs === undefined) return { token: u[0]! };
        const top = Array.from({ length: s.logprobs }, (_, i) => ({ id: u[2 + 2 * i]!, logprob: f[3 + 2 * i]! }));
        return { token: u[0]!, logprob: { id: u[0]!, logprob: f[1]!, top } };
      },
    };
  }

  const runner: ModelRunner = {
    backend: 'ort',
    config: meta.config,
    maxSeqLen,
    description: `onnxruntime-web (${ep} execution provider${ep === 'wasm' ? `, ${ort.env.wasm.numThreads} thread(s)` : native ? ', native' : ', JSEP'}${staticKV ? ', in-place KV cache' : ''}), onnx/${file}`,
    sampler,
    async forward(tokens, pos, allLogits = false) {
      const logits = await run(tokens, pos, allLogits);
      // getData(true) downloads and releases a GPU tensor
      const data = toFloat32Data(logits.location === 'cpu' ? logits.data : await logits.getData(true));
      const vocab = logits.dims[2]!;
      const rows = logits.dims[1]!;
      if (allLogits) {
        if (rows !== tokens.length) throw new Error(`the ONNX model returned logits for ${rows} of ${tokens.length} positions`);
        return data;
      }
      return data.slice((rows - 1) * vocab, rows * vocab);
    },
    dispose() {
      for (const t of staticKV?.values() ?? []) t.dispose();
      freeSampler();
      void session.release();
    },
  };
  return { model: { ...meta, format: 'onnx' }, runner };
}
