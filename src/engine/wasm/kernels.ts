/**
 * The wasm kernels as the forward pass calls them: one instance, its memory, and the threads that
 * share the matmuls. Inputs of quantised matrices are rounded once per input (quantize) and then
 * reused by every matrix that reads them (q, k and v; gate and up).
 */
import { byteSize, type DType } from '../../formats/dtypes.js';
import { canShareMemory, compileKernels, hasRelaxedSimd, hasSimd, inputSumBytes, KernelMemory, writeF16Table, type KernelExports, type SimdLevel } from './module.js';
import { CONTROL_BYTES, ThreadChooser, ThreadPool } from './threads.js';

/** The matmul export of every weight type, in a fixed order (the threads call them by index). */
const MATMULS: Record<DType, string> = {
  F32: 'matmul_f32',
  F16: 'matmul_f16',
  BF16: 'matmul_bf16',
  Q4_0: 'matmul_q4_0',
  Q4_1: 'matmul_q4_1',
  Q5_0: 'matmul_q5_0',
  Q5_1: 'matmul_q5_1',
  Q8_0: 'matmul_q8_0',
  Q2_K: 'matmul_q2_k',
  Q3_K: 'matmul_q3_k',
  Q4_K: 'matmul_q4_k',
  Q5_K: 'matmul_q5_k',
  Q6_K: 'matmul_q6_k',
  IQ4_NL: 'matmul_iq4_nl',
  IQ4_XS: 'matmul_iq4_xs',
};
const FLOAT_TYPES = new Set<DType>(['F32', 'F16', 'BF16']);

/** Whether a matrix of this type takes int8-rounded inputs (every block-quantised type). */
export function takesIntInputs(dtype: DType): boolean {
  return !FLOAT_TYPES.has(dtype);
}

/**
 * How a matrix's blocks lie in memory: 'rows' as stored in the file (row after row), 'x4' with
 * its rows in fours, interleaved block by block (Q4_0, Q5_0, Q4_K and Q6_K under relaxed SIMD,
 * Q8_0 with four-way dots: wasm/matmul.ts).
 */
export type Layout = 'rows' | 'x4';

/** A matrix in the kernels' memory. */
export interface StoredMatrix {
  ptr: number;
  dtype: DType;
  rows: number;
  cols: number;
  /** Its size in memory (the stored blocks' size, whatever the layout). */
  bytes: number;
  layout: Layout;
}

/**
 * Matrices stored with their rows in fours (wasm/matmul.ts's packed Q4_0, Q5_0, Q4_K, Q6_K and Q8_0):
 * each block of four rows is a fixed reordering of the four rows' blocks, in the same bytes,
 * written by the module's `pack` export (wasm/pack.ts); `unpack` gives one row's block back from
 * its group's (an embedding lookup).
 */
interface Packing {
  /** The kernel without four-way dots (none: the matrix stays as stored unless four-way dots are used). */
  kernel?: `matmul_${string}`;
  /** The kernel with four-way int8 dots, where there is one (wasm/matmul.ts's quadD): used when Kernels.create measures it faster. */
  fourWay?: `matmul_${string}`;
  pack: `pack_${string}`;
  blockBytes: number;
  blockElems: number;
  unpack(group: Uint8Array, lane: number, to: Uint8Array): void;
}

/**
 * An unpack that moves runs of bytes (offset in the group's block, row 0..3, offset in that row's
 * block, length), listed once as each row's byte pairs: an embedding lookup unpacks a row's every
 * block, and calling the moves per block (a closure and a subarray each) made a token of the
 * 135M Q4_0 file's Q8_0 embedding take 59-74 µs in a prompt (36-52 µs with the pairs).
 */
function byMoves(moves: (emit: (at: number, row: number, from: number, length: number) => void) => void) {
  const pairs: number[][] = [[], [], [], []];
  moves((at, r, from, n) => {
    for (let i = 0; i < n; i++) pairs[r]!.push(from + i, at + i);
  });
  const lanes = pairs.map((p) => Int32Array.from(p));
  return (group: Uint8Array, lane: number, to: Uint8Array): void => {
    const t = lanes[lane]!;
    for (let i = 0; i < t.length; i += 2) to[t[i]!] = group[t[i + 1]!]!;
  };
}

