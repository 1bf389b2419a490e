/**
 * CPU reference forward pass, in the spirit of llama2.c's run.c: one readable function, plain
 * loops, every buffer commented with its shape. It is the oracle every other backend is tested
 * against, so clarity wins over speed.
 */
import { attentionWindow, layerRope, type LayerRope, type ModelConfig } from '../../model/config.js';

/** Float32 weights by GGUF tensor name; matrices are row-major (out, in). */
export type Weights = Map<string, Float32Array>;

/** How a matrix's input is rounded to integers: quantizeInput ('pow2') or quantizeInput8 ('int8'). */
export type InputRounding = 'pow2' | 'int8';

/** out[d] = W[d, n] · x[n]  (+ bias[d]) */
export function matmul(out: Float32Array, x: Float32Array, w: Float32Array, n: number, d: number, bias?: Float32Array): void {
  for (let i = 0; i < d; i++) {
    let sum = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) sum += w[row + j]! * x[j]!;
    out[i] = bias ? sum + bias[i]! : sum;
  }
}

/** out = x / rms(x) * weight, over `size` elements starting at `offset`. */
/**
 * x as the wgsl backend's integer kernels see it (shaders/quantize.wgsl; LoadOptions.intActivations):
 * each block of 32 rounded to integers at the power-of-two scale 2^(e - 7), e the exponent of the
 * block's largest |x| (so |integer| <= 256), written back as integer × scale. Dividing by a power
 * of two is exact, so this rounds to the very integers the GPU does. Blocks whose largest |x| is
 * below 2^-100 become zeros, as there.
 */
export function quantizeInput(out: Float32Array, x: Float32Array, n: number): void {
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  for (let b = 0; b < n; b += 32) {
    let m = 0;
    for (let j = b; j < b + 32; j++) m = Math.max(m, Math.abs(x[j]!));
    f[0] = m;
    const e = (bits[0]! >>> 23) - 127;
    const scale = 2 ** (e - 7);
    for (let j = b; j < b + 32; j++) out[j] = e >= -100 ? roundHalfEven(x[j]! / scale) * scale : 0;
  }
}

/**
 * x as the wgsl backend's int8 kernels for Q8_0 see it (shaders/quantize.wgsl, quantize8): each
 * block of 32 rounded to integers round(x * (127 / m)), m the block's largest |x|, at the scale
 * m / 127, as llama.cpp rounds activations for Q8_0 weights. The divisions and the product are
 * float32 operations there; float64 results rounded to float32 are the same numbers (a float64
 * quotient or product of float32 values rounds to the correctly rounded float32).
 */
export function quantizeInput8(out: Float32Array, x: Float32Array, n: number): void {
  for (let b = 0; b < n; b += 32) {
    let m = 0;
    for (let j = b; j < b + 32; j++) m = Math.max(m, Math.abs(x[j]!));
    const live = m >= 2 ** -100;
    const inv = Math.fround(127 / m);
    const scale = Math.fround(m / 127);
    for (let j = b; j < b + 32; j++) out[j] = live ? roundHalfEven(Math.fround(x[j]! * inv)) * scale : 0;
  }
}

/** WGSL's round(): halfway cases go to the even integer. */
function roundHalfEven(v: number): number {
  const r = Math.round(v); // halfway cases up
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function rmsnorm(out: Float32Array, x: Float32Array, weight: Float32Array, size: number, eps: number, offset = 0): void {
  let ss = 0;
  for (let j = 0; j < size; j++) ss += x[offset + j]! * x[offset + j]!;
  const scale = 1 / Math.sqrt(ss / size + eps);
  for (let j = 0; j < size; j++) out[offset + j] = weight[j]! * (scale * x[offset + j]!);
}

/** In-place softmax over x[0..size). */
export function softmax(x: Float32Array, size: number): void {
  let max = -Infinity;
  for (let i = 0; i < size; i++) if (x[i]! > max) max = x[i]!;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    x[i] = Math.exp(x[i]! - max);
    sum += x[i]!;
  }
  for (let i = 0; i < size; i++) x[i] = x[i]! / sum;
}

