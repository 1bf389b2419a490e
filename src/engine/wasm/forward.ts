/**
 * The wasm backend's forward pass: the CPU reference's (../cpu/forward.ts), step for step, over a
 * chunk of up to CHUNK rows at once, with matrices, attention and the gated activation in
 * WebAssembly. The rows of a chunk are tokens of one or several sequences (continuous batching),
 * each at its own position and with its own block table into the paged KV cache. Weights stay in
 * their stored type in the kernels' memory; norms, residuals and RoPE run there too (wasm/norm.ts,
 * the reference's arithmetic), rows shared by the threads like a matrix's.
 *
 * Every row's numbers are computed as if it ran alone: the matmuls' sums for a row do not depend
 * on the other rows (wasm/matmul.ts), inputs are rounded per row, attention runs per row and head
 * (wasm/attention.ts). So a sequence gets the same logits, bit for bit, solo or in any batch and any packing.
 */
import { toFloat32 } from '../../formats/dtypes.js';
import { attentionWindow, layerRope, type LayerRope, type ModelConfig } from '../../model/config.js';
import type { KvCacheInfo, SeqResult, SeqStep } from '../backend.js';
import { rmsnorm, ropeAngles, softcap } from '../cpu/forward.js';
import { takesIntInputs, type Input, type Kernels, type StoredMatrix } from './kernels.js';

/** A matrix in the kernels' memory (Kernels.store), with its bias if it has one. */
export interface Matrix extends StoredMatrix {
  /** Its bias (Qwen2's q, k, v), float32, found once at load. */
  bias?: Float32Array;
}

/** Rows per chunk: every matrix is read once per chunk, and the activations are sized for it. */
export const CHUNK = 32;

const F32 = 4;

/**
 * A layer's matrices that a one-row step reads as one where they are stored side by side, in that
 * order (the backend's loader stores them so): Layer.qkv and Layer.gateUp.
 */
export const JOINED_GROUPS = [['attn_q', 'attn_k', 'attn_v'], ['ffn_gate', 'ffn_up']] as const;

