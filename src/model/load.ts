/**
 * Loads a model (GGUF file or Hugging Face safetensors directory) into its parts: the config, the
 * tokenizer and chat template, and a stream of weights handed to a backend's TensorSink. Backends
 * decide what a tensor becomes (float32 arrays for the CPU engine, GPU buffers for WGSL).
 */
import { ByteStream } from '../formats/byte-stream.js';
import type { DType } from '../formats/dtypes.js';
import { readGGUFHeader, readGGUFTensors } from '../formats/gguf.js';
import { readSafetensors } from '../formats/safetensors.js';
import { toFloat32 } from '../formats/dtypes.js';
import { tokenizerFromGGUF } from '../tokenizer/from-gguf.js';
import { TextTokenizer } from '../tokenizer/tokenizer.js';
import { configFromGGUF, configFromHF, ggufNameFromHF, ropeTensor, type ModelConfig } from './config.js';
import { openSource, parseSplitPartName, readJson, readText, splitPartName, ModelNotFoundError, type FileStore, type ModelSource } from './files.js';

export interface TensorSink {
  /** `name` uses GGUF naming; `shape` is row-major, outermost first. */
  tensor(name: string, shape: number[], dtype: DType, bytes: Uint8Array): void | Promise<void>;
}

export interface LoadProgress {
  loadedBytes: number;
  totalBytes?: number;
  /** 0..1 when the total is known. */
  progress?: number;
  text: string;
}

export interface LoadedModel {
  id: string;
  format: 'gguf' | 'safetensors' | 'onnx';
  config: ModelConfig;
  tokenizer: TextTokenizer;
  chatTemplate?: string;
  /** Sampling defaults from generation_config.json, when present. */
  generationDefaults: { temperature?: number; top_p?: number; top_k?: number; repetition_penalty?: number };
}

export class Progress {
  loaded = 0;
  constructor(
    private total: number | undefined,
    private report?: (p: LoadProgress) => void,
  ) {}
  /** Counts bytes as they flow through, so progress follows the network, not the parser. */
  track(stream: ReadableStream<Uint8Array>, name: string): ReadableStream<Uint8Array> {
    return stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, c) => {
          this.loaded += chunk.length;
          this.emit(`loading ${name}`);
          c.enqueue(chunk);
        },
      }),
    );
  }
  /** Adds a file found later (a split GGUF's next part) to the total. */
  grow(bytes: number | undefined): void {
    this.total = bytes === undefined || this.total === undefined ? undefined : this.total + bytes;
  }
  emit(text: string): void {
    this.report?.({
      loadedBytes: this.loaded,
      totalBytes: this.total,
      progress: this.total ? Math.min(1, this.loaded / this.total) : undefined,
      text,
    });
  }
}

