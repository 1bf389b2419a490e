/**
 * Every wasm kernel against the CPU reference (src/engine/cpu/forward.ts) on odd shapes — row
 * counts that do not split evenly across threads, widths that are not multiples of the SIMD
 * width, one to many tokens — for every weight type, in each build the runtime can run: plain
 * SIMD128 and relaxed SIMD (where the runtime has a working one: Node 22 and Chromium, which runs
 * these cases too, test/browser/wasm.test.ts; Node 20's experimental one is refused), each with
 * one and two threads. Quantised weights are random blocks (every bit pattern); their inputs are rounded
 * by the reference's quantizeInput8, the very integers the kernels use, so the only differences
 * left are float32 vs float64 sums.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { blockElements, DTYPES, toFloat32, type DType } from '../src/formats/dtypes.js';
import { matmul, quantizeInput8, softcap, softmax } from '../src/engine/cpu/forward.js';
import { Kernels, takesIntInputs } from '../src/engine/wasm/kernels.js';
import { hasRelaxedSimd } from '../src/engine/wasm/module.js';
import { randomBlocks } from './helpers/blocks.js';
import { nmse, randoms } from './helpers/gpu.js';

/** Named tolerances: float32 sums in the kernels vs float64 in the reference. */
const TOL = { matmulNMSE: 1e-10, attentionNMSE: 1e-10 };

const relaxed = await hasRelaxedSimd();
const builds = [
  { name: 'SIMD128, 1 thread', simd: 'simd' as const, threads: 1 },
  { name: 'SIMD128, 2 threads', simd: 'simd' as const, threads: 2 },
  ...(relaxed ? [{ name: 'relaxed SIMD, 1 thread', simd: 'relaxed' as const, threads: 1 }, { name: 'relaxed SIMD, 2 threads', simd: 'relaxed' as const, threads: 2 }] : []),
];

const all: Kernels[] = [];
afterAll(() => all.forEach((k) => k.dispose()));

