/**
 * The wasm backend's forward pass: the CPU reference's (../cpu/forward.ts), step for step, over a
 * chunk of up to CHUNK rows at once, with matrices, attention and the gated activation in
 * WebAssembly. The rows of a chunk are tokens of one or several sequences (continuous batching),
 * each at its own position and with its own block table into the paged KV cache. Weights stay in
 * their stored type in the kernels' memory; norms and RoPE, a few thousand values per token, run
 * in TypeScript on views of that memory with the reference's own functions.
 *
 * Every row's numbers are computed as if it ran alone: the matmuls' sums for a row do not depend
 * on the other rows (wasm/matmul.ts), inputs are rounded per row, attention runs per row and head
 * (wasm/attention.ts). So a sequence gets the same logits, bit for bit, solo or in any batch and any packing.
 */
import { toFloat32 } from '../../formats/dtypes.js';
import { attentionWindow, layerRope, type LayerRope, type ModelConfig } from '../../model/config.js';
import type { KvCacheInfo, SeqResult, SeqStep } from '../backend.js';
import { rmsnorm, ropeAngles, rotate, softcap } from '../cpu/forward.js';
import { takesIntInputs, type Input, type Kernels, type StoredMatrix } from './kernels.js';

/** A matrix in the kernels' memory (Kernels.store), with its bias if it has one. */
export interface Matrix extends StoredMatrix {
  /** Its bias (Qwen2's q, k, v), float32, found once at load. */
  bias?: Float32Array;
}

/** Rows per chunk: every matrix is read once per chunk, and the activations are sized for it. */
export const CHUNK = 32;

const F32 = 4;

/** A run of one step entry's tokens inside a chunk: tokens from .. from + n - 1 of `seq`. */
interface Segment {
  seq: SeqStep;
  from: number;
  n: number;
  /** The entry's result logits ([vocab] for 'last', [tokens × vocab] for 'all'). */
  out?: Float32Array;
}

export class WasmTransformer {
  private readonly c: ModelConfig;
  private readonly kvDim: number;
  private readonly qDim: number;
  // activations, [CHUNK × width] float32 each, at these pointers in the kernels' memory
  private readonly p: Record<'x' | 'xb' | 'xb2' | 'q' | 'k' | 'v' | 'att' | 'hb' | 'hb2' | 'logits' | 'tables' | 'slots', number>;
  private readonly v: Record<'x' | 'xb' | 'xb2' | 'q' | 'k' | 'hb' | 'hb2' | 'logits', Float32Array>;
  /** Per layer, numBlocks × KV_BLOCK_SIZE rows of kvDim keys (values), float32 or float16. */
  private readonly keyCache: number[];
  private readonly valueCache: number[];
  private readonly rowBytes: number;
  private readonly half: number;
  /** Block ids of each segment of a chunk (int32, CHUNK × maxBlocks). */
  private readonly tables: Int32Array;
  /** Each row's cache slot (block × 16 + row in it) for the chunk being run, in the kernels' memory (storeKv reads it). */
  private readonly slots: Int32Array;
  private readonly maxBlocks: number;
  private readonly ropes: LayerRope[];

