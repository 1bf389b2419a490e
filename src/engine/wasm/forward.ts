/**
 * The wasm backend's forward pass: the CPU reference's (../cpu/forward.ts), step for step, for a
 * chunk of T consecutive tokens at once, with matrices, attention and the gated activation in
 * WebAssembly. Weights stay in their stored type in the kernels' memory; norms and RoPE, a few
 * thousand values per token, run in TypeScript on views of that memory with the reference's own
 * functions.
 */
import { toFloat32, type DType } from '../../formats/dtypes.js';
import { attentionWindow, layerRope, type LayerRope, type ModelConfig } from '../../model/config.js';
import { rmsnorm, rope, softcap } from '../cpu/forward.js';
import { takesIntInputs, type Input, type Kernels } from './kernels.js';

/** A matrix in the kernels' memory, rows × cols of `dtype`. */
export interface Matrix {
  ptr: number;
  dtype: DType;
  rows: number;
  cols: number;
  bytes: number;
  /** Its bias (Qwen2's q, k, v), float32, found once at load. */
  bias?: Float32Array;
}

/** Tokens per chunk: a prefill reads every matrix once per chunk, and the activations are sized for it. */
export const CHUNK = 32;

const F32 = 4;

export class WasmTransformer {
  private readonly c: ModelConfig;
  private readonly kvDim: number;
  private readonly qDim: number;
  // activations, [CHUNK × width] float32 each, at these pointers in the kernels' memory
  private readonly p: Record<'x' | 'xb' | 'xb2' | 'q' | 'att' | 'hb' | 'hb2' | 'logits' | 'scores', number>;
  private readonly v: Record<'x' | 'xb' | 'xb2' | 'q' | 'hb' | 'hb2' | 'logits', Float32Array>;
  private readonly keyCache: number[]; // nLayers × (maxSeqLen × kvDim) float32
  private readonly valueCache: number[];
  private readonly ropes: LayerRope[];

  constructor(
    config: ModelConfig,
    private readonly k: Kernels,
    private readonly matrices: Map<string, Matrix>,
    /** Norm weights and biases, float32. */
    private readonly small: Map<string, Float32Array>,
    readonly maxSeqLen: number,
  ) {
    this.c = config;
    const c = config;
    this.kvDim = c.nKvHeads * c.headDim;
    this.qDim = c.nHeads * c.headDim;
    const wide = Math.max(c.dim, this.qDim, c.hiddenDim);
    const mem = k.mem;
    const a = (n: number, what: string) => mem.alloc(n * F32, what);
    this.p = {
      x: a(CHUNK * c.dim, 'activations'),
      xb: a(CHUNK * Math.max(c.dim, this.qDim), 'activations'),
      xb2: a(CHUNK * c.dim, 'activations'),
      q: a(CHUNK * this.qDim, 'activations'),
      att: a(CHUNK * this.qDim, 'activations'),
      hb: a(CHUNK * c.hiddenDim, 'activations'),
      hb2: a(CHUNK * c.hiddenDim, 'activations'),
      logits: a(CHUNK * c.vocabSize, 'the logits'),
      scores: a(maxSeqLen, 'attention scores'),
    };
    k.reserveInputs(CHUNK * wide);
    this.keyCache = Array.from({ length: c.nLayers }, () => a(maxSeqLen * this.kvDim, 'the KV cache'));
    this.valueCache = Array.from({ length: c.nLayers }, () => a(maxSeqLen * this.kvDim, 'the KV cache'));
    // Every allocation is done: views made now stay valid.
    const view = (ptr: number, n: number) => mem.f32(ptr, n);
    this.v = {
      x: view(this.p.x, CHUNK * c.dim),
      xb: view(this.p.xb, CHUNK * Math.max(c.dim, this.qDim)),
      xb2: view(this.p.xb2, CHUNK * c.dim),
      q: view(this.p.q, CHUNK * this.qDim),
      hb: view(this.p.hb, CHUNK * c.hiddenDim),
      hb2: view(this.p.hb2, CHUNK * c.hiddenDim),
      logits: view(this.p.logits, CHUNK * c.vocabSize),
    };
    this.ropes = Array.from({ length: c.nLayers }, (_, l) => layerRope(c, l, maxSeqLen));
    for (const [name, m] of matrices) m.bias = small.get(name.replace(/\.weight$/, '.bias'));
  }