/**
 * The cos and sin (times the attention factor) of each pair's angle at position `pos`, into
 * out[at ..]: cos i at 2i, sin i at 2i + 1. Every head of every layer that shares `r` rotates by
 * these, so a step computes them once per row (the wasm backend) or per call (rope).
 */
export function ropeAngles(pos: number, r: LayerRope, out: Float64Array = new Float64Array(r.dim), at = 0): Float64Array {
  for (let i = 0; i < r.dim / 2; i++) {
    const angle = pos * r.freqs[i]!;
    out[at + 2 * i] = Math.cos(angle) * r.attnFactor;
    out[at + 2 * i + 1] = Math.sin(angle) * r.attnFactor;
  }
  return out;
}

/**
 * Rotates every head of `vec` (nHeads × headDim) by the angles at angles[at ..] (ropeAngles): the
 * first r.dim dimensions of each head, in the config's pair layout; the rest pass through.
 */
export function rotate(vec: Float32Array, nHeads: number, c: Pick<ModelConfig, 'headDim' | 'ropeLayout'>, r: LayerRope, angles: Float64Array, at = 0): void {
  const half = r.dim / 2;
  const interleaved = c.ropeLayout === 'interleaved';
  for (let i = 0; i < half; i++) {
    const cos = angles[at + 2 * i]!;
    const sin = angles[at + 2 * i + 1]!;
    for (let h = 0; h < nHeads; h++) {
      // interleaved: pairs (2i, 2i+1); neox: pairs (i, i + dim/2)
      const a = interleaved ? h * c.headDim + 2 * i : h * c.headDim + i;
      const b = interleaved ? a + 1 : a + half;
      const v0 = vec[a]!;
      const v1 = vec[b]!;
      vec[a] = v0 * cos - v1 * sin;
      vec[b] = v0 * sin + v1 * cos;
    }
  }
}

/** Rotates every head of `vec` (nHeads × headDim) by position `pos` (rotate by ropeAngles). */
export function rope(vec: Float32Array, nHeads: number, pos: number, c: Pick<ModelConfig, 'headDim' | 'ropeLayout'>, r: LayerRope): void {
  rotate(vec, nHeads, c, r, ropeAngles(pos, r));
}

/** GELU with the tanh approximation (Gemma's gelu_pytorch_tanh, ggml_gelu). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

/** cap * tanh(x / cap): Gemma 2's soft-capping of scores and logits. */
export function softcap(x: number, cap: number | undefined): number {
  return cap ? cap * Math.tanh(x / cap) : x;
}

export class CpuTransformer {
  private readonly c: ModelConfig;
  // activations for the current position
  private readonly x: Float32Array; // (dim) residual stream
  private readonly xb: Float32Array; // (dim) normed input / attention output
  private readonly xb2: Float32Array; // (dim)
  private readonly q: Float32Array; // (nHeads * headDim)
  private readonly k: Float32Array; // (nKvHeads * headDim)
  private readonly v: Float32Array; // (nKvHeads * headDim)
  private readonly att: Float32Array; // (nHeads * headDim) concatenated head outputs
  private readonly scores: Float32Array; // (maxSeqLen) attention scores of one head
  private readonly hb: Float32Array; // (hiddenDim) gate
  private readonly hb2: Float32Array; // (hiddenDim) up
  private readonly logits: Float32Array; // (vocabSize)
  private readonly xq: Float32Array; // (max(dim, qDim, hiddenDim)) a matmul's input as integers × scale (intInputs)
  // KV cache, paged: position t of a sequence is row blocks[t / blockSize] * blockSize + t % blockSize
  private readonly keyCache: Float32Array[]; // nLayers × (cacheRows, nKvHeads * headDim)
  private readonly valueCache: Float32Array[]; // nLayers × (cacheRows, nKvHeads * headDim)
  private readonly ropes: LayerRope[]; // nLayers: each layer's rotation (Gemma 3's local layers differ)

