/**
 * Benchmark models: SmolLM2-135M's real configuration (test/fixtures/real/smollm2-135m-instruct)
 * and real tokenizer, with seeded random weights, as GGUF in Q4_0 and Q8_0. Random weights make
 * the kernels do a 135M model's work; the text they write is noise. Generated on demand into
 * bench/.models (not committed), deterministic.
 *
 *   npx tsx scripts/make-bench-models.ts [--gpu]   (--gpu: the GPU benchmark's llama-quantize models instead)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { byteSize, f32ToF16, type DType } from '../src/formats/dtypes.js';
import { writeGGUF, type GGUFTensorInput, type GGUFTypedValue } from '../src/formats/gguf.js';
import { makeWeights, writeFixtureGGUF, type FixtureSpec } from './make-fixtures.js';
import { llamaTools } from './make-presets.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SMOLLM = join(ROOT, 'test', 'fixtures', 'real', 'smollm2-135m-instruct');

export const BENCH_TYPES: DType[] = ['Q4_0', 'Q8_0'];

export function benchModelPath(dtype: DType, dir = join(ROOT, 'bench', '.models')): string {
  return join(dir, `smollm2-135m-${dtype.toLowerCase()}.gguf`);
}

function spec(): FixtureSpec {
  const c = JSON.parse(readFileSync(join(SMOLLM, 'config.json'), 'utf8'));
  return {
    name: 'smollm2-135m',
    arch: 'llama',
    dim: c.hidden_size,
    hiddenDim: c.intermediate_size,
    nLayers: c.num_hidden_layers,
    nHeads: c.num_attention_heads,
    nKvHeads: c.num_key_value_heads,
    headDim: c.hidden_size / c.num_attention_heads,
    ropeTheta: c.rope_theta,
    tied: c.tie_word_embeddings,
    seed: 135,
  };
}

/** The real SmolLM2 tokenizer as GGUF metadata (byte-level BPE, llama.cpp's "smollm" pre-tokenizer). */
function tokenizerMeta(): { meta: Record<string, GGUFTypedValue>; vocab: number } {
  const json = JSON.parse(readFileSync(join(SMOLLM, 'tokenizer.json'), 'utf8'));
  const ids = [...Object.values<number>(json.model.vocab), ...json.added_tokens.map((t: { id: number }) => t.id)];
  const size = ids.reduce((a, b) => Math.max(a, b), 0) + 1;
  const tokens: string[] = new Array(size).fill('');
  const types = new Int32Array(size).fill(1);
  for (const [t, id] of Object.entries<number>(json.model.vocab)) tokens[id] = t;
  for (const t of json.added_tokens) [tokens[t.id], types[t.id]] = [t.content, t.special ? 3 : 4];
  const merges = json.model.merges.map((m: string | string[]) => (Array.isArray(m) ? m.join(' ') : m));
  return {
    vocab: size,
    meta: {
      'tokenizer.ggml.model': { type: 'string', value: 'gpt2' },
      'tokenizer.ggml.pre': { type: 'string', value: 'smollm' },
      'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: tokens },
      'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', value: types },
      'tokenizer.ggml.merges': { type: 'array', itemType: 'string', value: merges },
      'tokenizer.ggml.bos_token_id': { type: 'u32', value: 1 },
      'tokenizer.ggml.eos_token_id': { type: 'u32', value: 2 },
      'tokenizer.ggml.add_bos_token': { type: 'bool', value: false },
      'tokenizer.chat_template': { type: 'string', value: readFileSync(join(SMOLLM, 'chat_template.jinja'), 'utf8') },
    },
  };
}

/** One of BENCH_TYPES alone, without llama-quantize (bench/wasm-batch.ts); the same bytes as ensureBenchModels writes. */
export function ensureBenchModel(dtype: DType, dir = join(ROOT, 'bench', '.models')): string {
  const path = benchModelPath(dtype, dir);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const s = spec();
  const tok = tokenizerMeta();
  writeFileSync(`${path}.part`, writeFixtureGGUF(s, makeWeights(s, tok.vocab), tok.meta, dtype, 8192));
  renameSync(`${path}.part`, path);
  return path;
}