  private matrix(name: string): Matrix {
    const m = this.matrices.get(name);
    if (!m) throw new Error(`missing weight ${name}`);
    return m;
  }

  private weight(name: string): Float32Array {
    const t = this.small.get(name);
    if (!t) throw new Error(`missing weight ${name}`);
    return t;
  }

  /** The input x [T × n] for the matrices `names` (rounded if any of them is quantised). */
  private input(x: number, n: number, T: number, ...names: string[]): Input {
    return this.k.input(x, n, T, names.some((name) => takesIntInputs(this.matrix(name).dtype)));
  }

  /** out [T × rows] = W · x (+ bias) for each token. */
  private matmul(out: number, input: Input, name: string): void {
    const m = this.matrix(name);
    this.k.matmul(m.dtype, m.ptr, m.rows, input, out);
    const bias = m.bias;
    if (bias) {
      const o = this.k.mem.f32(out, input.T * m.rows);
      for (let t = 0; t < input.T; t++) for (let i = 0; i < m.rows; i++) o[t * m.rows + i] = o[t * m.rows + i]! + bias[i]!;
    }
  }

  /** The token's embedding row, dequantised from its stored type. */
  private embed(out: Float32Array, token: number): void {
    const e = this.matrix('token_embd.weight');
    const rowBytes = e.bytes / e.rows;
    out.set(toFloat32(e.dtype, this.k.mem.u8(e.ptr + token * rowBytes, rowBytes), e.cols));
  }