/** Q4_0, Q5_0 and Q8_0's scales and code vectors (Q5_0's nibbles at 6, after its high bits; Q8_0: eight vectors of bytes). */
function blocks32(codes: number, vectors = 4) {
  return byMoves((emit) => {
    for (let r = 0; r < 4; r++) {
      emit(2 * r, r, 0, 2);
      for (let k = 0; k < vectors; k++) emit(8 + 16 * k + 4 * r, r, codes + 4 * k, 4);
    }
  });
}

/** Where Q6_K weight w's bits are in the file's block and in the packed one (wasm/pack.ts). */
function q6kPlaces(w: number) {
  const n = w >> 7, g = (w >> 5) & 3, l = w & 31;
  const c = w >> 5, h = l >> 4, k = (l & 15) >> 2, i = l & 3;
  return { ql: 64 * n + 32 * (g & 1) + l, qlShift: 4 * (g >> 1), qh: 128 + 32 * n + l, qhShift: 2 * g, nib: 72 + 64 * c + 16 * k + i, nibShift: 4 * h, high: 584 + 32 * c + 16 * h + i, highShift: 2 * k };
}
const Q6K_PLACES = Array.from({ length: 256 }, (_, w) => q6kPlaces(w));

const Q5_0_BLOCKS = blocks32(6);

const PACKINGS: Partial<Record<DType, Packing>> = {
  Q4_0: { kernel: 'matmul_q4_0x4', fourWay: 'matmul_q4_0x4d', pack: 'pack_q4_0', blockBytes: 18, blockElems: 32, unpack: blocks32(2) },
  Q8_0: {
    fourWay: 'matmul_q8_0x4d',
    pack: 'pack_q8_0',
    blockBytes: 34,
    blockElems: 32,
    unpack: blocks32(2, 8),
  },
  Q5_0: {
    kernel: 'matmul_q5_0x4',
    fourWay: 'matmul_q5_0x4d',
    pack: 'pack_q5_0',
    blockBytes: 22,
    blockElems: 32,
    unpack(group, lane, to) {
      Q5_0_BLOCKS(group, lane, to);
      // bit m of byte 72 + 4 lane + i: the high bit of weight 4m + i
      let qh = 0;
      for (let i = 0; i < 4; i++) for (let m = 0; m < 8; m++) qh |= ((group[72 + 4 * lane + i]! >> m) & 1) << (4 * m + i);
      new DataView(to.buffer, to.byteOffset + 2, 4).setUint32(0, qh >>> 0, true);
    },
  },
  Q4_K: {
    kernel: 'matmul_q4_kx4',
    fourWay: 'matmul_q4_kx4d',
    pack: 'pack_q4_k',
    blockBytes: 144,
    blockElems: 256,
    unpack: byMoves((emit) => {
      for (let r = 0; r < 4; r++) {
        emit(2 * r, r, 0, 2);
        emit(8 + 2 * r, r, 2, 2);
        emit(16 + 12 * r, r, 4, 12);
        for (let j = 0; j < 4; j++) for (let k = 0; k < 8; k++) emit(64 + 128 * j + 16 * k + 4 * r, r, 16 + 32 * j + 4 * k, 4);
      }
    }),
  },
  Q6_K: {
    kernel: 'matmul_q6_kx4',
    fourWay: 'matmul_q6_kx4d',
    pack: 'pack_q6_k',
    blockBytes: 210,
    blockElems: 256,
    unpack(group, r, to) {
      to.fill(0);
      to[208] = group[2 * r]!;
      to[209] = group[2 * r + 1]!;
      for (let u = 0; u < 16; u++) to[192 + u] = group[8 + 4 * u + r]!;
      for (const q of Q6K_PLACES) {
        to[q.ql]! |= ((group[q.nib + 4 * r]! >> q.nibShift) & 15) << q.qlShift;
        to[q.qh]! |= ((group[q.high + 4 * r]! >> q.highShift) & 3) << q.qhShift;
      }
    },
  },
};

/** The kernels the threads run: every matmul, and attention (its job's units split like rows). */
const NAMES = [...Object.values(MATMULS), ...Object.values(PACKINGS).flatMap((p) => [p!.kernel, p!.fourWay].filter((n) => n !== undefined)), 'attention', 'quantizeRows', 'gatedActRows', 'rmsnormRows', 'ropeRows', 'storeKvRows'];
const INDEX = new Map(NAMES.map((n, i) => [n, i]));

