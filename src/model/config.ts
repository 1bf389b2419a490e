/**
 * Architecture-independent hyper-parameters of a decoder-only transformer, read from GGUF metadata
 * or a Hugging Face config.json. Every backend runs from this one description.
 */
import type { GGUFValue } from '../formats/gguf.js';

export type Architecture = 'llama' | 'mistral' | 'qwen2' | 'qwen3';

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
  qkNorm: boolean; // Qwen3: RMSNorm over each q/k head before RoPE
  tiedEmbeddings: boolean;
}

const HF_ARCHS: Record<string, Architecture> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
};

export class UnsupportedModelError extends Error {}

function num(v: GGUFValue | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/** Reads the config from GGUF metadata (`{arch}.*` keys) and the tensor names present. */
export function configFromGGUF(meta: Map<string, GGUFValue>, tensorNames: Set<string>): ModelConfig {
  const ggufArch = String(meta.get('general.architecture') ?? '');
  if (!['llama', 'mistral', 'qwen2', 'qwen3'].includes(ggufArch)) throw new UnsupportedModelError(`GGUF architecture "${ggufArch}" is not supported (llama, mistral, qwen2, qwen3 are)`);
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
  return {
    arch,
    dim,
    hiddenDim: req('feed_forward_length'),
    nLayers: req('block_count'),
    nHeads,
    nKvHeads: get('attention.head_count_kv') ?? nHeads,
    headDim: get('attention.key_length') ?? dim / nHeads,
    vocabSize,
    contextLength: get('context_length') ?? 2048,
    normEps: get('attention.layer_norm_rms_epsilon') ?? 1e-5,
    ropeTheta: get('rope.freq_base') ?? 10000,
    // llama.cpp: LLM_ARCH_LLAMA uses LLAMA_ROPE_TYPE_NORM (adjacent pairs); Qwen uses NEOX.
    ropeLayout: arch === 'llama' || arch === 'mistral' ? 'interleaved' : 'neox',
    qkvBias: tensorNames.has('blk.0.attn_q.bias'),
    qkNorm: tensorNames.has('blk.0.attn_q_norm.weight'),
    tiedEmbeddings: !tensorNames.has('output.weight'),
  };
}

/** Reads a Hugging Face config.json. */
export function configFromHF(cfg: Record<string, unknown>): ModelConfig {
  const archName = (cfg.architectures as string[] | undefined)?.[0] ?? '';
  const arch = HF_ARCHS[archName] ?? (cfg.model_type && (Object.values(HF_ARCHS) as string[]).includes(String(cfg.model_type)) ? (cfg.model_type as Architecture) : undefined);
  if (!arch) throw new UnsupportedModelError(`model architecture "${archName || cfg.model_type}" is not supported (${Object.keys(HF_ARCHS).join(', ')} are)`);
  const n = (k: string): number | undefined => (typeof cfg[k] === 'number' ? (cfg[k] as number) : undefined);
  const need = (k: string): number => {
    const v = n(k);
    if (v === undefined) throw new UnsupportedModelError(`config.json has no ${k}`);
    return v;
  };
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
    qkNorm: arch === 'qwen3',
    tiedEmbeddings: cfg.tie_word_embeddings === true,
  };
  const scaling = cfg.rope_scaling as Record<string, unknown> | null | undefined;
  if (scaling) {
    const type = scaling.rope_type ?? scaling.type;
    if (type === 'llama3') config.ropeFreqFactors = llama3FreqFactors(headDim, config.ropeTheta, scaling);
    else if (type !== 'default') throw new UnsupportedModelError(`rope_scaling type "${String(type)}" is not supported (llama3 is)`);
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

/** Maps a Hugging Face tensor name to the GGUF name used everywhere inside webinfer. */
export function ggufNameFromHF(name: string): string | undefined {
  const fixed: Record<string, string> = {
    'model.embed_tokens.weight': 'token_embd.weight',
    'model.norm.weight': 'output_norm.weight',
    'lm_head.weight': 'output.weight',
  };
  if (fixed[name]) return fixed[name];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) return undefined;
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
    'post_attention_layernorm.weight': 'ffn_norm.weight',
    'mlp.gate_proj.weight': 'ffn_gate.weight',
    'mlp.up_proj.weight': 'ffn_up.weight',
    'mlp.down_proj.weight': 'ffn_down.weight',
  };
  const p = parts[m[2]!];
  return p ? `blk.${m[1]}.${p}` : undefined;
}