  /**
   * Runs tokens at positions pos .. pos + tokens.length - 1 (at most CHUNK), filling the cache;
   * returns the logits of the last token, or of every one with `allLogits` ([T × vocab], valid
   * until the next call).
   */
  forward(tokens: number[], pos: number, allLogits: boolean): Float32Array {
    const c = this.c;
    const T = tokens.length;
    const { kvDim, qDim, p, v } = this;
    const mem = this.k.mem;
    if (T > CHUNK) throw new Error(`at most ${CHUNK} tokens per chunk`);
    if (pos + T > this.maxSeqLen) throw new RangeError(`position ${pos + T - 1} is beyond the cache (${this.maxSeqLen})`);
    for (let t = 0; t < T; t++) {
      const token = tokens[t]!;
      if (!Number.isInteger(token) || token < 0 || token >= c.vocabSize) throw new RangeError(`token id ${token} is outside the vocabulary (0..${c.vocabSize - 1})`);
      const x = v.x.subarray(t * c.dim, (t + 1) * c.dim);
      this.embed(x, token);
      if (c.embedScale) for (let i = 0; i < c.dim; i++) x[i] = x[i]! * c.embedScale;
    }
    const rows = (a: Float32Array, width: number, t: number) => a.subarray(t * width, (t + 1) * width);
    const residual = (from: Float32Array) => {
      for (let i = 0; i < T * c.dim; i++) v.x[i] = v.x[i]! + from[i]!;
    };

    for (let l = 0; l < c.nLayers; l++) {
      const pre = `blk.${l}.`;
      const kc = this.keyCache[l]!;
      const vc = this.valueCache[l]!;
      // ---- attention: k and v go straight into the cache rows pos .. pos + T - 1 ----
      for (let t = 0; t < T; t++) rmsnorm(rows(v.xb, c.dim, t), rows(v.x, c.dim, t), this.weight(pre + 'attn_norm.weight'), c.dim, c.normEps);
      const xin = this.input(p.xb, c.dim, T, pre + 'attn_q.weight', pre + 'attn_k.weight', pre + 'attn_v.weight');
      const kAt = kc + pos * kvDim * F32;
      this.matmul(p.q, xin, pre + 'attn_q.weight');
      this.matmul(kAt, xin, pre + 'attn_k.weight');
      this.matmul(vc + pos * kvDim * F32, xin, pre + 'attn_v.weight');
      const keys = mem.f32(kAt, T * kvDim);
      for (let t = 0; t < T; t++) {
        const q = rows(v.q, qDim, t);
        const k = rows(keys, kvDim, t);
        if (c.qkNorm) {
          for (let h = 0; h < c.nHeads; h++) rmsnorm(q, q, this.weight(pre + 'attn_q_norm.weight'), c.headDim, c.normEps, h * c.headDim);
          for (let h = 0; h < c.nKvHeads; h++) rmsnorm(k, k, this.weight(pre + 'attn_k_norm.weight'), c.headDim, c.normEps, h * c.headDim);
        }
        rope(q, c.nHeads, pos + t, c, this.ropes[l]!);
        rope(k, c.nKvHeads, pos + t, c, this.ropes[l]!);
      }
      const window = attentionWindow(c, l);
      const scale = c.queryScale ?? 1 / Math.sqrt(c.headDim);
      this.k.k.attention(p.q, kc, vc, p.att, p.scores, T, pos, c.nHeads, c.nKvHeads, c.headDim, Number.isFinite(window) ? window : 0x7fffffff, scale, c.attnSoftcap ?? 0);
      this.matmul(p.xb2, this.input(p.att, qDim, T, pre + 'attn_output.weight'), pre + 'attn_output.weight');
      if (c.postNorms) for (let t = 0; t < T; t++) rmsnorm(rows(v.xb2, c.dim, t), rows(v.xb2, c.dim, t), this.weight(pre + 'post_attention_norm.weight'), c.dim, c.normEps);
      residual(v.xb2);

      // ---- gated feed-forward: down(act(gate x) * up x), act SiLU or GELU ----
      for (let t = 0; t < T; t++) rmsnorm(rows(v.xb, c.dim, t), rows(v.x, c.dim, t), this.weight(pre + 'ffn_norm.weight'), c.dim, c.normEps);
      const fin = this.input(p.xb, c.dim, T, pre + 'ffn_gate.weight', pre + 'ffn_up.weight');
      this.matmul(p.hb, fin, pre + 'ffn_gate.weight');
      this.matmul(p.hb2, fin, pre + 'ffn_up.weight');
      this.k.k.gatedAct(p.hb, p.hb2, T * c.hiddenDim, c.ffnAct === 'gelu' ? 1 : 0);
      this.matmul(p.xb2, this.input(p.hb, c.hiddenDim, T, pre + 'ffn_down.weight'), pre + 'ffn_down.weight');
      if (c.postNorms) for (let t = 0; t < T; t++) rmsnorm(rows(v.xb2, c.dim, t), rows(v.xb2, c.dim, t), this.weight(pre + 'post_ffw_norm.weight'), c.dim, c.normEps);
      residual(v.xb2);
    }

    // Only the tokens whose logits are wanted go through the head (a prefill needs the last one).
    const first = allLogits ? 0 : T - 1;
    const n = T - first;
    for (let t = first; t < T; t++) rmsnorm(rows(v.xb, c.dim, t - first), rows(v.x, c.dim, t), this.weight('output_norm.weight'), c.dim, c.normEps);
    const head = this.matrices.has('output.weight') ? 'output.weight' : 'token_embd.weight';
    this.matmul(p.logits, this.input(p.xb, c.dim, n, head), head);
    const logits = v.logits.subarray(0, n * c.vocabSize);
    if (c.finalSoftcap) for (let i = 0; i < logits.length; i++) logits[i] = softcap(logits[i]!, c.finalSoftcap);
    return logits;
  }
}
