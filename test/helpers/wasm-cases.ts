/**
 * The wasm kernel cases, shared by the Node test (test/wasm-kernels.test.ts) and the Chromium
 * page (test/browser/pages/wasm.ts): each returns the NMSE of the kernel's output against the CPU
 * reference's. Quantised weights are random blocks (every bit pattern); their inputs are rounded
 * by the reference's quantizeInput8, the very integers the kernels use.
 */
import { blockElements, DTYPES, f16ToF32, f32ToF16, toFloat32, type DType } from '../../src/formats/dtypes.js';
import { matmul, quantizeInput8, softcap, softmax } from '../../src/engine/cpu/forward.js';
import { takesIntInputs, type Kernels } from '../../src/engine/wasm/kernels.js';
import { randomBlocks } from './blocks.js';
import { nmse, randoms } from './gpu.js';

/** Named tolerances: float32 sums in the kernels vs float64 in the reference. */
export const TOL = { matmulNMSE: 1e-10, attentionNMSE: 1e-10 };

/**
 * [type, rows, cols, tokens]: widths of one block, several, and several super-blocks; rows that do
 * not split evenly in fours or across threads; and per type a prompt of 9 tokens (two tiles of
 * four and one token left over).
 */
export const MATMUL_CASES: [DType, number, number, number][] = DTYPES.flatMap((dtype) => {
  const b = blockElements(dtype);
  const widths = b === 1 ? [37, 64, 101] : b === 32 ? [32, 96, 608] : [256, 768];
  const cases = widths.map((cols, i) => [dtype, [1, 7, 33][i % 3]!, cols, [1, 3, 5][i % 3]!] as [DType, number, number, number]);
  return [...cases, [dtype, 13, widths.at(-1)!, 9] as [DType, number, number, number]];
}).concat([
  // rows in fours: Q4_0, Q5_0, Q4_K and Q6_K are stored with their rows interleaved by four under relaxed SIMD (Kernels.store), Q8_0 under four-way dots
  ['Q8_0', 4, 32, 1],
  ['Q8_0', 12, 96, 4],
  ['Q8_0', 36, 608, 9],
  ['Q4_0', 4, 32, 1],
  ['Q4_0', 12, 96, 4],
  ['Q4_0', 36, 608, 9],
  ['Q5_0', 4, 32, 1],
  ['Q5_0', 12, 96, 4],
  ['Q5_0', 36, 608, 9],
  ['Q4_K', 4, 256, 1],
  ['Q4_K', 12, 768, 5],
  ['Q4_K', 36, 512, 9],
  ['Q6_K', 4, 256, 1],
  ['Q6_K', 12, 768, 5],
  ['Q6_K', 36, 512, 9],
]);

/** Inputs the cases need at most (Kernels.reserveInputs). */
export const INPUT_ELEMENTS = 32 * 768;

export function checkMatmul(k: Kernels, dtype: DType, rows: number, cols: number, T: number): number {
  const bytes = randomBlocks(dtype, rows * cols, rows * 131 + cols);
  const x = randoms(T * cols, cols + T).map((v, i) => (i % 29 === 0 ? v * 40 : v)); // a few outliers per block
  const m = k.store('w', dtype, rows, cols, bytes);
  const xp = k.mem.alloc(x.length * 4, 'x');
  k.mem.f32(xp, x.length).set(x);
  const out = k.mem.alloc(T * rows * 4, 'out');
  k.matmul(dtype, m.ptr, rows, k.input(xp, cols, T, takesIntInputs(dtype)), out, m.layout);
  const got = k.mem.f32(out, T * rows).slice();

  const wf = toFloat32(dtype, bytes, rows * cols);
  const want = new Float32Array(T * rows);
  for (let t = 0; t < T; t++) {
    let xt = x.subarray(t * cols, (t + 1) * cols);
    if (takesIntInputs(dtype)) {
      const q = new Float32Array(cols);
      quantizeInput8(q, xt, cols);
      xt = q;
    }
    matmul(want.subarray(t * rows, (t + 1) * rows), xt, wf, cols, rows);
  }
  return nmse(got, want);
}

/**
 * Token counts of a prompt chunk, and widths per block size: a token's outputs must not depend on
 * how many tokens share its chunk (the engine batches sequences into one chunk), so a chunk of T
 * tokens is compared bit for bit with each token alone.
 */
export const BATCH_TOKENS = [1, 2, 3, 4, 5, 8, 31, 32];
export const BATCH_CASES: [DType, number, number][] = [...DTYPES.map((d): [DType, number, number] => [d, 7, blockElements(d) === 256 ? 512 : 96]), ['Q4_0', 8, 96], ['Q5_0', 8, 96], ['Q8_0', 8, 96], ['Q4_K', 8, 512], ['Q6_K', 8, 512]];