/** Row r's blocks as the file stores them, read back from the packed layout. */
function unpackRow(p: Packing, packed: Uint8Array, r: number, cols: number): Uint8Array {
  const nb = cols / p.blockElems;
  const row = new Uint8Array(nb * p.blockBytes);
  const group = 4 * p.blockBytes;
  for (let b = 0; b < nb; b++) {
    const o = (r >> 2) * nb * group + b * group;
    p.unpack(packed.subarray(o, o + group), r & 3, row.subarray(b * p.blockBytes, (b + 1) * p.blockBytes));
  }
  return row;
}

/** Bytes of each thread's own scratch (wasm/simd.ts: setThreadScratch). */
const THREAD_SCRATCH = 256;

export interface KernelOptions {
  /** Threads in all, the caller's included (default and most: every core; 1 where memory cannot be shared). */
  threads?: number;
  /** 'simd' forces plain SIMD128 where relaxed SIMD is there too (tests keep both paths honest). */
  simd?: SimdLevel;
  /** Forces the four-way dot kernels on (true) or off under relaxed SIMD; by default they are timed against the others at load. */
  fourWay?: boolean;
}

/**
 * Whether the four-way dot kernel (matmul_q4_0x4d) beats the 16-bit one here: both timed on a
 * 64 × 2048 Q4_0 matrix, four tokens and one, alternating, the fastest of each (~40 ms at load).
 * It wins where the CPU multiplies four int8 pairs into a 32-bit lane in one instruction (AVX-VNNI,
 * Arm's dot product: 1.05-1.16x on a Xeon with AVX-VNNI) and loses where V8 spells it in three.
 * False if the two disagree: a relaxed SIMD that computes it differently is not used.
 */
function fourWayIsFaster(mem: KernelMemory, k: KernelExports): boolean {
  const rows = 64, cols = 2048, T = 4, bytesPerRow = (cols / 32) * 18;
  const room = (bytes: number) => mem.alloc(bytes, 'the dot kernels timed at load');
  const w = room(rows * bytesPerRow);
  const bytes = mem.u8(w, rows * bytesPerRow);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 18 === 1 ? 0x2c : (i * 73 + 11) & 0xff; // scales ~0.06
  const x = room(T * cols * 4);
  mem.f32(x, T * cols).set(Array.from({ length: T * cols }, (_, i) => Math.sin(i * 0.7)));
  const xq = room(T * cols), xd = room((T * cols) / 8), xs = room(inputSumBytes(T * cols));
  const outs = [room(T * rows * 4), room(T * rows * 4)];
  const scratch = room(4 * bytesPerRow);
  k.pack_q4_0!(w, rows, cols, scratch);
  k.quantize(x, cols, T, xq, xd, xs);
  const kernels = [k.matmul_q4_0x4!, k.matmul_q4_0x4d!];
  const best = [Infinity, Infinity];
  // A fresh module's functions run in V8's baseline compiler until the optimising one has finished
  // them in the background, and which of the two tiers up first decided the choice (it flipped from
  // one process to the next): alternate for ~40 ms, keeping each one's fastest.
  const until = performance.now() + 40;
  for (let round = 0; round < 5 || performance.now() < until; round++) {
    kernels.forEach((f, i) => {
      const start = performance.now();
      for (let r = 0; r < 4; r++) {
        f(w, cols, xq, xd, xs, x, T, outs[i]!, rows, 0, rows);
        f(w, cols, xq, xd, xs, x, 1, outs[i]!, rows, 0, rows);
      }
      best[i] = Math.min(best[i]!, performance.now() - start);
    });
  }
  const [a, b] = outs.map((o) => mem.f32(o, T * rows));
  if (a!.some((v, i) => !Object.is(v, b![i]))) return false;
  return best[1]! < best[0]! * 0.97;
}

/** A chooser key's token count: T rounded up to a power of two (work of 5 and 8 tokens is timed together). */
function tokensKey(T: number): string {
  return `T${2 ** Math.ceil(Math.log2(T))}`;
}

