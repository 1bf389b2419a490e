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
import { gelu as geluRef, quantizeInput8, rmsnorm, ropeAngles, rotate } from '../src/engine/cpu/forward.js';
import { f16ToF32, f32ToF16 } from '../src/formats/dtypes.js';
import { Kernels } from '../src/engine/wasm/kernels.js';
import { hasRelaxedSimd } from '../src/engine/wasm/module.js';
import { randomBlocks } from './helpers/blocks.js';
import { randoms } from './helpers/gpu.js';
import { ATTENTION_CASES, attentionOutput, BATCH_CASES, checkAttention, checkAttentionRows, checkMatmul, checkTokenIndependence, INPUT_ELEMENTS, MATMUL_CASES, TOL } from './helpers/wasm-cases.js';

const relaxed = await hasRelaxedSimd();
const builds = [
  { name: 'SIMD128, 1 thread', simd: 'simd' as const, threads: 1 },
  { name: 'SIMD128, 2 threads', simd: 'simd' as const, threads: 2 },
  ...(relaxed
    ? [
        { name: 'relaxed SIMD, 1 thread', simd: 'relaxed' as const, threads: 1, fourWay: false },
        { name: 'relaxed SIMD, 2 threads', simd: 'relaxed' as const, threads: 2, fourWay: false },
        // the four-way dot kernels, whether or not this CPU would pick them (Kernels.create times both)
        { name: 'relaxed SIMD with four-way dots, 2 threads', simd: 'relaxed' as const, threads: 2, fourWay: true },
      ]
    : []),
];

const all: Kernels[] = [];
afterAll(() => all.forEach((k) => k.dispose()));