function idsOf(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

export async function loadModel(source: ModelSource, sink: TensorSink, onProgress?: (p: LoadProgress) => void): Promise<LoadedModel> {
  const { store, single } = await openSource(source);
  return single ? loadGGUF(store, sink, onProgress) : loadHFDirectory(store, sink, onProgress);
}

async function loadGGUF(store: FileStore, sink: TensorSink, onProgress?: (p: LoadProgress) => void): Promise<LoadedModel> {
  const file = await store.open('');
  if (!file) throw new ModelNotFoundError(`model ${store.label} not found`);
  const progress = new Progress(file.size, onProgress);
  const streams = [new ByteStream(progress.track(file.stream, store.label).getReader())];
  try {
    // Every part's header is read before any tensor reaches the sink: a part with an unsupported
    // type fails the load before anything is allocated.
    const headers = [await readGGUFHeader(streams[0]!)];
    const meta = headers[0]!.metadata;
    const count = Number(meta.get('split.count') ?? 1);
    if (count > 1) {
      const split = parseSplitPartName(store.fileName ?? '');
      if (Number(meta.get('split.no') ?? 0) !== 0 || !split)
        throw new ModelNotFoundError(`${store.label} is part ${Number(meta.get('split.no') ?? 0) + 1} of a GGUF split into ${count}: give the first part's URL (named <name>-00001-of-${String(count).padStart(5, '0')}.gguf, the others beside it) or the list of all parts`);
      for (let part = 2; part <= count; part++) {
        const name = splitPartName(split.prefix, part, count);
        const f = await store.open(name);
        if (!f) throw new ModelNotFoundError(`part ${part} of ${count} of the split GGUF ${store.label} (${name}) is missing`);
        progress.grow(f.size);
        streams.push(new ByteStream(progress.track(f.stream, name).getReader()));
        const h = await readGGUFHeader(streams.at(-1)!);
        if (Number(h.metadata.get('split.no')) !== part - 1) throw new Error(`${name} is not part ${part} of ${store.label}: it says it is part ${Number(h.metadata.get('split.no')) + 1}`);
        headers.push(h);
      }
    }
    const tensors = headers.flatMap((h) => h.tensors);
    const expected = Number(meta.get('split.tensors.count') ?? tensors.length);
    if (tensors.length !== expected) throw new Error(`split GGUF ${store.label}: its parts hold ${tensors.length} tensors, the first part announces ${expected}`);
    const config = configFromGGUF(meta, new Set(tensors.map((t) => t.name)));
    const { tokenizerJson, tokenizerConfig } = tokenizerFromGGUF(meta);
    const extraEos = ['tokenizer.ggml.eot_token_id', 'tokenizer.ggml.eom_token_id'].flatMap((k) => (meta.has(k) ? [Number(meta.get(k))] : []));
    const tokenizer = new TextTokenizer(tokenizerJson, tokenizerConfig, extraEos);
    const weights = unfused(config, sink);
    for (const [i, header] of headers.entries()) {
      await readGGUFTensors(streams[i]!, header, async (info, bytes) => {
        const isRope = /^rope_(freqs|factors_long|factors_short)\.weight$/.test(info.name);
        if (isRope) ropeTensor(config, info.name, toFloat32(info.dtype, bytes, info.elements));
        else await weights.tensor(info.name, [...info.dims].reverse(), info.dtype, bytes);
      });
    }
    progress.emit('loaded');
    const template = meta.get('tokenizer.chat_template');
    const name = meta.get('general.name');
    return {
      id: store.preferModelName && typeof name === 'string' && name.trim() ? name.trim() : store.label,
      format: 'gguf',
      config,
      tokenizer,
      chatTemplate: typeof template === 'string' ? template : undefined,
      generationDefaults: {},
    };
  } finally {
    for (const s of streams) s.cancel();
  }
}

/**
 * A sink that receives Phi-3's fused matrices as the separate ones every backend reads: attn_qkv
 * as attn_q, attn_k, attn_v, and ffn_up holding gate|up (2 x hiddenDim rows) as ffn_gate and
 * ffn_up. Rows are contiguous whole blocks in every type, so this is a split of the stored bytes.
 * (The wgsl backend fuses them again on the GPU, for one dispatch.)
 */
function unfused(c: ModelConfig, sink: TensorSink): TensorSink {
  return {
    async tensor(name, shape, dtype, bytes) {
      const m = /^(blk\.\d+\.)(attn_qkv|ffn_up)\.(weight|bias)$/.exec(name);
      const rows = shape[0]!;
      const q = c.nHeads * c.headDim, kv = c.nKvHeads * c.headDim;
      const split = !m ? undefined : m[2] === 'attn_qkv' ? [['attn_q', q], ['attn_k', kv], ['attn_v', kv]] as const : rows === 2 * c.hiddenDim ? [['ffn_gate', c.hiddenDim], ['ffn_up', c.hiddenDim]] as const : undefined;
      if (!split) return sink.tensor(name, shape, dtype, bytes);
      if (split.reduce((a, [, n]) => a + n, 0) !== rows) throw new Error(`tensor ${name} has ${rows} rows, the config says ${split.map(([s, n]) => `${s} ${n}`).join(' + ')}`);
      const rowBytes = bytes.length / rows;
      let at = 0;
      for (const [part, n] of split) {
        await sink.tensor(`${m![1]}${part}.${m![3]}`, [n, ...shape.slice(1)], dtype, bytes.subarray(at * rowBytes, (at + n) * rowBytes));
        at += n;
      }
    },
  };
}

/** What a Hugging Face directory says besides its weights: config, tokenizer, template, defaults. */
export async function loadHFMetadata(store: FileStore): Promise<Omit<LoadedModel, 'format'>> {
  const cfg = await readJson(store, 'config.json');
  if (!cfg) throw new ModelNotFoundError(`no config.json in model directory ${store.label} (a .gguf file or a Hugging Face directory is expected)`);
  const config = configFromHF(cfg);
  const tokJson = await readJson(store, 'tokenizer.json');
  if (!tokJson) throw new ModelNotFoundError(`no tokenizer.json in model directory ${store.label}`);
  const tokConfig = (await readJson(store, 'tokenizer_config.json')) ?? {};
  const genConfig = (await readJson(store, 'generation_config.json')) ?? {};
  const tokenizer = new TextTokenizer(tokJson, tokConfig, [...idsOf(genConfig.eos_token_id), ...idsOf(cfg.eos_token_id)]);
  const chatTemplate = (await readText(store, 'chat_template.jinja')) ?? (typeof tokConfig.chat_template === 'string' ? tokConfig.chat_template : undefined);
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return {
    id: store.label,
    config,
    tokenizer,
    chatTemplate,
    generationDefaults: {
      temperature: num(genConfig.temperature),
      top_p: num(genConfig.top_p),
      top_k: num(genConfig.top_k),
      repetition_penalty: num(genConfig.repetition_penalty),
    },
  };
}

async function loadHFDirectory(store: FileStore, sink: TensorSink, onProgress?: (p: LoadProgress) => void): Promise<LoadedModel> {
  const meta = await loadHFMetadata(store);
  const index = await readJson(store, 'model.safetensors.index.json');
  const shards = index ? [...new Set(Object.values(index.weight_map as Record<string, string>))].sort() : ['model.safetensors'];
  const opened = [];
  for (const shard of shards) {
    const f = await store.open(shard);
    if (!f) throw new ModelNotFoundError(`weights file ${shard} is missing from ${store.label}`);
    opened.push({ shard, ...f });
  }
  const total = opened.every((f) => f.size !== undefined) ? opened.reduce((a, f) => a + f.size!, 0) : undefined;
  const progress = new Progress(total, onProgress);
  const { config } = meta;
  const weights = unfused(config, sink);
  // Gemma's RMSNorm multiplies by (1 + w); GGUF files store 1 + w already (llama.cpp's converter adds it).
  const shiftNorms = config.arch === 'gemma2' || config.arch === 'gemma3';
  for (const f of opened) {
    const stream = new ByteStream(progress.track(f.stream, f.shard).getReader());
    try {
      await readSafetensors(stream, async (info, bytes) => {
        const name = ggufNameFromHF(info.name, config.arch);
        if (!name) return;
        if (shiftNorms && name.endsWith('norm.weight')) {
          const shifted = toFloat32(info.dtype, bytes, info.shape[0]!).map((w) => 1 + w);
          await weights.tensor(name, info.shape, 'F32', new Uint8Array(shifted.buffer));
        } else await weights.tensor(name, info.shape, info.dtype, bytes);
      });
    } finally {
      stream.cancel();
    }
  }
  progress.emit('loaded');
  return { ...meta, format: 'safetensors' };
}

/** Reads a whole file with progress (ONNX models are handed to the runtime in one piece). */
export async function readAll(store: FileStore, name: string, onProgress?: (p: LoadProgress) => void): Promise<Uint8Array | null> {
  const f = await store.open(name);
  if (!f) return null;
  const progress = new Progress(f.size, onProgress);
  const bytes = new Uint8Array(await new Response(progress.track(f.stream, name)).arrayBuffer());
  progress.emit(`loaded ${name}`);
  return bytes;
}
