/**
 * The `ort` backend: ONNX decoders in the Optimum / onnx-community layout run by onnxruntime-web.
 * The runner adapts to what the session declares — optional position_ids and logits_to_keep, the
 * past_key_values layout and element type — rather than assuming one export. In Node and on pages
 * without WebGPU it uses the WASM execution provider.
 */
import type * as Ort from 'onnxruntime-web';
import { loadHFMetadata, readAll } from '../../model/load.js';
import { openSource, ModelNotFoundError, type ModelSource } from '../../model/files.js';
import type { LoadOptions, LoadedRunner, ModelRunner } from '../backend.js';

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
/** Preference on the WASM execution provider: small quantised weights first. */
const WASM_ORDER = ['q4', 'quantized', 'int8', 'uint8', 'fp32', 'fp16'];

export interface OrtOptions extends LoadOptions {
  /** A key of ONNX_VARIANTS, or a file name under onnx/. */
  onnxVariant?: string;
}

async function runtime(): Promise<typeof Ort> {
  const ort = await import('onnxruntime-web');
  // Threads need cross-origin isolation in browsers; one thread works everywhere.
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  const inNode = typeof process !== 'undefined' && !!process.versions?.node;
  ort.env.wasm.numThreads = isolated || inNode ? Math.min(4, (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 2) : 1;
  ort.env.logLevel = 'error';
  return ort;
}

type KVArray = Float32Array | Uint16Array;

export async function loadOrt(source: ModelSource, options: OrtOptions): Promise<LoadedRunner> {
  const { store, single } = await openSource(source);
  if (single) throw new ModelNotFoundError("the 'ort' backend needs a model directory (config.json, tokenizer.json, onnx/model*.onnx), not a single file");
  const meta = await loadHFMetadata(store);
  const wanted = options.onnxVariant;
  const candidates = wanted ? [ONNX_VARIANTS[wanted] ?? wanted] : WASM_ORDER.map((v) => ONNX_VARIANTS[v]!);
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
  const ort = await runtime();
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    ...(externalData ? { externalData: [{ path: `${file}_data`, data: externalData }] } : {}),
  });

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

  let past = new Map<string, Ort.Tensor>();
  let pastLen = 0;
  const reset = () => {
    past = new Map(pastNames.map((n) => [n, new ort.Tensor(kvType, empty(), [1, kvHeads, 0, headDim])]));
    pastLen = 0;
  };
  /** Keeps the first `len` positions of the cache (a new request sharing a prefix). */
  const truncate = (len: number) => {
    for (const [n, t] of past) {
      const data = t.data as KVArray;
      const out = kvType === 'float16' ? new Uint16Array(kvHeads * len * headDim) : new Float32Array(kvHeads * len * headDim);
      for (let h = 0; h < kvHeads; h++) out.set(data.subarray(h * pastLen * headDim, h * pastLen * headDim + len * headDim), h * len * headDim);
      past.set(n, new ort.Tensor(kvType, out, [1, kvHeads, len, headDim]));
    }
    pastLen = len;
  };
  reset();

  const maxSeqLen = Math.min(options.maxModelLen ?? meta.config.contextLength, meta.config.contextLength);
  const int64 = (v: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);
  const runner: ModelRunner = {
    backend: 'ort',
    config: meta.config,
    maxSeqLen,
    description: `onnxruntime-web ${ort.env.versions?.web ?? ''} (wasm), ${file}`,
    async forward(tokens, pos, allLogits = false) {
      if (pos === 0) reset();
      else if (pos < pastLen) truncate(pos);
      else if (pos > pastLen) throw new Error(`KV cache holds ${pastLen} positions, cannot continue at ${pos}`);
      const T = tokens.length;
      const feeds: Record<string, Ort.Tensor> = {
        input_ids: int64(tokens, [1, T]),
        attention_mask: int64(new Array(pos + T).fill(1), [1, pos + T]),
      };
      if (hasPositions) feeds.position_ids = int64(Array.from({ length: T }, (_, i) => pos + i), [1, T]);
      if (keepInput) feeds[keepInput] = int64([allLogits ? T : 1], []);
      for (const [n, t] of past) feeds[n] = t;
      const out = await session.run(feeds);
      for (let l = 0; l < layers; l++)
        for (const kv of ['key', 'value']) {
          const t = out[`present.${l}.${kv}`];
          if (!t) throw new Error(`the ONNX model has no output present.${l}.${kv}`);
          past.set(`past_key_values.${l}.${kv}`, t);
        }
      pastLen = pos + T;
      const logits = out.logits!;
      const data = logits.data as Float32Array;
      const vocab = logits.dims[2]!;
      const rows = logits.dims[1]!;
      if (allLogits) {
        if (rows !== T) throw new Error(`the ONNX model returned logits for ${rows} of ${T} positions`);
        return data;
      }
      return data.slice((rows - 1) * vocab, rows * vocab);
    },
    dispose() {
      void session.release();
    },
  };
  return { model: { ...meta, format: 'onnx' }, runner };
}