/** Words of an attention job's header before its rows (wasm/attention.ts's JOB_WORDS). */
const JOB_WORDS = 16;
/** The header word holding the heads per unit (wasm/attention.ts's SPAN). */
const SPAN_WORD = 12;
/**
 * Bytes of a thread's attention tiles: float16 KV blocks of one kv head widened to float32, 16 keys
 * and 16 values of up to 512 (wasm/attention.ts's TILE_DIM), kept for the thread's next row of a
 * prompt: 128 blocks (2,048 positions) of a 64-wide head, 64 of a 128-wide one.
 */
const KV_TILE_BYTES = 1 << 20;

/** One attention call over rows of one or several sequences (wasm/attention.ts). */
export interface AttentionJob {
  /** Queries and outputs, [rows × nHeads·headDim] float32. */
  q: number;
  out: number;
  /** One layer's keys and values. */
  kc: number;
  vc: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** A query at p sees positions max(0, p - window + 1) .. p (2^31 - 1: every earlier one). */
  window: number;
  scale: number;
  /** 0: none. */
  softcap: number;
  /** The cache holds float16. */
  half: boolean;
  /** Each row's position, and the address of its sequence's block table. */
  positions: ArrayLike<number>;
  tables: ArrayLike<number>;
  rows: number;
  /** Query heads per unit of work, a divisor of nHeads / nKvHeads (default: chosen for the threads); each head's numbers are the same whatever it is. */
  span?: number;
}

/** The q/k norms and RoPE of a chunk's rows (wasm/norm.ts's ropeRows). */
export interface RopeJob {
  /** Queries and keys, [rows × nHeads·headDim] and [rows × nKvHeads·headDim] float32, rotated in place. */
  q: number;
  k: number;
  /** Each row's cos and sin (float64, ropeDim per row: the CPU reference's ropeAngles). */
  angles: number;
  /** The per-head q and k norms' weights (float32, headDim each), or 0 for none. */
  qNorm: number;
  kNorm: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  ropeDim: number;
  interleaved: boolean;
  eps: number;
  rows: number;
}

/** Words of a RoPE job (wasm/norm.ts). */
const ROPE_WORDS = 12;

const F64 = new Float64Array(1);
const F64_WORDS = new Int32Array(F64.buffer);
/** A float64's bits as two int32 (low, high): how a kernel's float64 parameter travels through the pool's int32 arguments. */
function bitsOf(v: number): [number, number] {
  F64[0] = v;
  return [F64_WORDS[0]!, F64_WORDS[1]!];
}

/** An input [T × n] ready for matmuls: floats at `x`, and when rounded, int8 at xq with scales and sums. */
export interface Input {
  x: number;
  n: number;
  T: number;
  rounded: boolean;
}

/** The largest divisor of n below d. */
function largestDivisorBelow(n: number, d: number): number {
  for (let k = d - 1; k > 1; k--) if (n % k === 0) return k;
  return 1;
}

/** The cores this process may use: os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers. */
export async function defaultThreads(): Promise<number> {
  if (typeof process !== 'undefined' && process.versions?.node) {
    const name = 'node:os';
    const os: typeof import('node:os') = await import(/* @vite-ignore */ /* webpackIgnore: true */ name);
    return os.availableParallelism();
  }
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency || 1;
}

export class Kernels {
  private xq = 0;
  private xd = 0;
  private xs = 0;
  private inputCapacity = 0;
  private packScratch = 0;
  private packRoom = 0;
  private job = 0;
  private scratch = 0;
  private jobRows = 0;
  private jobHeads = 0;
  private readonly chooser = new ThreadChooser();
  /**
   * Passes on the pool or alone (pass), by their median time, the pool first: alternated from the
   * start, every second prompt of a size ran on one thread (a 113-token prompt at two threads took
   * as long as at one in a bench run, where each run's prompt was its size's second pass).
   */
  private readonly passes = new ThreadChooser({ typical: (t) => t[t.length >> 1]!, maxExplore: 512, warm: 0 });
  /** This pass runs on the caller alone. */
  private lone = false;

  private constructor(
    readonly mem: KernelMemory,
    readonly k: KernelExports,
    readonly simd: SimdLevel,
    /** The four-way dot kernels are used (relaxed SIMD, where measured faster). */
    readonly fourWay: boolean,
    private readonly pool: ThreadPool | undefined,
    /** Why fewer threads run than were asked for, if they do. */
    readonly threadNote: string | undefined,
    private readonly ropeJob: number,
  ) {}