/** The tokens (of BATCH_TOKENS chunks) whose outputs differ in any bit from the same token's alone. */
export function checkTokenIndependence(k: Kernels, dtype: DType, rows: number, cols: number): string[] {
  const bytes = randomBlocks(dtype, rows * cols, rows * 17 + cols);
  const maxT = Math.max(...BATCH_TOKENS);
  const x = randoms(maxT * cols, cols + 1).map((v, i) => (i % 29 === 0 ? v * 40 : v));
  const m = k.store('w', dtype, rows, cols, bytes);
  const xp = k.mem.alloc(x.length * 4, 'x');
  k.mem.f32(xp, x.length).set(x);
  const out = k.mem.alloc(maxT * rows * 4, 'out');
  const alone = new Float32Array(maxT * rows);
  for (let t = 0; t < maxT; t++) {
    k.matmul(dtype, m.ptr, rows, k.input(xp + t * cols * 4, cols, 1, takesIntInputs(dtype)), out, m.layout);
    alone.set(k.mem.f32(out, rows), t * rows);
  }
  const failures: string[] = [];
  for (const T of BATCH_TOKENS) {
    k.matmul(dtype, m.ptr, rows, k.input(xp, cols, T, takesIntInputs(dtype)), out, m.layout);
    const got = k.mem.f32(out, T * rows);
    for (let i = 0; i < T * rows; i++)
      if (!Object.is(got[i], alone[i])) {
        failures.push(`${dtype} T=${T}: token ${Math.floor(i / rows)} row ${i % rows}: ${got[i]} chunked, ${alone[i]} alone`);
        break;
      }
  }
  return failures;
}

/** [heads, kv heads, head dim, tokens, pos, window, softcap, float16 cache] */
export const ATTENTION_CASES: [number, number, number, number, number, number, number, number][] = [
  [4, 2, 64, 1, 0, 0, 0, 0],
  [4, 2, 64, 1, 37, 0, 0, 0],
  [3, 3, 18, 5, 11, 0, 0, 0], // head dim not a multiple of 4
  [8, 2, 32, 7, 20, 6, 0, 0], // sliding window
  [2, 1, 16, 3, 9, 0, 50, 0], // soft-capped scores (Gemma 2)
  [4, 2, 64, 9, 30, 0, 0, 1], // float16 keys and values, across blocks
  [3, 3, 18, 5, 11, 0, 0, 1],
  [8, 2, 32, 7, 20, 6, 50, 1],
  [9, 3, 64, 32, 300, 0, 0, 0], // a prompt chunk deep in a context: enough work for the threads
  [9, 3, 64, 32, 300, 100, 0, 1],
  [4, 1, 520, 3, 20, 0, 0, 1], // float16 heads wider than a thread's tile: widened load by load
];

/**
 * The kernel's output for T rows at positions pos .. pos + T - 1 on a paged cache: the sequence's
 * positions in blocks of 16 scattered backwards over a larger cache, unused blocks filled with
 * garbage it must not read; with the queries and the cache's values as float32 (rounded through
 * float16 for a float16 cache). span: heads per unit (Kernels.attention's choice by default).
 */
export function attentionOutput(k: Kernels, nHeads: number, nKv: number, headDim: number, T: number, pos: number, window: number, cap: number, half = 0, span?: number) {
  const BLOCK = 16;
  const kvDim = nKv * headDim, qDim = nHeads * headDim, positions = pos + T;
  const q = randoms(T * qDim, 3), kc = randoms(positions * kvDim, 4), vc = randoms(positions * kvDim, 5);
  const round = (a: Float32Array) => (half ? a.map((x) => f16ToF32(f32ToF16(x))) : a);
  const [kr, vr] = [round(kc), round(vc)];
  const used = Math.ceil(positions / BLOCK), numBlocks = 2 * used + 1;
  const table = Int32Array.from({ length: used }, (_, i) => 2 * (used - i)); // backwards, every other block
  // the cache as the kernel stores it (wasm/attention.ts): blocks of each kv head's 16 rows of
  // headDim float32 or float16 bits, head after head
  const cacheOf = (a: Float32Array) => {
    const cache = half ? new Uint16Array(numBlocks * BLOCK * kvDim).fill(0x7e00) : new Float32Array(numBlocks * BLOCK * kvDim).fill(NaN);
    for (let p = 0; p < positions; p++) {
      for (let h = 0; h < nKv; h++) {
        const row = table[Math.floor(p / BLOCK)]! * BLOCK * kvDim + (h * BLOCK + (p % BLOCK)) * headDim;
        for (let i = 0; i < headDim; i++) cache[row + i] = half ? f32ToF16(a[p * kvDim + h * headDim + i]!) : a[p * kvDim + h * headDim + i]!;
      }
    }
    return new Uint8Array(cache.buffer);
  };
  const put = (a: Float32Array | Uint8Array | Int32Array) => {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const p = k.mem.alloc(bytes.length, 'a');
    k.mem.u8(p, bytes.length).set(bytes);
    return p;
  };
  const [qp, kp, vp, tp] = [put(q), put(cacheOf(kc)), put(cacheOf(vc)), put(table)];
  const out = k.mem.alloc(T * qDim * 4, 'out');
  k.reserveAttention(T, nHeads);
  const rowPositions = Array.from({ length: T }, (_, t) => pos + t);
  k.attention({ q: qp, out, kc: kp, vc: vp, nHeads, nKvHeads: nKv, headDim, window: window || 0x7fffffff, scale: 1 / Math.sqrt(headDim), softcap: cap, half: !!half, positions: rowPositions, tables: rowPositions.map(() => tp), rows: T, span });
  return { got: k.mem.f32(out, T * qDim).slice(), q, kr, vr };
}