describe.each(builds)('$name', (build) => {
  let k: Kernels;
  const kernels = async () => {
    if (!k) {
      k = await Kernels.create({ simd: build.simd, threads: build.threads });
      all.push(k);
      k.reserveInputs(5 * 768);
    }
    return k;
  };

  it('runs the build it was asked for', async () => {
    const k = await kernels();
    expect(k.simd).toBe(build.simd);
    expect(k.threads).toBe(build.threads);
  });

  // [type, rows, cols, tokens]: widths of one block, several, and several super-blocks
  const cases: [DType, number, number, number][] = DTYPES.flatMap((dtype) => {
    const b = blockElements(dtype);
    const widths = b === 1 ? [37, 64, 101] : b === 32 ? [32, 96, 608] : [256, 768];
    return widths.map((cols, i) => [dtype, [1, 7, 33][i % 3]!, cols, [1, 3, 5][i % 3]!] as [DType, number, number, number]);
  });
  it.each(cases)('matmul %s: %i rows × %i cols, %i tokens', async (dtype, rows, cols, T) => {
    const k = await kernels();
    const bytes = randomBlocks(dtype, rows * cols, rows * 131 + cols);
    const x = randoms(T * cols, cols + T).map((v, i) => (i % 29 === 0 ? v * 40 : v)); // a few outliers per block
    const w = k.mem.alloc(bytes.length, 'w');
    k.mem.u8(w, bytes.length).set(bytes);
    const xp = k.mem.alloc(x.length * 4, 'x');
    k.mem.f32(xp, x.length).set(x);
    const out = k.mem.alloc(T * rows * 4, 'out');
    k.matmul(dtype, w, rows, k.input(xp, cols, T, takesIntInputs(dtype)), out);
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
    expect(nmse(got, want)).toBeLessThan(TOL.matmulNMSE);
  });

  it('quantize: the reference integers, their scales and sums per 16; zero and tiny blocks give zeros', async () => {
    const k = await kernels();
    const n = 128;
    const x = randoms(n * 2, 5);
    x.fill(0, 32, 64); // an all-zero block
    x.fill(1e-31, 64, 96); // below 2^-100
    x[100] = 0.5 * (127 / 200) * 3; // arbitrary
    const xp = k.mem.alloc(x.length * 4, 'x');
    k.mem.f32(xp, x.length).set(x);
    k.input(xp, n, 2, true);
    const { xq, xd, xs } = k as unknown as { xq: number; xd: number; xs: number };
    const q = k.simd === 'relaxed' ? new Int8Array(k.mem.memory.buffer, xq, 2 * n) : new Int16Array(k.mem.memory.buffer, xq, 2 * n);
    const d = k.mem.f32(xd, (2 * n) / 32);
    const s = new Int32Array(k.mem.memory.buffer, xs, (2 * n) / 16);
    const want = new Float32Array(2 * n);
    for (let t = 0; t < 2; t++) quantizeInput8(want.subarray(t * n), x.subarray(t * n, (t + 1) * n), n);
    for (let i = 0; i < 2 * n; i++) expect(Math.fround(q[i]! * d[i >> 5]!), `element ${i}`).toBe(want[i]!);
    for (let g = 0; g < (2 * n) / 16; g++) expect(s[g]).toBe(Array.from(q.subarray(g * 16, g * 16 + 16)).reduce((a, b) => a + b, 0));
    expect(Array.from(q.subarray(32, 96)).every((v) => v === 0)).toBe(true);
  });

  it.each([
    // [heads, kv heads, head dim, tokens, pos, window, softcap]
    [4, 2, 64, 1, 0, 0, 0],
    [4, 2, 64, 1, 37, 0, 0],
    [3, 3, 18, 5, 11, 0, 0], // head dim not a multiple of 4
    [8, 2, 32, 7, 20, 6, 0], // sliding window
    [2, 1, 16, 3, 9, 0, 50], // soft-capped scores (Gemma 2)
  ])('attention: %i heads / %i kv, dim %i, %i tokens at %i, window %i, softcap %i', async (nHeads, nKv, headDim, T, pos, window, cap) => {
    const k = await kernels();
    const kvDim = nKv * headDim, qDim = nHeads * headDim, positions = pos + T;
    const q = randoms(T * qDim, 3), kc = randoms(positions * kvDim, 4), vc = randoms(positions * kvDim, 5);
    const put = (a: Float32Array) => {
      const p = k.mem.alloc(a.length * 4, 'a');
      k.mem.f32(p, a.length).set(a);
      return p;
    };
    const [qp, kp, vp] = [put(q), put(kc), put(vc)];
    const out = k.mem.alloc(T * qDim * 4, 'out'), scores = k.mem.alloc(positions * 4, 'scores');
    k.k.attention(qp, kp, vp, out, scores, T, pos, nHeads, nKv, headDim, window || 0x7fffffff, 1 / Math.sqrt(headDim), cap);
    const got = k.mem.f32(out, T * qDim).slice();
    const want = new Float32Array(T * qDim);
    for (let t = 0; t < T; t++) {
      const p = pos + t, first = window ? Math.max(0, p - window + 1) : 0;
      for (let h = 0; h < nHeads; h++) {
        const kvo = Math.floor(h / (nHeads / nKv)) * headDim;
        const s = new Float32Array(p + 1 - first);
        for (let j = first; j <= p; j++) {
          let dot = 0;
          for (let i = 0; i < headDim; i++) dot += q[t * qDim + h * headDim + i]! * kc[j * kvDim + kvo + i]!;
          s[j - first] = softcap(dot / Math.sqrt(headDim), cap || undefined);
        }
        softmax(s, s.length);
        for (let i = 0; i < headDim; i++) {
          let acc = 0;
          for (let j = first; j <= p; j++) acc += s[j - first]! * vc[j * kvDim + kvo + i]!;
          want[t * qDim + h * headDim + i] = acc;
        }
      }
    }
    expect(nmse(got, want)).toBeLessThan(TOL.attentionNMSE);
  });
});