  static async create(options: KernelOptions = {}): Promise<Kernels> {
    if (!(await hasSimd())) throw new Error('the wasm backend needs WebAssembly SIMD128 (Chrome 91, Firefox 89, Safari 16.4, Node 16.4 or later)');
    const simd: SimdLevel = options.simd === 'simd' || !(await hasRelaxedSimd()) ? 'simd' : 'relaxed';
    // Threads wait for work by spinning: more of them than cores would only take turns.
    const cores = await defaultThreads();
    const asked = Number.isFinite(options.threads) ? Math.max(1, Math.floor(options.threads!)) : cores;
    const wanted = Math.min(asked, cores);
    // A Service Worker cannot start workers of its own: it computes on its one thread.
    const canSpawn = typeof Worker !== 'undefined' || (typeof process !== 'undefined' && !!process.versions?.node);
    const shared = wanted > 1 && canSpawn && canShareMemory();
    const threadNote =
      wanted > 1 && !canSpawn ? 'one thread: workers cannot start threads here (a Service Worker)' : wanted > 1 && !shared ? 'one thread: the page is not cross-origin isolated (no SharedArrayBuffer)' : asked > cores ? `${asked} threads asked for, ${cores} cores` : undefined;
    const module = await compileKernels(simd, shared);
    const mem = new KernelMemory(shared);
    const { exports } = await WebAssembly.instantiate(module, { env: { memory: mem.memory } });
    const k = exports as unknown as KernelExports;
    mem.start(k.heapBase());
    const control = mem.alloc(CONTROL_BYTES, 'the thread control block');
    const f16Table = writeF16Table(mem);
    k.setF16Table(f16Table);
    const threads = shared ? wanted : 1;
    // each thread's own scratch: keepOrder's word and the eight-token tiles' sums (wasm/simd.ts)
    const scratch = mem.alloc(threads * THREAD_SCRATCH, "the threads' scratch");
    k.setThreadScratch(scratch);
    const fourWay = simd === 'relaxed' && (options.fourWay ?? fourWayIsFaster(mem, k));
    // each thread's own tiles for float16 KV blocks widened to float32 (wasm/attention.ts)
    const tiles = mem.alloc(threads * KV_TILE_BYTES, 'attention tiles');
    k.setKvTile(tiles, KV_TILE_BYTES);
    const setup = (i: number): [string, ...number[]][] => [['setF16Table', f16Table], ['setThreadScratch', scratch + i * THREAD_SCRATCH], ['setKvTile', tiles + i * KV_TILE_BYTES, KV_TILE_BYTES]];
    const ropeJob = mem.alloc(ROPE_WORDS * 4, 'the RoPE job');
    const pool = shared ? await ThreadPool.create(module, mem.memory, control, exports as Record<string, unknown>, NAMES, setup, wanted) : undefined;
    return new Kernels(mem, k, simd, fourWay, pool, threadNote, ropeJob);
  }

  get threads(): number {
    return this.pool?.count ?? 1;
  }

  /** Room for inputs of up to `elements` (T × n) values; called at load, before any view is made. */
  reserveInputs(elements: number): void {
    if (elements <= this.inputCapacity) return;
    this.inputCapacity = elements;
    this.xq = this.mem.alloc(elements * 2, 'the rounded inputs'); // int8, or int16 for plain SIMD (wasm/simd.ts)
    this.xd = this.mem.alloc((elements / 32) * 4, 'the input scales');
    this.xs = this.mem.alloc(inputSumBytes(elements), 'the input sums');
  }

  /** Room for attention jobs of up to `rows` query rows of `nHeads` heads; at load, like reserveInputs. */
  reserveAttention(rows: number, nHeads: number): void {
    if (rows <= this.jobRows && nHeads <= this.jobHeads) return;
    this.jobRows = Math.max(rows, this.jobRows);
    this.jobHeads = Math.max(nHeads, this.jobHeads);
    this.job = this.mem.alloc((JOB_WORDS + 2 * this.jobRows) * 4, 'the attention job');
    this.scratch = this.mem.alloc(this.jobRows * this.jobHeads * 32 * 4, 'attention scratch');
  }