/** The models: BENCH_TYPES written by our generator, then Q4_K_M as llama.cpp's llama-quantize writes it (from an F16 file, removed after). */
export function ensureBenchModels(dir = join(ROOT, 'bench', '.models')): string[] {
  const paths = BENCH_TYPES.map((t) => benchModelPath(t, dir));
  const q4km = join(dir, 'smollm2-135m-q4_k_m-llama-quantize.gguf');
  if ([...paths, q4km].every((p) => existsSync(p))) return [...paths, q4km];
  mkdirSync(dir, { recursive: true });
  const s = spec();
  const tok = tokenizerMeta();
  const weights = makeWeights(s, tok.vocab);
  for (const [i, dtype] of BENCH_TYPES.entries()) {
    if (!existsSync(paths[i]!)) writeFileSync(paths[i]!, writeFixtureGGUF(s, weights, tok.meta, dtype, 8192));
  }
  if (!existsSync(q4km)) {
    const f16 = join(dir, 'smollm2-135m-f16.tmp.gguf');
    writeFileSync(f16, writeFixtureGGUF(s, weights, tok.meta, 'F16', 8192));
    execFileSync(join(llamaTools(), 'bin', 'llama-quantize'), [f16, `${q4km}.tmp`, 'Q4_K_M', String(cpus().length)], { stdio: 'ignore' });
    renameSync(`${q4km}.tmp`, q4km);
    rmSync(f16);
  }
  return [...paths, q4km];
}

/** A llama-architecture shape for the GPU benchmark's llama-quantize models (SmolLM2's tokenizer). */
/** A benchmark model's shape: the fixture writer's fields, plus the context it declares. */
export type QuantizedBenchShape = Pick<FixtureSpec, 'name' | 'dim' | 'hiddenDim' | 'nLayers' | 'nHeads' | 'nKvHeads' | 'headDim' | 'ropeTheta'> & { contextLength: number };

/**
 * Llama-3.2-1B's shape (hidden 2048, 16 layers, 32 query / 8 KV heads of 64, FFN 8192, tied
 * embedding, RoPE base 500000) with SmolLM2's real tokenizer (vocabulary 49152 instead of 128256).
 */
export const LLAMA_1B: QuantizedBenchShape = { name: 'llama-3.2-1b-shape', dim: 2048, hiddenDim: 8192, nLayers: 16, nHeads: 32, nKvHeads: 8, headDim: 64, ropeTheta: 500000, contextLength: 8192 };
/** SmolLM2-135M's shape (576 wide: llama-quantize's Q4_K_M falls back to other types for many rows). */
export const SMOLLM_135M: QuantizedBenchShape = { name: 'smollm2-135m-shape', dim: 576, hiddenDim: 1536, nLayers: 30, nHeads: 9, nKvHeads: 3, headDim: 64, ropeTheta: 100000, contextLength: 8192 };
export const GPU_BENCH_PRESETS = ['Q4_0', 'Q4_K_M'] as const;

export function gpuBenchModelPath(shape: QuantizedBenchShape, preset: (typeof GPU_BENCH_PRESETS)[number], dir = join(ROOT, 'bench', '.models')): string {
  return join(dir, `${shape.name}-${preset.toLowerCase()}-llama-quantize.gguf`);
}

/**
 * Seeded random Q8_0 blocks for a rows x cols matrix whose values have a spread of ~1/sqrt(cols):
 * random int8 quants (every byte pattern) and per-block float16 scales drawn from a small table.
 * Fast enough for a billion weights in a few seconds (xorshift words, no per-value floats).
 */
function randomQ8_0(rows: number, cols: number, seed: number): Uint8Array {
  const bytes = byteSize('Q8_0', rows * cols);
  const words = new Uint32Array(Math.ceil(bytes / 4));
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s;
  }
  const out = new Uint8Array(words.buffer, 0, bytes);
  // uniform int8 has a spread of ~73.9: d scales it to 1/sqrt(cols), within ±25 % per block
  const d = 1 / (73.9 * Math.sqrt(cols));
  const table = Array.from({ length: 256 }, (_, i) => f32ToF16(d * (0.75 + (0.5 * i) / 255)));
  for (let b = 0; b < bytes; b += 34) {
    const h = table[out[b + 2]!]!;
    out[b] = h & 0xff;
    out[b + 1] = h >> 8;
  }
  return out;
}

/**
 * The GPU benchmark's models of one shape, Q4_0 and Q4_K_M, as llama.cpp's llama-quantize writes
 * them (its own choice of type per tensor: the tied embedding in Q6_K, ...), requantised from a
 * seeded random Q8_0 file written here (removed after), with every core. Measured: the 1B shape's
 * Q8_0 source (1.1 GB) in 34 s, its Q4_0 in 16 s and Q4_K_M in 492 s on 2 busy cores (README).
 */