  constructor(
    config: ModelConfig,
    private readonly w: Weights,
    readonly maxSeqLen: number,
    /** Matrices whose input is rounded as the integer kernels (wgsl, wasm) round it. */
    private readonly intInputs: ReadonlyMap<string, InputRounding> = new Map(),
    /** Positions the KV cache holds, all sequences together (a multiple of the block size). */
    cacheRows = maxSeqLen,
    private readonly blockSize = 16,
  ) {
    this.c = config;
    const kvDim = config.nKvHeads * config.headDim;
    const qDim = config.nHeads * config.headDim;
    this.x = new Float32Array(config.dim);
    this.xb = new Float32Array(Math.max(config.dim, qDim));
    this.xb2 = new Float32Array(config.dim);
    this.q = new Float32Array(qDim);
    this.k = new Float32Array(kvDim);
    this.v = new Float32Array(kvDim);
    this.att = new Float32Array(qDim);
    this.scores = new Float32Array(maxSeqLen);
    this.hb = new Float32Array(config.hiddenDim);
    this.hb2 = new Float32Array(config.hiddenDim);
    this.logits = new Float32Array(config.vocabSize);
    this.xq = new Float32Array(Math.max(config.dim, qDim, config.hiddenDim));
    this.keyCache = Array.from({ length: config.nLayers }, () => new Float32Array(cacheRows * kvDim));
    this.valueCache = Array.from({ length: config.nLayers }, () => new Float32Array(cacheRows * kvDim));
    this.ropes = Array.from({ length: config.nLayers }, (_, l) => layerRope(config, l, maxSeqLen));
  }

  private weight(name: string): Float32Array {
    const t = this.w.get(name);
    if (!t) throw new Error(`missing weight ${name}`);
    return t;
  }

  /** out (d) = W (d, n) · x (n) (+ bias) for the weight `name`. */
  private matmul(out: Float32Array, x: Float32Array, name: string, n: number, d: number, bias?: Float32Array): void {
    const rounding = this.intInputs.get(name);
    if (rounding) {
      (rounding === 'int8' ? quantizeInput8 : quantizeInput)(this.xq, x, n);
      x = this.xq;
    }
    matmul(out, x, this.weight(name), n, d, bias);
  }

  /** Copies every layer's keys and values of block `src` into block `dst`. */
  copyBlock(src: number, dst: number): void {
    const n = this.blockSize * this.c.nKvHeads * this.c.headDim;
    for (const cache of [...this.keyCache, ...this.valueCache]) cache.copyWithin(dst * n, src * n, (src + 1) * n);
  }