  /** out = attention of every row's queries over its sequence's cached positions, threads sharing the rows × heads. */
  attention(j: AttentionJob): void {
    if (j.rows > this.jobRows || j.nHeads > this.jobHeads) throw new Error(`attention over ${j.rows} rows of ${j.nHeads} heads: room reserved for ${this.jobRows} of ${this.jobHeads}`);
    const words = new Int32Array(this.mem.memory.buffer, this.job, JOB_WORDS + 2 * j.rows);
    const floats = new Float32Array(words.buffer, words.byteOffset, JOB_WORDS);
    words.set([j.q, j.kc, j.vc, j.out, this.scratch, j.nHeads, j.nKvHeads, j.headDim, j.window, 0, 0, j.half ? 1 : 0]);
    floats[9] = j.scale;
    floats[10] = j.softcap;
    let work = 0;
    for (let r = 0; r < j.rows; r++) {
      words[JOB_WORDS + 2 * r] = j.positions[r]!;
      words[JOB_WORDS + 2 * r + 1] = j.tables[r]!;
      work += Math.min(j.positions[r]! + 1, j.window);
    }
    // A unit is a row and the query heads of one kv head, which then read each block of keys and
    // values once; for the pool, those heads are split (span: heads per unit) when a step has too
    // few units to share. Each head's numbers are the same either way.
    const heads = j.rows * j.nHeads;
    const group = j.nHeads / j.nKvHeads;
    const go = (span: number, pooled: boolean) => {
      words[SPAN_WORD] = span;
      const units = heads / span;
      if (pooled) this.pool!.run(INDEX.get('attention')!, [this.job, 0, 0, 0, 0, 0, 0, 0], units);
      else this.k.attention(this.job, 0, 0, 0, 0, 0, 0, 0, units, 0, units);
    };
    work *= j.nHeads * j.headDim;
    if (j.span !== undefined) {
      if (!(j.span >= 1 && group % j.span === 0)) throw new Error(`attention: span ${j.span} does not divide ${group} heads per kv head`);
      return go(j.span, !!this.pool && heads / j.span >= this.pool.count);
    }
    if (!this.pool || heads < 2 * this.pool.count || work < 1 << 16) return go(group, false);
    let span = group;
    while (span > 1 && heads / span < 2 * this.pool.count) span = largestDivisorBelow(group, span);
    // Timed apart by the size of the work (positions × heads × dims, in powers of two): a decode
    // step's attention at a short context is not worth waking threads for, a prompt's is.
    this.chosen(`attention 2^${Math.round(Math.log2(work))}`, () => go(span, true), () => go(group, false));
  }

  /**
   * Copies a matrix's stored blocks into the kernels' memory, in the layout its kernel reads best:
   * Q4_0, Q5_0, Q4_K and Q6_K with their rows in fours under relaxed SIMD (prompt tiles 1.1-1.9x,
   * decode matvecs 1.3-2.0x the stored layout's: ARCHITECTURE.md, "Rows in fours"), Q8_0 too
   * where four-way dots are used (1.28x), every other type as stored.
   */
  store(name: string, dtype: DType, rows: number, cols: number, bytes: Uint8Array): StoredMatrix {
    return this.place(this.mem.alloc(byteSize(dtype, rows * cols), name), name, dtype, rows, cols, bytes);
  }

  /** store() for matrices kept side by side, in order, in one allocation (forward.ts reads some as one). */
  storeAdjacent(matrices: { name: string; dtype: DType; rows: number; cols: number; bytes: Uint8Array }[]): StoredMatrix[] {
    const sizes = matrices.map((m) => byteSize(m.dtype, m.rows * m.cols));
    let at = this.mem.alloc(sizes.reduce((a, b) => a + b, 0), matrices.map((m) => m.name).join(' | '));
    return matrices.map((m, i) => {
      const stored = this.place(at, m.name, m.dtype, m.rows, m.cols, m.bytes);
      at += sizes[i]!;
      return stored;
    });
  }

