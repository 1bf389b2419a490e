/**
 * Architecture-independent hyper-parameters of a decoder-only transformer, read from GGUF metadata
 * or a Hugging Face config.json. Every backend runs from this one description.
 */
import type { GGUFValue } from '../formats/gguf.js';

export type Architecture = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'gemma2' | 'gemma3' | 'phi3';

export const ARCHITECTURES: Architecture[] = ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma2', 'gemma3', 'phi3'];

export interface ModelConfig {
  arch: Architecture;
  dim: number; // residual stream width (hidden_size)
  hiddenDim: number; // feed-forward width (intermediate_size)
  nLayers: number;
  nHeads: number;
  nKvHeads: number; // < nHeads means grouped-query attention
  headDim: number;
  vocabSize: number;
  contextLength: number; // positions the model was trained for
  normEps: number;
  ropeTheta: number;
  /**
   * 'interleaved' rotates pairs (2i, 2i+1) of each head (llama2.c, GGUF llama); 'neox' rotates
   * (i, i + headDim/2) (Hugging Face rotate_half, GGUF qwen2/qwen3). Weights are never permuted at
   * load time: the kernel follows the file's layout.
   */
  ropeLayout: 'interleaved' | 'neox';
  /** Per-frequency divisors (headDim/2), e.g. Llama 3 scaling; absent means all 1. */
  ropeFreqFactors?: Float32Array;
  qkvBias: boolean; // Qwen2
  qkNorm: boolean; // Qwen3, Gemma 3: RMSNorm over each q/k head before RoPE
  tiedEmbeddings: boolean;
  // ---- what some architectures add (absent: as Llama) ----
  /** Gemma: the token embedding is multiplied by this (sqrt(dim)) on the way in. */
  embedScale?: number;
  /** Scale of q·k; absent: 1 / sqrt(headDim). Gemma: query_pre_attn_scalar^-0.5. */
  queryScale?: number;
  /** Gemma 2: attention scores become cap * tanh(score / cap). */
  attnSoftcap?: number;
  /** Gemma 2: logits become cap * tanh(logit / cap). */
  finalSoftcap?: number;
  /** Gemma 2/3: each block's output is RMS-normed (post_attention_norm, post_ffw_norm) before the residual add. */
  postNorms?: boolean;
  /** The gated FFN's activation: SiLU (absent) or GELU with the tanh approximation (Gemma). */
  ffnAct?: 'silu' | 'gelu';
  /** Dimensions of each head that RoPE rotates (Phi-4-mini: 3/4); absent: all, the rest pass through. */
  ropeDim?: number;
  /** Phi-3 LongRoPE: cos and sin are multiplied by this attention factor. */
  ropeAttnFactor?: number;
  /** Phi-3 LongRoPE: per-frequency divisors, the long ones when the KV cache holds more than originalContext positions (as llama.cpp picks). */
  longRope?: { short: Float32Array; long: Float32Array; originalContext: number };
  /** Sliding-window attention: a query sees the last `slidingWindow` positions, itself included ... */
  slidingWindow?: number;
  /** ... in the layers l with l % swaPattern < swaPattern - 1 (Gemma 2: 2, Gemma 3: 6); absent: every layer. */
  swaPattern?: number;
  /** RoPE base of the sliding-window layers when it differs (Gemma 3: 10000, unscaled). */
  localRopeTheta?: number;
}

/** True for the layers that attend through the sliding window. */
export function isLocalLayer(c: ModelConfig, layer: number): boolean {
  if (!c.slidingWindow) return false;
  const n = c.swaPattern ?? 1;
  return n <= 1 || layer % n < n - 1;
}

/** Positions layer `layer` attends before the query's own: all (Infinity) or the window. */
export function attentionWindow(c: ModelConfig, layer: number): number {
  return isLocalLayer(c, layer) ? c.slidingWindow! : Infinity;
}

/** RoPE of one layer: its rotated dimensions, inverse frequencies and cos/sin factor. */
export interface LayerRope {
  dim: number;
  /** inverse frequency of pair i (dim / 2 of them). */
  freqs: Float64Array;
  attnFactor: number;
}