/** attentionOutput's NMSE against a float64 reference (which reads the same rounded values from a float16 cache). */
export function checkAttention(k: Kernels, nHeads: number, nKv: number, headDim: number, T: number, pos: number, window: number, cap: number, half = 0): number {
  const { got, q, kr, vr } = attentionOutput(k, nHeads, nKv, headDim, T, pos, window, cap, half);
  const kvDim = nKv * headDim, qDim = nHeads * headDim;
  const want = new Float32Array(T * qDim);
  for (let t = 0; t < T; t++) {
    const p = pos + t, first = window ? Math.max(0, p - window + 1) : 0;
    for (let h = 0; h < nHeads; h++) {
      const kvo = Math.floor(h / (nHeads / nKv)) * headDim;
      const s = new Float32Array(p + 1 - first);
      for (let j = first; j <= p; j++) {
        let dot = 0;
        for (let i = 0; i < headDim; i++) dot += q[t * qDim + h * headDim + i]! * kr[j * kvDim + kvo + i]!;
        s[j - first] = softcap(dot / Math.sqrt(headDim), cap || undefined);
      }
      softmax(s, s.length);
      for (let i = 0; i < headDim; i++) {
        let acc = 0;
        for (let j = first; j <= p; j++) acc += s[j - first]! * vr[j * kvDim + kvo + i]!;
        want[t * qDim + h * headDim + i] = acc;
      }
    }
  }
  return nmse(got, want);
}

/**
 * Rows of two sequences interleaved in one attention call (a batched step), against each row
 * computed in a call of its own: the indexes of the rows whose output differs in any bit.
 */
export function checkAttentionRows(k: Kernels, nHeads: number, nKv: number, headDim: number, half = 0): number[] {
  const BLOCK = 16, kvDim = nKv * headDim, qDim = nHeads * headDim;
  const lengths = [290, 45];
  const blocks = lengths.map((n) => Math.ceil(n / BLOCK));
  const numBlocks = blocks[0]! + blocks[1]!;
  const bytes = numBlocks * BLOCK * kvDim * (half ? 2 : 4);
  const kc = k.mem.alloc(bytes, 'k'), vc = k.mem.alloc(bytes, 'v');
  const fill = (p: number, seed: number) => (half ? new Uint16Array(k.mem.memory.buffer, p, bytes / 2).set(Array.from(randoms(bytes / 2, seed), f32ToF16)) : k.mem.f32(p, bytes / 4).set(randoms(bytes / 4, seed)));
  fill(kc, 6);
  fill(vc, 7);
  // sequence 0 in blocks 0, 2, 4, ...; sequence 1 in the others (and the rest of 0's)
  const ids = [Int32Array.from({ length: blocks[0]! }, (_, i) => (i < blocks[1]! ? 2 * i : blocks[1]! + i)), Int32Array.from({ length: blocks[1]! }, (_, i) => 2 * i + 1)];
  const tables = ids.map((t) => {
    const p = k.mem.alloc(t.byteLength, 'table');
    new Int32Array(k.mem.memory.buffer, p, t.length).set(t);
    return p;
  });
  // rows: the last 5 positions of sequence 0 and the last 3 of sequence 1, interleaved
  const rows = [[0, 285], [1, 42], [0, 286], [0, 287], [1, 43], [0, 288], [1, 44], [0, 289]] as const;
  const R = rows.length;
  const q = k.mem.alloc(R * qDim * 4, 'q'), out = k.mem.alloc(R * qDim * 4, 'out');
  k.mem.f32(q, R * qDim).set(randoms(R * qDim, 8));
  k.reserveAttention(R, nHeads);
  const job = { kc, vc, nHeads, nKvHeads: nKv, headDim, window: 0x7fffffff, scale: 1 / Math.sqrt(headDim), softcap: 0, half: !!half };
  k.attention({ ...job, q, out, positions: rows.map(([, p]) => p), tables: rows.map(([s]) => tables[s]!), rows: R });
  const together = new Uint32Array(k.mem.memory.buffer, out, R * qDim).slice();
  const differ: number[] = [];
  rows.forEach(([s, p], r) => {
    k.attention({ ...job, q: q + r * qDim * 4, out, positions: [p], tables: [tables[s]!], rows: 1 });
    const alone = new Uint32Array(k.mem.memory.buffer, out, qDim);
    if (alone.some((b, i) => b !== together[r * qDim + i])) differ.push(r);
  });
  return differ;
}