  private place(ptr: number, name: string, dtype: DType, rows: number, cols: number, bytes: Uint8Array): StoredMatrix {
    const size = byteSize(dtype, rows * cols);
    if (bytes.length < size) throw new Error(`${name}: ${bytes.length} bytes for a ${rows} × ${cols} ${dtype} matrix of ${size}`);
    this.mem.u8(ptr, size).set(bytes.subarray(0, size));
    const packing = this.simd === 'relaxed' && rows % 4 === 0 ? this.packing(dtype) : undefined;
    if (packing) {
      // room for four rows, kept for the next matrix (the bump allocator frees nothing)
      const four = (4 * size) / rows;
      if (four > this.packRoom) {
        this.packScratch = this.mem.alloc(four, 'room to pack matrices');
        this.packRoom = four;
      }
      this.k[packing.pack]!(ptr, rows, cols, this.packScratch);
    }
    return { ptr, dtype, rows, cols, bytes: size, layout: packing ? 'x4' : 'rows' };
  }

  /** How a matrix of `dtype` is laid out with its rows in fours here, if it is: a layout with a kernel for this build. */
  private packing(dtype: DType): Packing | undefined {
    const p = PACKINGS[dtype];
    return p && (p.kernel || (this.fourWay && p.fourWay)) ? p : undefined;
  }

  /** Row r of a stored matrix as the file stores it (an embedding lookup). */
  row(m: StoredMatrix, r: number): Uint8Array {
    const rowBytes = m.bytes / m.rows;
    if (m.layout === 'x4') return unpackRow(PACKINGS[m.dtype]!, this.mem.u8(m.ptr, m.bytes), r, m.cols);
    return this.mem.u8(m.ptr + r * rowBytes, rowBytes);
  }

  /** Prepares x [T × n] for the matrices that will read it; rounds it when one of them is quantised. */
  input(x: number, n: number, T: number, rounded: boolean): Input {
    if (rounded) {
      if (n % 32 !== 0) throw new Error(`quantised matrices need inputs in whole blocks of 32, got ${n}`);
      if (n * T > this.inputCapacity) throw new Error('input larger than reserved');
      const args = [x, n, T, this.xq, this.xd, this.xs, 0, 0];
      this.rows('quantizeRows', `quantize ${n}`, args, T, n, () => this.k.quantize(x, n, T, this.xq, this.xd, this.xs));
    }
    return { x, n, T, rounded };
  }

  /** g = act(g) × u over T rows of n ([T × n] each), act SiLU or GELU (wasm/activation.ts). */
  gatedAct(g: number, u: number, n: number, T: number, gelu: boolean): void {
    const args = [g, u, n, gelu ? 1 : 0, 0, 0, 0, 0];
    this.rows('gatedActRows', `gated activation ${n}`, args, T, n, () => this.k.gatedAct(g, u, T * n, gelu ? 1 : 0));
  }

  /** x += add (where add ≠ 0), then out = rmsnorm(x) · weight (where weight ≠ 0), over T rows of n floats (wasm/norm.ts). */
  rmsnorm(x: number, add: number, weight: number, out: number, n: number, T: number, eps: number): void {
    const args = [x, add, weight, out, n, ...bitsOf(eps), 0];
    this.rows('rmsnormRows', `rmsnorm ${n}${add ? ' + residual' : ''}`, args, T, n, () => this.k.rmsnormRows(x, add, weight, out, n, args[5]!, args[6]!, 0, T, 0, T));
  }

  /** Each row's q and k heads normed (where the model has q/k norms) and rotated (wasm/norm.ts). */
  rope(j: RopeJob): void {
    const words = new Int32Array(this.mem.memory.buffer, this.ropeJob, ROPE_WORDS);
    words.set([j.q, j.k, j.angles, j.qNorm, j.kNorm, j.nHeads, j.nKvHeads, j.headDim, j.ropeDim, j.interleaved ? 1 : 0, ...bitsOf(j.eps)]);
    const args = [this.ropeJob, 0, 0, 0, 0, 0, 0, 0];
    this.rows('ropeRows', `rope ${j.nHeads + j.nKvHeads}x${j.headDim}`, args, j.rows, (j.nHeads + j.nKvHeads) * j.headDim, () => this.k.ropeRows(this.ropeJob, 0, 0, 0, 0, 0, 0, 0, j.rows, 0, j.rows));
  }