  /**
   * One token at position `pos` of the sequence whose KV blocks are `blocks` (default: blocks
   * 0, 1, 2, …, the cache as one sequence); returns logits (vocabSize), valid until the next call.
   */
  forward(token: number, pos: number, blocks?: ArrayLike<number>): Float32Array {
    const c = this.c;
    const { x, xb, xb2, q, k, v, att, scores, hb, hb2 } = this;
    const kvDim = c.nKvHeads * c.headDim;
    const qDim = c.nHeads * c.headDim;
    const groupSize = c.nHeads / c.nKvHeads; // query heads sharing one kv head

    const bs = this.blockSize;
    // The cache row of position t.
    const row = blocks ? (t: number) => blocks[Math.floor(t / bs)]! * bs + (t % bs) : (t: number) => t;
    if (pos >= this.maxSeqLen) throw new RangeError(`position ${pos} is beyond the context (${this.maxSeqLen})`);
    if (token < 0 || token >= c.vocabSize) throw new RangeError(`token id ${token} is outside the vocabulary (0..${c.vocabSize - 1})`);
    x.set(this.weight('token_embd.weight').subarray(token * c.dim, (token + 1) * c.dim));
    if (c.embedScale) for (let i = 0; i < c.dim; i++) x[i] = x[i]! * c.embedScale;

    for (let l = 0; l < c.nLayers; l++) {
      const p = `blk.${l}.`;
      // ---- attention ----
      rmsnorm(xb, x, this.weight(p + 'attn_norm.weight'), c.dim, c.normEps);
      this.matmul(q, xb, p + 'attn_q.weight', c.dim, qDim, this.w.get(p + 'attn_q.bias'));
      this.matmul(k, xb, p + 'attn_k.weight', c.dim, kvDim, this.w.get(p + 'attn_k.bias'));
      this.matmul(v, xb, p + 'attn_v.weight', c.dim, kvDim, this.w.get(p + 'attn_v.bias'));
      if (c.qkNorm) {
        for (let h = 0; h < c.nHeads; h++) rmsnorm(q, q, this.weight(p + 'attn_q_norm.weight'), c.headDim, c.normEps, h * c.headDim);
        for (let h = 0; h < c.nKvHeads; h++) rmsnorm(k, k, this.weight(p + 'attn_k_norm.weight'), c.headDim, c.normEps, h * c.headDim);
      }
      rope(q, c.nHeads, pos, c, this.ropes[l]!);
      rope(k, c.nKvHeads, pos, c, this.ropes[l]!);
      this.keyCache[l]!.set(k, row(pos) * kvDim);
      this.valueCache[l]!.set(v, row(pos) * kvDim);

      const kc = this.keyCache[l]!;
      const vc = this.valueCache[l]!;
      const scale = c.queryScale ?? 1 / Math.sqrt(c.headDim);
      // positions first .. pos: all of them, or the last `window` (sliding-window layers)
      const first = Math.max(0, pos - attentionWindow(c, l) + 1);
      const n = pos + 1 - first;
      for (let h = 0; h < c.nHeads; h++) {
        const qo = h * c.headDim;
        const kvo = Math.floor(h / groupSize) * c.headDim;
        for (let t = first; t <= pos; t++) {
          let s = 0;
          const at = row(t) * kvDim + kvo;
          for (let i = 0; i < c.headDim; i++) s += q[qo + i]! * kc[at + i]!;
          scores[t - first] = softcap(s * scale, c.attnSoftcap);
        }
        softmax(scores, n);
        for (let i = 0; i < c.headDim; i++) {
          let acc = 0;
          for (let t = first; t <= pos; t++) acc += scores[t - first]! * vc[row(t) * kvDim + kvo + i]!;
          att[qo + i] = acc;
        }
      }
      this.matmul(xb2, att, p + 'attn_output.weight', qDim, c.dim);
      if (c.postNorms) rmsnorm(xb2, xb2, this.weight(p + 'post_attention_norm.weight'), c.dim, c.normEps);
      for (let i = 0; i < c.dim; i++) x[i] = x[i]! + xb2[i]!;

      // ---- gated feed-forward: down(act(gate x) * up x), act SiLU or GELU ----
      rmsnorm(xb, x, this.weight(p + 'ffn_norm.weight'), c.dim, c.normEps);
      this.matmul(hb, xb, p + 'ffn_gate.weight', c.dim, c.hiddenDim);
      this.matmul(hb2, xb, p + 'ffn_up.weight', c.dim, c.hiddenDim);
      for (let i = 0; i < c.hiddenDim; i++) {
        const g = hb[i]!;
        hb[i] = (c.ffnAct === 'gelu' ? gelu(g) : g / (1 + Math.exp(-g))) * hb2[i]!;
      }
      this.matmul(xb2, hb, p + 'ffn_down.weight', c.hiddenDim, c.dim);
      if (c.postNorms) rmsnorm(xb2, xb2, this.weight(p + 'post_ffw_norm.weight'), c.dim, c.normEps);
      for (let i = 0; i < c.dim; i++) x[i] = x[i]! + xb2[i]!;
    }

    rmsnorm(x, x, this.weight('output_norm.weight'), c.dim, c.normEps);
    this.matmul(this.logits, x, this.w.has('output.weight') ? 'output.weight' : 'token_embd.weight', c.dim, c.vocabSize);
    if (c.finalSoftcap) for (let i = 0; i < c.vocabSize; i++) this.logits[i] = softcap(this.logits[i]!, c.finalSoftcap);
    return this.logits;
  }
}