/** The RoPE of `layer` for a KV cache of `maxSeq` positions (LongRoPE picks its factors by that). */
export function layerRope(c: ModelConfig, layer: number, maxSeq: number): LayerRope {
  const dim = c.ropeDim ?? c.headDim;
  const local = isLocalLayer(c, layer) && c.localRopeTheta !== undefined;
  const theta = local ? c.localRopeTheta! : c.ropeTheta;
  const factors = local ? undefined : c.longRope ? (maxSeq > c.longRope.originalContext ? c.longRope.long : c.longRope.short) : c.ropeFreqFactors;
  const freqs = new Float64Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) freqs[i] = 1 / (theta ** ((2 * i) / dim) * (factors?.[i] ?? 1));
  return { dim, freqs, attnFactor: c.ropeAttnFactor ?? 1 };
}

const HF_ARCHS: Record<string, Architecture> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
  Gemma2ForCausalLM: 'gemma2',
  Gemma3ForCausalLM: 'gemma3',
  Phi3ForCausalLM: 'phi3',
};
const HF_MODEL_TYPES: Record<string, Architecture> = { gemma3_text: 'gemma3' };

export class UnsupportedModelError extends Error {}

function num(v: GGUFValue | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/** Reads the config from GGUF metadata (`{arch}.*` keys) and the tensor names present. */
export function configFromGGUF(meta: Map<string, GGUFValue>, tensorNames: Set<string>): ModelConfig {
  const ggufArch = String(meta.get('general.architecture') ?? '');
  if (!(ARCHITECTURES as string[]).includes(ggufArch)) throw new UnsupportedModelError(`GGUF architecture "${ggufArch}" is not supported (${ARCHITECTURES.join(', ')} are)`);
  const arch = ggufArch as Architecture;
  const get = (k: string) => num(meta.get(`${ggufArch}.${k}`));
  const req = (k: string) => {
    const v = get(k);
    if (v === undefined) throw new UnsupportedModelError(`GGUF metadata ${ggufArch}.${k} is missing`);
    return v;
  };
  const dim = req('embedding_length');
  const nHeads = req('attention.head_count');
  const tokens = meta.get('tokenizer.ggml.tokens');
  const vocabSize = get('vocab_size') ?? (Array.isArray(tokens) ? tokens.length : undefined);
  if (!vocabSize) throw new UnsupportedModelError('GGUF vocabulary size is unknown');
  const headDim = get('attention.key_length') ?? dim / nHeads;
  const nLayers = req('block_count');
  const config: ModelConfig = {
    arch,
    dim,
    hiddenDim: req('feed_forward_length'),
    nLayers,
    nHeads,
    nKvHeads: get('attention.head_count_kv') ?? nHeads,
    headDim,
    vocabSize,
    contextLength: get('context_length') ?? 2048,
    normEps: get('attention.layer_norm_rms_epsilon') ?? 1e-5,
    ropeTheta: get('rope.freq_base') ?? 10000,
    // llama.cpp: LLM_ARCH_LLAMA uses LLAMA_ROPE_TYPE_NORM (adjacent pairs); Qwen, Gemma, Phi-3 use NEOX.
    ropeLayout: arch === 'llama' || arch === 'mistral' ? 'interleaved' : 'neox',
    qkvBias: tensorNames.has('blk.0.attn_q.bias'),
    qkNorm: tensorNames.has('blk.0.attn_q_norm.weight'),
    tiedEmbeddings: !tensorNames.has('output.weight'),
  };
  const ropeDim = get('rope.dimension_count');
  if (ropeDim !== undefined && ropeDim !== headDim) config.ropeDim = ropeDim;
  const scaling = meta.get(`${ggufArch}.rope.scaling.type`);
  const factor = get('rope.scaling.factor');
  if (scaling === 'linear' && factor && factor !== 1) config.ropeFreqFactors = new Float32Array(headDim / 2).fill(factor);
  if (arch === 'gemma2' || arch === 'gemma3') {
    // As llama.cpp (src/models/gemma2.cpp, gemma3.cpp): the query scale follows gemma_pytorch,
    // 1/sqrt(dim / heads) for the 27B models (46 and 62 layers), else 1/sqrt(head_dim);
    // GGUF norm weights already hold 1 + w.
    config.embedScale = Math.sqrt(dim);
    config.queryScale = 1 / Math.sqrt(nLayers === (arch === 'gemma2' ? 46 : 62) ? dim / nHeads : headDim);
    config.postNorms = true;
    config.ffnAct = 'gelu';
    config.finalSoftcap = get('final_logit_softcapping') || undefined;
    if (arch === 'gemma2') {
      config.attnSoftcap = get('attn_logit_softcapping') || undefined;
      config.slidingWindow = get('attention.sliding_window') ?? 4096;
      config.swaPattern = get('attention.sliding_window_pattern') ?? 2;
    } else {
      config.slidingWindow = get('attention.sliding_window') || undefined;
      config.swaPattern = get('attention.sliding_window_pattern') ?? 6;
      config.localRopeTheta = get('rope.freq_base_swa') ?? 10000;
    }
  }
  if (arch === 'phi3') {
    // llama.cpp disables Phi-3's sliding window (src/models/phi3.cpp); so do we, to answer as it does.
    config.ropeAttnFactor = get('rope.scaling.attn_factor');
    const original = get('rope.scaling.original_context_length');
    if (original !== undefined) config.longRope = { short: new Float32Array(0), long: new Float32Array(0), originalContext: original };
  }
  return config;
}

/**
 * GGUF tensors that are config rather than weights: RoPE factors. Returns true when `name` was
 * one of them (and its values went into `config`).
 */
export function ropeTensor(config: ModelConfig, name: string, values: Float32Array): boolean {
  if (name === 'rope_freqs.weight') config.ropeFreqFactors = values;
  else if (name === 'rope_factors_long.weight' || name === 'rope_factors_short.weight') {
    config.longRope ??= { short: new Float32Array(0), long: new Float32Array(0), originalContext: config.contextLength };
    config.longRope[name === 'rope_factors_long.weight' ? 'long' : 'short'] = values;
  } else return false;
  return true;
}

/** Reads a Hugging Face config.json. */
export function configFromHF(cfg: Record<string, unknown>): ModelConfig {
  const archName = (cfg.architectures as string[] | undefined)?.[0] ?? '';
  const type = String(cfg.model_type ?? '');
  const arch = HF_ARCHS[archName] ?? HF_MODEL_TYPES[type] ?? ((ARCHITECTURES as string[]).includes(type) ? (type as Architecture) : undefined);
  if (!arch) throw new UnsupportedModelError(`model architecture "${archName || cfg.model_type}" is not supported (${Object.keys(HF_ARCHS).join(', ')} are)`);
  const n = (k: string): number | undefined => (typeof cfg[k] === 'number' ? (cfg[k] as number) : undefined);
  const need = (k: string): number => {
    const v = n(k);
    if (v === undefined) throw new UnsupportedModelError(`config.json has no ${k}`);
    return v;
  };
  const gemma = arch === 'gemma2' || arch === 'gemma3';
  const dim = need('hidden_size');
  const nHeads = need('num_attention_heads');
  const headDim = n('head_dim') ?? dim / nHeads;
  const config: ModelConfig = {
    arch,
    dim,
    hiddenDim: need('intermediate_size'),
    nLayers: need('num_hidden_layers'),
    nHeads,
    nKvHeads: n('num_key_value_heads') ?? nHeads,
    headDim,
    vocabSize: need('vocab_size'),
    contextLength: n('max_position_embeddings') ?? 2048,
    normEps: n('rms_norm_eps') ?? 1e-6,
    ropeTheta: n('rope_theta') ?? 10000,
    ropeLayout: 'neox',
    qkvBias: arch === 'qwen2' || cfg.attention_bias === true,
    qkNorm: arch === 'qwen3' || arch === 'gemma3',
    // Gemma ties its embeddings unless the config says otherwise.
    tiedEmbeddings: cfg.tie_word_embeddings === true || (gemma && cfg.tie_word_embeddings === undefined),
  };
  if (gemma) {
    config.embedScale = Math.sqrt(dim);
    config.queryScale = 1 / Math.sqrt(n('query_pre_attn_scalar') ?? headDim);
    config.postNorms = true;
    config.ffnAct = 'gelu';
    config.attnSoftcap = n('attn_logit_softcapping') || undefined;
    config.finalSoftcap = n('final_logit_softcapping') || undefined;
    config.slidingWindow = n('sliding_window') || undefined;
    config.swaPattern = n('sliding_window_pattern') ?? (arch === 'gemma2' ? 2 : 6);
    if (arch === 'gemma3') config.localRopeTheta = n('rope_local_base_freq') ?? 10000;
  }
  if (arch === 'phi3') {
    const rotary = n('partial_rotary_factor');
    if (rotary !== undefined && rotary !== 1) config.ropeDim = Math.round(headDim * rotary);
    if ((n('sliding_window') ?? Infinity) < config.contextLength) config.slidingWindow = n('sliding_window');
  }
  const scaling = cfg.rope_scaling as Record<string, unknown> | null | undefined;
  if (scaling) {
    const type = scaling.rope_type ?? scaling.type;
    if (type === 'llama3') config.ropeFreqFactors = llama3FreqFactors(headDim, config.ropeTheta, scaling);
    else if (type === 'linear') config.ropeFreqFactors = new Float32Array(headDim / 2).fill(Number(scaling.factor ?? 1));
    else if (type === 'longrope') {
      // transformers' _compute_longrope_parameters: the attention factor from the context extension.
      const original = n('original_max_position_embeddings') ?? Number(scaling.original_max_position_embeddings ?? config.contextLength);
      const factor = config.contextLength / original;
      config.ropeAttnFactor = typeof scaling.attention_factor === 'number' ? scaling.attention_factor : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
      config.longRope = { short: Float32Array.from(scaling.short_factor as number[]), long: Float32Array.from(scaling.long_factor as number[]), originalContext: original };
    } else if (type !== 'default') throw new UnsupportedModelError(`rope_scaling type "${String(type)}" is not supported (llama3, linear and longrope are)`);
  }
  return config;
}

/** Llama 3.1 frequency-dependent RoPE scaling, as divisors of each inverse frequency. */
export function llama3FreqFactors(headDim: number, theta: number, s: Record<string, unknown>): Float32Array {
  const factor = Number(s.factor ?? 8);
  const low = Number(s.low_freq_factor ?? 1);
  const high = Number(s.high_freq_factor ?? 4);
  const oldCtx = Number(s.original_max_position_embeddings ?? 8192);
  const lowWavelen = oldCtx / low;
  const highWavelen = oldCtx / high;
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) {
    const freq = 1 / theta ** ((2 * i) / headDim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = factor;
    else {
      const smooth = (oldCtx / wavelen - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

/** Maps a Hugging Face tensor name to the GGUF name used everywhere inside webinfer (as llama.cpp's converter names them). */
export function ggufNameFromHF(name: string, arch: Architecture): string | undefined {
  const fixed: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'model.norm.weight': 'output_norm.weight',
    'lm_head.weight': 'output.weight',
  };
  if (fixed[name]) return fixed[name];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) return undefined;
  const gemma = arch === 'gemma2' || arch === 'gemma3';
  const parts: Record<string, string> = {
    'input_layernorm.weight': 'attn_norm.weight',
    'self_attn.q_proj.weight': 'attn_q.weight',
    'self_attn.k_proj.weight': 'attn_k.weight',
    'self_attn.v_proj.weight': 'attn_v.weight',
    'self_attn.o_proj.weight': 'attn_output.weight',
    'self_attn.q_proj.bias': 'attn_q.bias',
    'self_attn.k_proj.bias': 'attn_k.bias',
    'self_attn.v_proj.bias': 'attn_v.bias',
    'self_attn.q_norm.weight': 'attn_q_norm.weight',
    'self_attn.k_norm.weight': 'attn_k_norm.weight',
    // Gemma normalises after attention as well as before the FFN; Llama's "post attention" norm is its FFN norm.
    'post_attention_layernorm.weight': gemma ? 'post_attention_norm.weight' : 'ffn_norm.weight',
    'pre_feedforward_layernorm.weight': 'ffn_norm.weight',
    'post_feedforward_layernorm.weight': 'post_ffw_norm.weight',
    'mlp.gate_proj.weight': 'ffn_gate.weight',
    'mlp.up_proj.weight': 'ffn_up.weight',
    'mlp.down_proj.weight': 'ffn_down.weight',
    // Phi-3: fused as GGUF stores them too (split at load, model/load.ts).
    'self_attn.qkv_proj.weight': 'attn_qkv.weight',
    'mlp.gate_up_proj.weight': 'ffn_up.weight',
  };
  const p = parts[m[2]!];
  return p ? `blk.${m[1]}.${p}` : undefined;
}