  constructor(
    config: ModelConfig,
    private readonly k: Kernels,
    private readonly matrices: Map<string, Matrix>,
    /** Norm weights and biases, float32. */
    private readonly small: Map<string, Float32Array>,
    readonly maxSeqLen: number,
    readonly kv: KvCacheInfo,
  ) {
    this.c = config;
    const c = config;
    this.kvDim = c.nKvHeads * c.headDim;
    this.qDim = c.nHeads * c.headDim;
    this.maxBlocks = Math.ceil(maxSeqLen / kv.blockSize);
    const wide = Math.max(c.dim, this.qDim, c.hiddenDim);
    const mem = k.mem;
    const a = (n: number, what: string) => mem.alloc(n * F32, what);
    this.p = {
      x: a(CHUNK * c.dim, 'activations'),
      xb: a(CHUNK * Math.max(c.dim, this.qDim), 'activations'),
      xb2: a(CHUNK * c.dim, 'activations'),
      q: a(CHUNK * this.qDim, 'activations'),
      k: a(CHUNK * this.kvDim, 'activations'),
      v: a(CHUNK * this.kvDim, 'activations'),
      att: a(CHUNK * this.qDim, 'activations'),
      hb: a(CHUNK * c.hiddenDim, 'activations'),
      hb2: a(CHUNK * c.hiddenDim, 'activations'),
      logits: a(CHUNK * c.vocabSize, 'the logits'),
      tables: a(CHUNK * this.maxBlocks, 'block tables'),
      slots: a(CHUNK, 'cache slots'),
    };
    k.reserveInputs(CHUNK * wide);
    k.reserveAttention(CHUNK, c.nHeads);
    const elementBytes = kv.dtype === 'f16' ? 2 : 4;
    this.half = kv.dtype === 'f16' ? 1 : 0;
    this.rowBytes = this.kvDim * elementBytes;
    const region = kv.numBlocks * kv.blockSize * this.rowBytes;
    this.keyCache = Array.from({ length: c.nLayers }, () => mem.alloc(region, 'the KV cache'));
    this.valueCache = Array.from({ length: c.nLayers }, () => mem.alloc(region, 'the KV cache'));
    // Every allocation is done: views made now stay valid.
    const view = (ptr: number, n: number) => mem.f32(ptr, n);
    this.v = {
      x: view(this.p.x, CHUNK * c.dim),
      xb: view(this.p.xb, CHUNK * Math.max(c.dim, this.qDim)),
      xb2: view(this.p.xb2, CHUNK * c.dim),
      q: view(this.p.q, CHUNK * this.qDim),
      k: view(this.p.k, CHUNK * this.kvDim),
      hb: view(this.p.hb, CHUNK * c.hiddenDim),
      hb2: view(this.p.hb2, CHUNK * c.hiddenDim),
      logits: view(this.p.logits, CHUNK * c.vocabSize),
    };
    this.tables = new Int32Array(mem.memory.buffer, this.p.tables, CHUNK * this.maxBlocks);
    this.slots = new Int32Array(mem.memory.buffer, this.p.slots, CHUNK);
    // one object per distinct RoPE (most models: one for all layers), so a step's angles are computed once for each
    const distinct = new Map<string, LayerRope>();
    this.ropes = Array.from({ length: c.nLayers }, (_, l) => {
      const r = layerRope(c, l, maxSeqLen);
      const key = `${r.dim} ${r.attnFactor} ${r.freqs.join(' ')}`;
      if (!distinct.has(key)) distinct.set(key, r);
      return distinct.get(key)!;
    });
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

  /** out [T × rows] = W · x (+ bias) for each row. */
  private matmul(out: number, input: Input, name: string): void {
    const m = this.matrix(name);
    this.k.matmul(m.dtype, m.ptr, m.rows, input, out, m.layout);
    const bias = m.bias;
    if (bias) {
      const o = this.k.mem.f32(out, input.T * m.rows);
      for (let t = 0; t < input.T; t++) for (let i = 0; i < m.rows; i++) o[t * m.rows + i] = o[t * m.rows + i]! + bias[i]!;
    }
  }

  /** The token's embedding row, dequantised from its stored type. */
  private embed(out: Float32Array, token: number): void {
    const e = this.matrix('token_embd.weight');
    out.set(toFloat32(e.dtype, this.k.row(e, token), e.cols));
  }

  /** Refuses an entry that would read or write outside the cache, before anything runs. */
  private check(s: SeqStep, i: number): void {
    const c = this.c;
    const n = s.tokens.length;
    const what = `step entry ${i}`;
    if (n === 0) throw new Error(`${what} has no tokens`);
    if (!Number.isInteger(s.pos) || s.pos < 0) throw new RangeError(`${what}: position ${s.pos} is not a position`);
    if (s.pos + n > this.maxSeqLen) throw new RangeError(`position ${s.pos + n - 1} is beyond the cache (${this.maxSeqLen})`);
    for (const token of s.tokens) {
      if (!Number.isInteger(token) || token < 0 || token >= c.vocabSize) throw new RangeError(`token id ${token} is outside the vocabulary (0..${c.vocabSize - 1})`);
    }
    const need = Math.ceil((s.pos + n) / this.kv.blockSize);
    if (s.blocks.length < need) throw new RangeError(`${what}: ${s.blocks.length} blocks hold ${s.blocks.length * this.kv.blockSize} positions, ${s.pos + n} needed`);
    for (let b = 0; b < need; b++) this.checkBlock(s.blocks[b]!);
  }

  private checkBlock(b: number): void {
    if (!Number.isInteger(b) || b < 0 || b >= this.kv.numBlocks) throw new RangeError(`KV block ${b} does not exist (0..${this.kv.numBlocks - 1})`);
  }

  /**
   * Runs a step: the entries' tokens packed in order into chunks of CHUNK rows (an entry may
   * span chunks; a chunk may hold several entries), each chunk through every layer.
   */
  step(batch: SeqStep[]): SeqResult[] {
    batch.forEach((s, i) => this.check(s, i));
    const vocab = this.c.vocabSize;
    const results: SeqResult[] = batch.map((s) => (s.logits === 'none' ? {} : { logits: new Float32Array((s.logits === 'all' ? s.tokens.length : 1) * vocab) }));
    let chunk: Segment[] = [];
    let rows = 0;
    batch.forEach((seq, e) => {
      for (let from = 0; from < seq.tokens.length; ) {
        const n = Math.min(seq.tokens.length - from, CHUNK - rows);
        chunk.push({ seq, from, n, out: results[e]!.logits });
        rows += n;
        from += n;
        if (rows === CHUNK) {
          this.run(chunk, rows);
          chunk = [];
          rows = 0;
        }
      }
    });
    if (rows > 0) this.run(chunk, rows);
    return results;
  }

  /** Copies every layer's keys and values of block src into block dst. */
  copyBlock(src: number, dst: number): void {
    this.checkBlock(src);
    this.checkBlock(dst);
    if (src === dst) return;
    const bytes = this.kv.blockSize * this.rowBytes;
    const heap = this.k.mem.u8(0, this.k.mem.memory.buffer.byteLength);
    for (const base of [...this.keyCache, ...this.valueCache]) heap.copyWithin(base + dst * bytes, base + src * bytes, base + (src + 1) * bytes);
  }

  /** One chunk of T rows: `segments` in order. */
  private run(segments: Segment[], T: number): void {
    const c = this.c;
    const { kvDim, qDim, p, v, kv } = this;
    // Each row's position and cache row, and each segment's block table for the attention.
    const positions = new Int32Array(T);
    const tables = new Int32Array(T);
    let row = 0;
    segments.forEach((s, i) => {
      const { seq } = s;
      const blocks = Math.ceil((seq.pos + s.from + s.n) / kv.blockSize);
      for (let b = 0; b < blocks; b++) this.tables[i * this.maxBlocks + b] = seq.blocks[b]!;
      for (let t = 0; t < s.n; t++, row++) {
        const pos = seq.pos + s.from + t;
        positions[row] = pos;
        tables[row] = p.tables + i * this.maxBlocks * 4;
        this.slots[row] = seq.blocks[Math.floor(pos / kv.blockSize)]! * kv.blockSize + (pos % kv.blockSize);
        const x = v.x.subarray(row * c.dim, (row + 1) * c.dim);
        this.embed(x, seq.tokens[s.from + t]!);
        if (c.embedScale) for (let j = 0; j < c.dim; j++) x[j] = x[j]! * c.embedScale;
      }
    });
    const rows = (a: Float32Array, width: number, t: number) => a.subarray(t * width, (t + 1) * width);
    // each row's RoPE angles, once per distinct RoPE (Math.cos and Math.sin per pair cost more than the rotation)
    const angles = new Map<LayerRope, Float64Array>();
    const anglesOf = (r: LayerRope) => {
      let a = angles.get(r);
      if (!a) {
        a = new Float64Array(T * r.dim);
        for (let t = 0; t < T; t++) ropeAngles(positions[t]!, r, a, t * r.dim);
        angles.set(r, a);
      }
      return a;
    };
    const residual = (from: Float32Array) => {
      for (let i = 0; i < T * c.dim; i++) v.x[i] = v.x[i]! + from[i]!;
    };

    for (let l = 0; l < c.nLayers; l++) {
      const pre = `blk.${l}.`;
      const kc = this.keyCache[l]!;
      const vc = this.valueCache[l]!;
      // ---- attention: each row's k and v go into its sequence's cache slot, then each segment attends ----
      // per row, each at its offset (a view per row and call was most of what a step allocated)
      const attnNorm = this.weight(pre + 'attn_norm.weight');
      for (let t = 0; t < T; t++) rmsnorm(v.xb, v.x, attnNorm, c.dim, c.normEps, t * c.dim);
      const xin = this.input(p.xb, c.dim, T, pre + 'attn_q.weight', pre + 'attn_k.weight', pre + 'attn_v.weight');
      this.matmul(p.q, xin, pre + 'attn_q.weight');
      this.matmul(p.k, xin, pre + 'attn_k.weight');
      this.matmul(p.v, xin, pre + 'attn_v.weight');
      for (let t = 0; t < T; t++) {
        const q = rows(v.q, qDim, t);
        const k = rows(v.k, kvDim, t);
        if (c.qkNorm) {
          const qNorm = this.weight(pre + 'attn_q_norm.weight'), kNorm = this.weight(pre + 'attn_k_norm.weight');
          for (let h = 0; h < c.nHeads; h++) rmsnorm(q, q, qNorm, c.headDim, c.normEps, h * c.headDim);
          for (let h = 0; h < c.nKvHeads; h++) rmsnorm(k, k, kNorm, c.headDim, c.normEps, h * c.headDim);
        }
        const r = this.ropes[l]!;
        rotate(q, c.nHeads, c, r, anglesOf(r), t * r.dim);
        rotate(k, c.nKvHeads, c, r, anglesOf(r), t * r.dim);
      }
      this.k.k.storeKv(p.k, T, kc, p.slots, c.nKvHeads, c.headDim, this.half);
      this.k.k.storeKv(p.v, T, vc, p.slots, c.nKvHeads, c.headDim, this.half);
      const window = attentionWindow(c, l);
      this.k.attention({
        q: p.q, out: p.att, kc, vc, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim,
        window: Number.isFinite(window) ? window : 0x7fffffff, scale: c.queryScale ?? 1 / Math.sqrt(c.headDim), softcap: c.attnSoftcap ?? 0,
        half: this.half === 1, positions, tables, rows: T,
      });
      this.matmul(p.xb2, this.input(p.att, qDim, T, pre + 'attn_output.weight'), pre + 'attn_output.weight');
      if (c.postNorms) {
        const w = this.weight(pre + 'post_attention_norm.weight');
        for (let t = 0; t < T; t++) rmsnorm(v.xb2, v.xb2, w, c.dim, c.normEps, t * c.dim);
      }
      residual(v.xb2);

      // ---- gated feed-forward: down(act(gate x) * up x), act SiLU or GELU ----
      const ffnNorm = this.weight(pre + 'ffn_norm.weight');
      for (let t = 0; t < T; t++) rmsnorm(v.xb, v.x, ffnNorm, c.dim, c.normEps, t * c.dim);
      const fin = this.input(p.xb, c.dim, T, pre + 'ffn_gate.weight', pre + 'ffn_up.weight');
      this.matmul(p.hb, fin, pre + 'ffn_gate.weight');
      this.matmul(p.hb2, fin, pre + 'ffn_up.weight');
      this.k.gatedAct(p.hb, p.hb2, c.hiddenDim, T, c.ffnAct === 'gelu');
      this.matmul(p.xb2, this.input(p.hb, c.hiddenDim, T, pre + 'ffn_down.weight'), pre + 'ffn_down.weight');
      if (c.postNorms) {
        const w = this.weight(pre + 'post_ffw_norm.weight');
        for (let t = 0; t < T; t++) rmsnorm(v.xb2, v.xb2, w, c.dim, c.normEps, t * c.dim);
      }
      residual(v.xb2);
    }

    // Only the rows whose logits are wanted go through the head (a prompt chunk needs its last, or none).
    const wanted: { out: Float32Array; at: number }[] = [];
    row = 0;
    for (const s of segments) {
      const all = s.seq.logits === 'all';
      const last = s.from + s.n === s.seq.tokens.length;
      for (let t = 0; t < s.n; t++, row++) {
        if (!s.out || !(all || (last && t === s.n - 1))) continue;
        rmsnorm(rows(v.xb, c.dim, wanted.length), rows(v.x, c.dim, row), this.weight('output_norm.weight'), c.dim, c.normEps);
        wanted.push({ out: s.out, at: all ? s.from + t : 0 });
      }
    }
    if (wanted.length === 0) return;
    const head = this.matrices.has('output.weight') ? 'output.weight' : 'token_embd.weight';
    this.matmul(p.logits, this.input(p.xb, c.dim, wanted.length, head), head);
    const vocab = c.vocabSize;
    wanted.forEach(({ out, at }, i) => {
      const logits = rows(v.logits, vocab, i);
      if (c.finalSoftcap) for (let j = 0; j < vocab; j++) logits[j] = softcap(logits[j]!, c.finalSoftcap);
      out.set(logits, at * vocab);
    });
  }
}