/** A layer's matrices and norm weights (pointers into the kernels' memory; 0 where the model has none). */
interface Layer {
  q: Matrix; k: Matrix; v: Matrix; o: Matrix; gate: Matrix; up: Matrix; down: Matrix;
  /**
   * q|k|v and gate|up as one matrix, where the backend stored them side by side in one type and
   * layout (no biases): a one-row step then runs one matmul for each group, one job for the
   * threads instead of three (or two), and k and v are shared out with q. Their outputs go to
   * qkv1 and gateUp1, whose parts are that token's q, k, v (gate, up) rows.
   */
  qkv?: Matrix;
  gateUp?: Matrix;
  /** Whether the inputs of q|k|v, the output matrix, gate|up and down are rounded (a quantised matrix reads them). */
  roundQkv: boolean; roundO: boolean; roundGateUp: boolean; roundDown: boolean;
  attnNorm: number; ffnNorm: number; qNorm: number; kNorm: number; postAttnNorm: number; postFfnNorm: number;
  /** Sliding window in positions, or 0x7fffffff. */
  window: number;
}

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
  private readonly p: Record<'x' | 'xb' | 'xb2' | 'q' | 'k' | 'v' | 'att' | 'hb' | 'hb2' | 'logits' | 'tables' | 'slots' | 'qkv1' | 'gateUp1', number>;
  /** Each layer's weights and norms, looked up once: a step builds no names. */
  private readonly layers: Layer[];
  /** Views of those the TypeScript reads and writes: the embeddings in, the head's input and logits out. */
  private readonly v: Record<'x' | 'xb' | 'logits', Float32Array>;
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
  /**
   * Each step entry's row of last logits, reused from step to step (SeqResult: valid until the
   * next step): eight fresh vocabulary rows a batched step were most of its garbage collection.
   */
  private readonly lastRows: Float32Array[] = [];
  /** Each distinct RoPE's angles for the chunk's rows (float64, CHUNK × its dim), in the kernels' memory. */
  private readonly angles = new Map<LayerRope, { ptr: number; view: Float64Array }>();
  /** The norms' weights (float32), copied into the kernels' memory. */
  private readonly norms = new Map<string, number>();

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
      qkv1: a(this.qDim + 2 * this.kvDim, 'activations'),
      gateUp1: a(2 * c.hiddenDim, 'activations'),
    };
    k.reserveInputs(CHUNK * wide);
    k.reserveAttention(CHUNK, c.nHeads);
    const elementBytes = kv.dtype === 'f16' ? 2 : 4;
    this.half = kv.dtype === 'f16' ? 1 : 0;
    this.rowBytes = this.kvDim * elementBytes;
    const region = kv.numBlocks * kv.blockSize * this.rowBytes;
    this.keyCache = Array.from({ length: c.nLayers }, () => mem.alloc(region, 'the KV cache'));
    this.valueCache = Array.from({ length: c.nLayers }, () => mem.alloc(region, 'the KV cache'));
    // one object per distinct RoPE (most models: one for all layers), so a step's angles are computed once for each
    const distinct = new Map<string, LayerRope>();
    this.ropes = Array.from({ length: c.nLayers }, (_, l) => {
      const r = layerRope(c, l, maxSeqLen);
      const key = `${r.dim} ${r.attnFactor} ${r.freqs.join(' ')}`;
      if (!distinct.has(key)) distinct.set(key, r);
      return distinct.get(key)!;
    });
    const anglePtrs = [...distinct.values()].map((r) => [r, mem.alloc(CHUNK * r.dim * 8, 'RoPE angles')] as const);
    const normPtrs = [...small].filter(([name]) => name.endsWith('norm.weight')).map(([name, w]) => [name, mem.alloc(w.length * F32, 'norm weights'), w] as const);
    // Every allocation is done: views made now stay valid.
    const view = (ptr: number, n: number) => mem.f32(ptr, n);
    this.v = {
      x: view(this.p.x, CHUNK * c.dim),
      xb: view(this.p.xb, CHUNK * Math.max(c.dim, this.qDim)),
      logits: view(this.p.logits, CHUNK * c.vocabSize),
    };
    this.tables = new Int32Array(mem.memory.buffer, this.p.tables, CHUNK * this.maxBlocks);
    this.slots = new Int32Array(mem.memory.buffer, this.p.slots, CHUNK);
    for (const [r, ptr] of anglePtrs) this.angles.set(r, { ptr, view: new Float64Array(mem.memory.buffer, ptr, CHUNK * r.dim) });
    for (const [name, ptr, w] of normPtrs) {
      mem.f32(ptr, w.length).set(w);
      this.norms.set(name, ptr);
    }
    for (const [name, m] of matrices) m.bias = small.get(name.replace(/\.weight$/, '.bias'));
    const adjacent = (names: string[]): Matrix | undefined => {
      const ms = names.map((n) => matrices.get(n));
      const [first] = ms;
      if (!first || ms.some((m, i) => !m || m.bias || m.dtype !== first.dtype || m.layout !== first.layout || m.cols !== first.cols || (i > 0 && m.ptr !== ms[i - 1]!.ptr + ms[i - 1]!.bytes))) return undefined;
      return { ptr: first.ptr, dtype: first.dtype, rows: ms.reduce((n, m) => n + m!.rows, 0), cols: first.cols, bytes: ms.reduce((n, m) => n + m!.bytes, 0), layout: first.layout };
    };
    this.layers = Array.from({ length: c.nLayers }, (_, l): Layer => {
      const m = (n: string) => this.matrix(`blk.${l}.${n}.weight`);
      const norm = (n: string) => this.norm(`blk.${l}.${n}.weight`);
      const optional = (n: string, has: boolean | undefined) => (has ? norm(n) : 0);
      const rounded = (...ms: Matrix[]) => ms.some((x) => takesIntInputs(x.dtype));
      const [q, k, v, o, gate, up, down] = [m('attn_q'), m('attn_k'), m('attn_v'), m('attn_output'), m('ffn_gate'), m('ffn_up'), m('ffn_down')];
      const window = attentionWindow(c, l);
      return {
        q, k, v, o, gate, up, down,
        qkv: adjacent(JOINED_GROUPS[0].map((n) => `blk.${l}.${n}.weight`)),
        gateUp: adjacent(JOINED_GROUPS[1].map((n) => `blk.${l}.${n}.weight`)),
        roundQkv: rounded(q, k, v), roundO: rounded(o), roundGateUp: rounded(gate, up), roundDown: rounded(down),
        attnNorm: norm('attn_norm'), ffnNorm: norm('ffn_norm'),
        qNorm: optional('attn_q_norm', c.qkNorm), kNorm: optional('attn_k_norm', c.qkNorm),
        postAttnNorm: optional('post_attention_norm', c.postNorms), postFfnNorm: optional('post_ffw_norm', c.postNorms),
        window: Number.isFinite(window) ? window : 0x7fffffff,
      };
    });
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

  /** A norm's weights in the kernels' memory. */
  private norm(name: string): number {
    const ptr = this.norms.get(name);
    if (ptr === undefined) throw new Error(`missing weight ${name}`);
    return ptr;
  }

  /** The input x [T × n] for the matrices `names` (rounded if any of them is quantised). */
  private input(x: number, n: number, T: number, ...names: string[]): Input {
    return this.k.input(x, n, T, names.some((name) => takesIntInputs(this.matrix(name).dtype)));
  }

  /** out [T × rows] = W · x (+ bias) for each row. */
  private matmul(out: number, input: Input, name: string | Matrix): void {
    const m = typeof name === 'string' ? this.matrix(name) : name;
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

  /** Runs a step as one pass of the kernels (Kernels.pass: the threads held through it, or none). */
  step(batch: SeqStep[]): SeqResult[] {
    batch.forEach((s, i) => this.check(s, i));
    return this.k.pass(batch.reduce((n, s) => n + s.tokens.length, 0), () => this.chunks(batch));
  }

  /**
   * The entries' tokens packed in order into chunks of CHUNK rows (an entry may span chunks; a
   * chunk may hold several entries), each chunk through every layer.
   */
  private chunks(batch: SeqStep[]): SeqResult[] {
    const vocab = this.c.vocabSize;
    while (this.lastRows.length < batch.length) this.lastRows.push(new Float32Array(vocab));
    const results: SeqResult[] = batch.map((s, e) => (s.logits === 'none' ? {} : { logits: s.logits === 'all' ? new Float32Array(s.tokens.length * vocab) : this.lastRows[e]! }));
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
    const { qDim, p, v, kv } = this;
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
    const done = new Set<LayerRope>();
    const anglesOf = (r: LayerRope) => {
      const a = this.angles.get(r)!;
      if (!done.has(r)) {
        for (let t = 0; t < T; t++) ropeAngles(positions[t]!, r, a.view, t * r.dim);
        done.add(r);
      }
      return a.ptr;
    };
    const eps = c.normEps;
    // x += xb2 is left to the next norm, which adds it as it reads x (one pass over the rows, not two)
    let pending = 0;

    const scale = c.queryScale ?? 1 / Math.sqrt(c.headDim);
    for (let l = 0; l < c.nLayers; l++) {
      const L = this.layers[l]!;
      const kc = this.keyCache[l]!;
      const vc = this.valueCache[l]!;
      // ---- attention: each row's k and v go into its sequence's cache slot, then each segment attends ----
      this.k.rmsnorm(p.x, pending, L.attnNorm, p.xb, c.dim, T, eps);
      const xin = this.k.input(p.xb, c.dim, T, L.roundQkv);
      // one-row steps read q|k|v (and gate|up) as one matrix where they are stored so (Layer.qkv)
      const one = T === 1;
      let [q, k, v] = [p.q, p.k, p.v];
      if (one && L.qkv) {
        this.matmul(p.qkv1, xin, L.qkv);
        [q, k, v] = [p.qkv1, p.qkv1 + qDim * F32, p.qkv1 + (qDim + this.kvDim) * F32];
      } else {
        this.matmul(q, xin, L.q);
        this.matmul(k, xin, L.k);
        this.matmul(v, xin, L.v);
      }
      const r = this.ropes[l]!;
      this.k.rope({
        q, k, angles: anglesOf(r), qNorm: L.qNorm, kNorm: L.kNorm,
        nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim, ropeDim: r.dim, interleaved: c.ropeLayout === 'interleaved', eps, rows: T,
      });
      this.k.storeKv(k, v, kc, vc, p.slots, T, c.nKvHeads, c.headDim, this.half === 1);
      this.k.attention({
        q, out: p.att, kc, vc, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim,
        window: L.window, scale, softcap: c.attnSoftcap ?? 0,
        half: this.half === 1, positions, tables, rows: T,
      });
      this.matmul(p.xb2, this.k.input(p.att, qDim, T, L.roundO), L.o);
      if (c.postNorms) this.k.rmsnorm(p.xb2, 0, L.postAttnNorm, p.xb2, c.dim, T, eps);

      // ---- gated feed-forward: down(act(gate x) * up x), act SiLU or GELU ----
      this.k.rmsnorm(p.x, p.xb2, L.ffnNorm, p.xb, c.dim, T, eps);
      const fin = this.k.input(p.xb, c.dim, T, L.roundGateUp);
      let [hb, hb2] = [p.hb, p.hb2];
      if (one && L.gateUp) {
        this.matmul(p.gateUp1, fin, L.gateUp);
        [hb, hb2] = [p.gateUp1, p.gateUp1 + c.hiddenDim * F32];
      } else {
        this.matmul(hb, fin, L.gate);
        this.matmul(hb2, fin, L.up);
      }
      this.k.gatedAct(hb, hb2, c.hiddenDim, T, c.ffnAct === 'gelu');
      this.matmul(p.xb2, this.k.input(hb, c.hiddenDim, T, L.roundDown), L.down);
      if (c.postNorms) this.k.rmsnorm(p.xb2, 0, L.postFfnNorm, p.xb2, c.dim, T, eps);
      pending = p.xb2;
    }
    this.k.rmsnorm(p.x, pending, 0, 0, c.dim, T, eps);

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