export function ensureGpuBenchModels(m: QuantizedBenchShape = LLAMA_1B, dir = join(ROOT, 'bench', '.models'), log: (line: string) => void = () => {}): string[] {
  const paths = GPU_BENCH_PRESETS.map((p) => gpuBenchModelPath(m, p, dir));
  if (paths.every((p) => existsSync(p))) return paths;
  mkdirSync(dir, { recursive: true });
  const tok = tokenizerMeta();
  const src = join(dir, `${m.name}-q8_0.tmp.gguf`);
  const t0 = performance.now();
  if (!existsSync(src)) {
    const tensors: GGUFTensorInput[] = [];
    let seed = 1000;
    const matrix = (name: string, rows: number, cols: number) => tensors.push({ name, dims: [cols, rows], dtype: 'Q8_0', bytes: randomQ8_0(rows, cols, seed++) });
    const ones = (name: string, n: number) => tensors.push({ name, dims: [n], dtype: 'F32', bytes: new Uint8Array(new Float32Array(n).fill(1).buffer) });
    matrix('token_embd.weight', tok.vocab, m.dim);
    for (let l = 0; l < m.nLayers; l++) {
      const p = `blk.${l}.`;
      ones(p + 'attn_norm.weight', m.dim);
      matrix(p + 'attn_q.weight', m.nHeads * m.headDim, m.dim);
      matrix(p + 'attn_k.weight', m.nKvHeads * m.headDim, m.dim);
      matrix(p + 'attn_v.weight', m.nKvHeads * m.headDim, m.dim);
      matrix(p + 'attn_output.weight', m.dim, m.nHeads * m.headDim);
      ones(p + 'ffn_norm.weight', m.dim);
      matrix(p + 'ffn_gate.weight', m.hiddenDim, m.dim);
      matrix(p + 'ffn_up.weight', m.hiddenDim, m.dim);
      matrix(p + 'ffn_down.weight', m.dim, m.hiddenDim);
    }
    ones('output_norm.weight', m.dim);
    const meta: Record<string, GGUFTypedValue> = {
      'general.architecture': { type: 'string', value: 'llama' },
      'general.name': { type: 'string', value: m.name },
      'general.file_type': { type: 'u32', value: 7 }, // MOSTLY_Q8_0
      'llama.context_length': { type: 'u32', value: m.contextLength },
      'llama.embedding_length': { type: 'u32', value: m.dim },
      'llama.feed_forward_length': { type: 'u32', value: m.hiddenDim },
      'llama.block_count': { type: 'u32', value: m.nLayers },
      'llama.attention.head_count': { type: 'u32', value: m.nHeads },
      'llama.attention.head_count_kv': { type: 'u32', value: m.nKvHeads },
      'llama.attention.key_length': { type: 'u32', value: m.headDim },
      'llama.attention.value_length': { type: 'u32', value: m.headDim },
      'llama.attention.layer_norm_rms_epsilon': { type: 'f32', value: 1e-5 },
      'llama.rope.freq_base': { type: 'f32', value: m.ropeTheta },
      'llama.rope.dimension_count': { type: 'u32', value: m.headDim },
      'llama.vocab_size': { type: 'u32', value: tok.vocab },
      ...tok.meta,
    };
    writeFileSync(`${src}.part`, writeGGUF(meta, tensors));
    renameSync(`${src}.part`, src);
    log(`${m.name}: random Q8_0 source written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const quantize = join(llamaTools(), 'bin', 'llama-quantize');
  for (const [i, preset] of GPU_BENCH_PRESETS.entries()) {
    if (existsSync(paths[i]!)) continue;
    const q0 = performance.now();
    execFileSync(quantize, ['--allow-requantize', src, `${paths[i]}.tmp`, preset, String(cpus().length)], { stdio: 'ignore' });
    renameSync(`${paths[i]}.tmp`, paths[i]!);
    log(`${m.name}: ${preset} by llama-quantize in ${((performance.now() - q0) / 1000).toFixed(1)} s`);
  }
  rmSync(src);
  return paths;
}

if (process.argv[1] && basename(process.argv[1]).startsWith('make-bench-models')) {
  const gpu = () => [...ensureGpuBenchModels(LLAMA_1B, undefined, console.error), ...ensureGpuBenchModels(SMOLLM_135M, undefined, console.error)];
  console.log((process.argv.includes('--gpu') ? gpu() : ensureBenchModels()).join('\n'));
}