describe.each(builds)('$name', (build) => {
  let k: Kernels;
  const kernels = async () => {
    if (!k) {
      k = await Kernels.create({ simd: build.simd, threads: build.threads, fourWay: 'fourWay' in build ? build.fourWay : undefined });
      all.push(k);
      k.reserveInputs(INPUT_ELEMENTS);
    }
    return k;
  };

  it('runs the build it was asked for', async () => {
    const k = await kernels();
    expect(k.simd).toBe(build.simd);
    if ('fourWay' in build) expect(k.fourWay).toBe(build.fourWay);
    expect(k.threads).toBe(build.threads);
  });

  it.each(MATMUL_CASES)('matmul %s: %i rows × %i cols, %i tokens', async (dtype, rows, cols, T) => {
    expect(checkMatmul(await kernels(), dtype, rows, cols, T)).toBeLessThan(TOL.matmulNMSE);
  });
  it.each(BATCH_CASES)('matmul %s, %i rows × %i cols: each token of a chunk of 1 to 32 gives the bits it gives alone', async (dtype, rows, cols) => {
    expect(checkTokenIndependence(await kernels(), dtype, rows, cols)).toEqual([]);
  });
  it.each([['Q4_0', 32, 18], ['Q5_0', 32, 22], ['Q4_K', 256, 144], ['Q6_K', 256, 210], ['Q8_0', 32, 34]] as const)('%s with rows in fours: stored interleaved under relaxed SIMD (Q8_0: with four-way dots), each row read back as the file stores it', async (dtype, block, blockBytes) => {
    const k = await kernels();
    const cols = 3 * block;
    const bytes = randomBlocks(dtype, 12 * cols, 3);
    const m = k.store('w', dtype, 12, cols, bytes);
    expect(m.layout).toBe(build.simd === 'relaxed' && (dtype !== 'Q8_0' || k.fourWay) ? 'x4' : 'rows');
    if (m.layout === 'x4') expect(k.mem.u8(m.ptr, m.bytes)).not.toEqual(bytes);
    const rowBytes = 3 * blockBytes;
    for (let r = 0; r < 12; r++) expect(k.row(m, r), `row ${r}`).toEqual(bytes.subarray(r * rowBytes, (r + 1) * rowBytes));
    expect(k.store('odd', dtype, 7, cols, randomBlocks(dtype, 7 * cols, 4)).layout).toBe('rows');
  });
  it('quantize: the reference integers, their scales and sums per 16 and 32; zero and tiny blocks give zeros', async () => {
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
    // then the sums per 32, where the packed Q4_0/Q5_0 kernels read them (wasm/simd.ts, sums32)
    const s32 = new Int32Array(k.mem.memory.buffer, xs + ((2 * n) / 16) * 4, (2 * n) / 32);
    for (let b = 0; b < (2 * n) / 32; b++) expect(s32[b], `block ${b}`).toBe(s[2 * b]! + s[2 * b + 1]!);
    expect(Array.from(q.subarray(32, 96)).every((v) => v === 0)).toBe(true);
    // a larger input, rounded on the pool or by the caller alone (the chooser alternates at first): the same bytes
    const T = 8, wide = 2048; // 2^14 values: the least the pool takes (within INPUT_ELEMENTS)
    const big = k.mem.alloc(T * wide * 4, 'x');
    k.mem.f32(big, T * wide).set(randoms(T * wide, 6));
    const bytes = (elements: number) => [xq, xd, xs].map((p, i) => k.mem.u8(p, [elements * 2, elements / 8, elements / 4 + elements / 8][i]!).slice());
    let first: Uint8Array[] | undefined;
    for (let call = 0; call < 6; call++) {
      k.input(big, wide, T, true);
      const now = bytes(T * wide);
      first ??= now;
      expect(now, `call ${call}`).toEqual(first);
    }
  });

  it.each(ATTENTION_CASES)('attention: %i heads / %i kv, dim %i, %i tokens at %i, window %i, softcap %i, float16 cache %i', async (nHeads, nKv, headDim, T, pos, window, cap, half) => {
    expect(checkAttention(await kernels(), nHeads, nKv, headDim, T, pos, window, cap, half)).toBeLessThan(TOL.attentionNMSE);
  });

  it.each([0, 1])('attention: rows of two sequences in one call give the bits each gives alone (float16 cache %i)', async (half) => {
    expect(checkAttentionRows(await kernels(), 9, 3, 64, half)).toEqual([]);
  });
  it.each([
    [8, 2, 64, 0],
    [9, 3, 64, 1],
    [8, 2, 18, 0], // head dim not a multiple of 16 or 32: the kernels' tails
  ])('attention: a head gives the same bits computed with the others of its kv head two at a time or alone (%i heads / %i kv, dim %i, float16 cache %i)', async (nHeads, nKv, headDim, half) => {
    const group = nHeads / nKv;
    const spans = Array.from({ length: group }, (_, i) => i + 1).filter((s) => group % s === 0);
    const k = await kernels();
    const outs = spans.map((span) => new Uint32Array(attentionOutput(k, nHeads, nKv, headDim, 5, 40, 0, 0, half, span).got.buffer));
    expect(outs.length).toBeGreaterThan(1);
    for (const o of outs.slice(1)) expect(o).toEqual(outs[0]);
  });

  it.each([['SiLU', 0], ['GELU', 1]] as const)('gatedAct %s: within a few float32 ulps of the float64 reference, any length, the same bits wherever an element sits', async (_, gelu) => {
    const k = await kernels();
    const special = [0, -0, 1e-30, -1e-30, 0.5, -0.5, 3, -3, 20, -20, 87, -87, 88, -88, 100, -100, 1e4, -1e4, Infinity, -Infinity, NaN];
    const g = Float32Array.from([...special, ...randoms(4003, 11).map((v, i) => v * 2 ** ((i % 24) - 10))]);
    const u = Float32Array.from(g, (_, i) => (i % 7 === 3 ? -1 : 1) * (1 + (i % 5) / 4));
    const n = g.length;
    const gp = k.mem.alloc(n * 4, 'g'), up = k.mem.alloc(n * 4, 'u');
    const run = (from: number, count: number) => {
      k.mem.f32(gp, n).set(g);
      k.mem.f32(up, n).set(u);
      k.k.gatedAct(gp + from * 4, up + from * 4, count, gelu);
      return k.mem.f32(gp, n).slice(from, from + count);
    };
    const got = run(0, n);
    for (let i = 0; i < n; i++) {
      const x = g[i]!;
      // GELU as x σ(2z), the tanh form's value without its cancellation in 1 + tanh(z) for z ≪ 0
      const want = (gelu ? x / (1 + Math.exp(-1.5957691216057308 * (x + 0.044715 * x ** 3))) : x / (1 + Math.exp(-x))) * u[i]!;
      if (gelu && Number.isFinite(x) && x > -3) expect(Math.abs(want - geluRef(x) * u[i]!)).toBeLessThanOrEqual(1e-12 * Math.abs(want) + 1e-300);
      const ulp = Math.max(2 ** -149, 2 ** (Math.floor(Math.log2(Math.abs(want) || 2 ** -149)) - 23));
      // GELU's σ argument t = 2√(2/π)(x + 0.044715x³) is rounded to float32 first, and e^t carries
      // that rounding times |t|; below 2^-100 (x ≤ -87 for SiLU: e^-87 is where the exp flushes to 0) nothing is asked
      const t = gelu ? Math.abs(1.5957691216057308 * (x + 0.044715 * x ** 3)) : 0;
      const bound = 4 * ulp + Math.abs(want) * t * 2 ** -23 + 2 ** -100;
      if (Number.isNaN(want)) expect(got[i], `${x}`).toBeNaN();
      else if (!Number.isFinite(want)) expect(got[i], `${x}`).toBe(want);
      else expect(Math.abs(got[i]! - want), `${x}`).toBeLessThanOrEqual(bound);
    }
    // a tail element (past the last whole vector) gets the bits it gets inside one
    for (const [from, count] of [[1, 9], [5, 3], [2, 4001]]) expect(run(from!, count!)).toEqual(got.slice(from, from! + count!));
    // by rows through Kernels.gatedAct: on the pool or the caller alone (the chooser alternates at first), the same bits
    const T = 8, gr = k.mem.alloc(T * n * 4, 'g rows'), ur = k.mem.alloc(T * n * 4, 'u rows');
    for (let call = 0; call < 6; call++) {
      for (let t = 0; t < T; t++) {
        k.mem.f32(gr + t * n * 4, n).set(g);
        k.mem.f32(ur + t * n * 4, n).set(u);
      }
      k.gatedAct(gr, ur, n, T, gelu === 1);
      for (let t = 0; t < T; t++) expect(k.mem.f32(gr + t * n * 4, n).slice(), `call ${call}, row ${t}`).toEqual(got);
    }
  });
  // Enough rows for the pool (calls alternate pool and caller at first: both are checked), an odd width for the vector loop's tail.
  it.each([[0, 1e-5], [1, 1e-6]])('rmsnorm (residual %i, eps %d): the CPU reference\'s bits, in place or not, pooled or alone', async (residual, eps) => {
    const k = await kernels();
    const T = 19, n = 871;
    const x0 = Float32Array.from(randoms(T * n, 5), (v, i) => v * 2 ** ((i % 9) - 4)), add = Float32Array.from(randoms(T * n, 6));
    const w = Float32Array.from(randoms(n, 7), (v) => 1 + v);
    const xp = k.mem.alloc(T * n * 4, 'x'), ap = k.mem.alloc(T * n * 4, 'add'), wp = k.mem.alloc(n * 4, 'w'), op = k.mem.alloc(T * n * 4, 'out');
    k.mem.f32(ap, T * n).set(add);
    k.mem.f32(wp, n).set(w);
    const xRef = x0.slice();
    if (residual) for (let i = 0; i < T * n; i++) xRef[i] = xRef[i]! + add[i]!;
    const want = new Float32Array(T * n);
    for (let t = 0; t < T; t++) rmsnorm(want, xRef, w, n, eps, t * n);
    for (let call = 0; call < 4; call++) {
      k.mem.f32(xp, T * n).set(x0);
      const inPlace = call % 2 === 1;
      k.rmsnorm(xp, residual ? ap : 0, wp, inPlace ? xp : op, n, T, eps);
      expect(k.mem.f32(inPlace ? xp : op, T * n).slice(), `call ${call}`).toEqual(want);
      if (!inPlace) expect(k.mem.f32(xp, T * n).slice(), `call ${call}: x after the residual`).toEqual(xRef);
    }
  });
  it.each([
    ['neox', 40, false],
    ['neox, partial', 24, true],
    ['interleaved', 40, true],
    ['interleaved, partial', 16, false],
  ] as const)('rope (%s, q/k norms %s): the CPU reference\'s norms and rotation, bit for bit, pooled or alone', async (layout, ropeDim, norms) => {
    const k = await kernels();
    const T = 53, nHeads = 6, nKvHeads = 2, headDim = 40, eps = 1e-6;
    const c = { headDim, ropeLayout: layout.startsWith('interleaved') ? ('interleaved' as const) : ('neox' as const) };
    const r = { dim: ropeDim, attnFactor: 1.25, freqs: Float64Array.from({ length: ropeDim / 2 }, (_, i) => 10000 ** ((-2 * i) / ropeDim)) };
    const positions = Array.from({ length: T }, (_, t) => (t * 37) % 3001);
    const angles = new Float64Array(T * ropeDim);
    positions.forEach((pos, t) => ropeAngles(pos, r, angles, t * ropeDim));
    const q0 = Float32Array.from(randoms(T * nHeads * headDim, 8)), k0 = Float32Array.from(randoms(T * nKvHeads * headDim, 9));
    const qn = Float32Array.from(randoms(headDim, 10), (v) => 1 + v), kn = Float32Array.from(randoms(headDim, 11), (v) => 1 + v);
    const wantQ = q0.slice(), wantK = k0.slice();
    for (let t = 0; t < T; t++) {
      const q = wantQ.subarray(t * nHeads * headDim, (t + 1) * nHeads * headDim), kk = wantK.subarray(t * nKvHeads * headDim, (t + 1) * nKvHeads * headDim);
      if (norms) {
        for (let h = 0; h < nHeads; h++) rmsnorm(q, q, qn, headDim, eps, h * headDim);
        for (let h = 0; h < nKvHeads; h++) rmsnorm(kk, kk, kn, headDim, eps, h * headDim);
      }
      rotate(q, nHeads, c, r, angles, t * ropeDim);
      rotate(kk, nKvHeads, c, r, angles, t * ropeDim);
    }
    const qp = k.mem.alloc(q0.length * 4, 'q'), kp = k.mem.alloc(k0.length * 4, 'k'), ap = k.mem.alloc(angles.length * 8, 'angles');
    const qnp = k.mem.alloc(headDim * 4, 'q norm'), knp = k.mem.alloc(headDim * 4, 'k norm');
    new Float64Array(k.mem.memory.buffer, ap, angles.length).set(angles);
    k.mem.f32(qnp, headDim).set(qn);
    k.mem.f32(knp, headDim).set(kn);
    for (let call = 0; call < 4; call++) {
      k.mem.f32(qp, q0.length).set(q0);
      k.mem.f32(kp, k0.length).set(k0);
      k.rope({ q: qp, k: kp, angles: ap, qNorm: norms ? qnp : 0, kNorm: norms ? knp : 0, nHeads, nKvHeads, headDim, ropeDim, interleaved: c.ropeLayout === 'interleaved', eps, rows: T });
      expect(k.mem.f32(qp, q0.length).slice(), `call ${call}: q`).toEqual(wantQ);
      expect(k.mem.f32(kp, k0.length).slice(), `call ${call}: k`).toEqual(wantK);
    }
  });
  it('storeKv: float16 bits as f32ToF16 rounds them (ties to even, subnormals, overflow, NaN), float32 copied', async () => {
    const k = await kernels();
    const special = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e6, -1e6, Infinity, -Infinity, NaN, 2 ** -14, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 3 * 2 ** -26, 2 ** -26, 1e-10, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 5.960464477539063e-8];
    const values = Float32Array.from([...special, ...special.map((v) => -v), ...randoms(4000, 9).map((v, i) => v * 2 ** ((i % 40) - 28))]);
    const n = values.length;
    const src = k.mem.alloc(n * 4, 'src'), dst = k.mem.alloc(n * 4, 'dst'), vdst = k.mem.alloc(n * 4, 'values');
    k.mem.f32(src, n).set(values);
    // one position of one head of n elements, slot 0: row 0 of block 0; the values are the keys reversed
    const vsrc = k.mem.alloc(n * 4, 'vsrc');
    k.mem.f32(vsrc, n).set(values.slice().reverse());
    const slot = k.mem.alloc(4, 'slot');
    new Int32Array(k.mem.memory.buffer, slot, 1)[0] = 0;
    k.storeKv(src, vsrc, dst, vdst, slot, 1, 1, n, true);
    const got = new Uint16Array(k.mem.memory.buffer, dst, n), gotV = new Uint16Array(k.mem.memory.buffer, vdst, n);
    for (let i = 0; i < n; i++) expect(got[i], `${values[i]}`).toBe(f32ToF16(values[i]!));
    for (let i = 0; i < n; i++) expect(gotV[n - 1 - i], `${values[i]}`).toBe(f32ToF16(values[i]!));
    k.storeKv(src, vsrc, dst, vdst, slot, 1, 1, n, false);
    expect(new Uint32Array(k.mem.memory.buffer, dst, n)).toEqual(new Uint32Array(values.buffer));
    expect(new Uint32Array(k.mem.memory.buffer, vdst, n)).toEqual(new Uint32Array(values.slice().reverse().buffer));
  });
  it.each([0, 1])('storeKv: positions of 3 heads × 5 go to their slots, each head\'s 16 rows of a block together (float16 %i)', async (half) => {
    const k = await kernels();
    const heads = 3, dim = 5, blocks = 3, width = heads * dim;
    const slots = [7, 40, 16, 47]; // block 0 row 7, block 2 row 8, block 1 row 0, block 2 row 15
    const values = Float32Array.from({ length: slots.length * width }, (_, i) => i + 1);
    const src = k.mem.alloc(values.length * 4, 'src'), vsrc = k.mem.alloc(values.length * 4, 'vsrc'), slotsAt = k.mem.alloc(slots.length * 4, 'slots');
    const bytes = blocks * 16 * width * 4, cache = k.mem.alloc(bytes, 'cache'), vcache = k.mem.alloc(bytes, 'vcache');
    k.mem.f32(src, values.length).set(values);
    k.mem.f32(vsrc, values.length).set(values.map((v) => -v));
    new Int32Array(k.mem.memory.buffer, slotsAt, slots.length).set(slots);
    k.mem.u8(cache, bytes).fill(0);
    k.mem.u8(vcache, bytes).fill(0);
    k.storeKv(src, vsrc, cache, vcache, slotsAt, slots.length, heads, dim, half === 1);
    const n = blocks * 16 * width;
    const read = (at: number) => (half ? Float32Array.from(new Uint16Array(k.mem.memory.buffer, at, n), f16ToF32) : k.mem.f32(at, n).slice());
    const want = new Float32Array(n), wantV = new Float32Array(n);
    slots.forEach((slot, t) => {
      const b = Math.floor(slot / 16), row = slot % 16;
      for (let h = 0; h < heads; h++) {
        for (let d = 0; d < dim; d++) {
          want[b * 16 * width + (h * 16 + row) * dim + d] = values[t * width + h * dim + d]!;
          wantV[b * 16 * width + (h * 16 + row) * dim + d] = -values[t * width + h * dim + d]!;
        }
      }
    });
    expect(read(cache)).toEqual(want);
    expect(read(vcache)).toEqual(wantV);
  });
});