  /** T rows of keys and values (nKvHeads × headDim float32 at k, v) into a layer's caches kc, vc at their slots (int32 at `slots`), float16 if `half`. */
  storeKv(k: number, v: number, kc: number, vc: number, slots: number, T: number, nKvHeads: number, headDim: number, half: boolean): void {
    const args = [k, v, kc, vc, slots, nKvHeads, headDim, half ? 1 : 0];
    this.rows('storeKvRows', `store kv ${nKvHeads}x${headDim}`, args, T, 2 * nKvHeads * headDim, () => this.k.storeKvRows(k, v, kc, vc, slots, nKvHeads, headDim, half ? 1 : 0, T, 0, T));
  }

  /**
   * Row-wise work (rounding inputs, the activation, norms, RoPE, storing keys and values) on the pool where the chooser finds it faster:
   * at two threads it was ~30 % of a 135M prompt step run on the caller alone. Every row's numbers
   * are the same either way.
   */
  private rows(fn: string, what: string, args: number[], T: number, n: number, alone: () => void): void {
    if (!this.pool || T < 2 * this.pool.count || T * n < 1 << 14) return alone();
    this.chosen(`${what} ${tokensKey(T)}`, () => this.pool!.run(INDEX.get(fn)!, args, T), alone);
  }

  /** Runs the work `key` names on the pool or on the caller alone, as the chooser picks, and tells it the time taken. */
  private chosen(key: string, pooled: () => void, alone: () => void): void {
    if (this.lone) return alone();
    const onPool = this.chooser.pool(key);
    const start = performance.now();
    if (onPool) pooled();
    else alone();
    this.chooser.record(key, onPool, performance.now() - start);
  }

  /** out [T × rows] = input · W^T for W [rows × n] of `dtype` stored at w in `layout`. */
  matmul(dtype: DType, w: number, rows: number, input: Input, out: number, layout: Layout = 'rows'): void {
    const packing = layout === 'x4' ? this.packing(dtype) : undefined;
    if (layout === 'x4' && (!packing || rows % 4 !== 0)) throw new Error(`no kernel for ${dtype} with ${rows} rows in fours`);
    const name = packing ? ((this.fourWay && packing.fourWay) || packing.kernel)! : MATMULS[dtype];
    if (takesIntInputs(dtype) && !input.rounded) throw new Error(`${dtype} matmul given an unrounded input`);
    const args = [w, input.n, this.xq, this.xd, this.xs, input.x, input.T, out];
    const alone = () => (this.k[name as `matmul_${string}`] as (...a: number[]) => void)(...args, rows, 0, rows);
    // Below ~64K multiply-adds (stories260K's matrices) a matrix takes less time than waking the threads.
    if (!this.pool || rows < 2 * this.pool.count || rows * input.n * input.T < 1 << 16) return alone();
    // Timed per shape and type, not per matrix: a 1B model's 112 matrices are five shapes, and
    // each key's warm-up (calls alternating pool and alone) then costs a few calls, not the first
    // prompts' chunks or the first tokens at two threads. Tokens by powers of two: a step of 8
    // decode rows takes a quarter of a 32-row prompt chunk's time, and timed under one key the
    // two made each other's pooled and lone times incomparable.
    const key = `${dtype}${layout === 'x4' ? 'x4' : ''} ${rows}x${input.n} ${tokensKey(input.T)}`;
    this.chosen(key, () => this.pool!.run(INDEX.get(name)!, args, rows), alone);
  }

  /**
   * Runs f, a forward pass over T rows, either on the pool with its threads held awake through
   * the pass (ThreadPool.hold; each piece of work still on the pool or alone as the chooser
   * picks) or wholly on the caller, whichever the pass chooser finds faster for passes of this
   * size. Held: with threads that only spin briefly, a one-token step of the 135M Q4_0 model at
   * two threads let them fall asleep between most jobs and decoded no faster than one thread.
   * Alone: beside a process that keeps a core busy, held threads take the caller's core and two
   * threads decoded slower than one (measured: ARCHITECTURE.md).
   */
  pass<R>(T: number, f: () => R): R {
    const pool = this.pool;
    if (!pool) return f();
    const key = `pass ${tokensKey(T)}`;
    const pooled = this.passes.pool(key);
    this.lone = !pooled;
    const start = performance.now();
    pool.hold(pooled);
    try {
      return f();
    } finally {
      pool.hold(false);
      this.lone = false;
      this.passes.record(key, pooled, performance.now() - start);
    }
  }

  dispose(): void {
    this.pool?.dispose();
  }
}
