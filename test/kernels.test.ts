/**
 * Every WGSL kernel against the CPU reference (src/engine/cpu/forward.ts) on odd shapes — sizes
 * that are not multiples of the workgroup size or of 4 — in Node through Dawn on SwiftShader.
 * Tolerances are named per kernel: NMSE for matmuls and reductions, max-abs for element-wise ops.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { blockElements, f16ToF32, f32ToF16, fromFloat32, toFloat32, type DType } from '../src/formats/dtypes.js';
import { layerRope, type ModelConfig } from '../src/model/config.js';
import { matmul, quantizeInput, quantizeInput8, rmsnorm, rope, softmax } from '../src/engine/cpu/forward.js';
import { attentionOps, attentionPartialBytes } from '../src/engine/wgsl/kernels/attention.js';
import { siluMulOp } from '../src/engine/wgsl/kernels/elementwise.js';
import { embeddingOps } from '../src/engine/wgsl/kernels/embedding.js';
import { HalfToFloat } from '../src/engine/wgsl/kernels/convert.js';
import { matmulOps } from '../src/engine/wgsl/kernels/matmul.js';
import { PipelineCache } from '../src/engine/wgsl/kernels/op.js';
import { addNormOp, normRowsOp } from '../src/engine/wgsl/kernels/rmsnorm.js';
import { ropeStoreOp, ropeTable } from '../src/engine/wgsl/kernels/rope.js';
import { Sampler, type DeviceSampling } from '../src/engine/wgsl/kernels/sample.js';
import { Rng, sample, type SamplingParams } from '../src/engine/sampling.js';
import { applyPenalties, logSoftmax, topK } from '../src/engine/logits.js';
import { GpuWeights, repackQ4_0W, repackQ4_KW, repackQ5_0W, repackQ6_KW, repackQ8_0W } from '../src/engine/wgsl/weights.js';
import { weightBytes } from './helpers/blocks.js';
import { gpu, maxAbs, nmse, randoms } from './helpers/gpu.js';

/** Named tolerances. */
const TOL = { matmulNMSE: 1e-10, attentionNMSE: 1e-10, normAbs: 1e-5, ropeAbs: 2e-5, siluAbs: 1e-6, embedAbs: 0 };

let g: Awaited<ReturnType<typeof gpu>>;
let cache: PipelineCache;
beforeAll(async () => {
  g = await gpu();
  cache = new PipelineCache(g.device);
});

describe('matmul (matvec for T = 1, tiled gemm otherwise)', () => {
  const cases: [DType, number, number][] = [
    ['F32', 67, 37],
    ['F16', 67, 45],
    ['BF16', 99, 33],
    // widths of whole 32-blocks: the one-thread-per-4-rows matvec's shared-input path (dot32x)
    ['F32', 96, 37],
    ['F16', 128, 23],
    ['BF16', 64, 41],
    ['Q8_0', 96, 37],
    ['Q4_0', 160, 29],
    ['Q4_K', 512, 21],
    ['Q6_K', 512, 19],
    // the types llama-quantize writes besides those: 2-byte-aligned blocks (Q5_0, IQ4_NL, Q3_K) in rows that start mid-word
    ['Q4_1', 160, 29],
    ['Q5_0', 96, 37],
    ['Q5_1', 128, 23],
    ['IQ4_NL', 96, 29],
    ['Q2_K', 512, 21],
    ['Q3_K', 256, 19],
    ['Q5_K', 512, 21],
    ['IQ4_XS', 256, 19],
  ];
  it.each(cases)('%s weights, K=%i, N=%i, T in 1 (both matvecs), 5 (matvec and gemm), 19 and 2 (both gemms), with bias and split parts', async (dtype, K, N) => {
    const bytes = weightBytes(dtype, N * K, 7);
    const wq = toFloat32(dtype, bytes, N * K); // what the GPU must see
    const rowBytes = bytes.length / N;
    // two parts, split at an odd row, as for a tensor larger than one binding
    const split = 13;
    const parts = [
      { buffer: g.buffer(bytes.subarray(0, split * rowBytes)), rowOffset: 0, rows: split },
      { buffer: g.buffer(bytes.subarray(split * rowBytes)), rowOffset: split, rows: N - split },
    ];
    const bias = randoms(N, 3);
    // [T, kernel]: both matvec forms at T = 1, the GPU matvec for a few tokens, both gemm forms
    // (the CPU-backed one on token counts that do not fill its groups of 4)
    for (const [T, kernel] of [[1, 'matvec'], [1, 'matvec_rows'], [5, 'matvec'], [5, 'gemm'], [19, 'gemm'], [2, 'gemm_rows'], [19, 'gemm_rows']] as const) {
      const x = randoms(T * K, 11 + T);
      const y = g.buffer(T * N);
      const ops = await matmulOps(cache, { label: 'mm', dtype, K, parts, x: g.buffer(x), y, bias: g.buffer(bias), step: g.step, dummy: g.buffer(4), cpuBacked: kernel.endsWith('rows') });
      await g.run(kernel.startsWith('gemm') ? ops.gemm : ops.matvec, T);
      const got = await g.read(y, T * N);
      const want = new Float32Array(T * N);
      for (let t = 0; t < T; t++) {
        const out = new Float32Array(N);
        matmul(out, x.subarray(t * K, (t + 1) * K), wq, K, N, bias);
        want.set(out, t * N);
      }
      expect(nmse(got, want)).toBeLessThan(TOL.matmulNMSE);
    }
  });
});

describe('fused matrices (q|k|v in one dispatch, one output buffer per segment)', () => {
  it.each(['Q4_0', 'F16'] as DType[])('%s: rows concatenated at load, each segment lands in its buffer, with bias', async (dtype) => {
    const K = 64, rows = [7, 5, 5];
    const weights = new GpuWeights(g.device, 1 << 30);
    const names = ['q', 'k', 'v'];
    const wq = rows.map((n, i) => {
      const bytes = fromFloat32(dtype, randoms(n * K, 40 + i));
      weights.tensor(names[i]!, [n, K], dtype, bytes);
      weights.tensor(names[i] + '.bias', [n], 'F32', new Uint8Array(randoms(n, 50 + i).buffer));
      return toFloat32(dtype, bytes, n * K);
    });
    const biases = rows.map((n, i) => randoms(n, 50 + i));
    const fused = weights.fuse(names, 'qkv')!;
    expect(fused.rows).toBe(17);
    expect(weights.matrices.has('q')).toBe(false);
    const bias = weights.fuseVectors(names.map((n) => n + '.bias'), 'qkv.bias');
    for (const [T, kernel] of [[1, 'matvec'], [1, 'matvec_rows'], [3, 'gemm'], [3, 'gemm_rows']] as const) {
      const x = randoms(T * K, 60 + T);
      const outs = rows.map((n) => g.buffer(T * n));
      const ops = await matmulOps(cache, { label: 'qkv', dtype, K, parts: fused.parts, x: g.buffer(x), y: outs[0]!, bias, segments: rows.map((n, i) => ({ buffer: outs[i]!, rows: n })), step: g.step, dummy: g.buffer(4), cpuBacked: kernel.endsWith('rows') });
      await g.run(kernel.startsWith('gemm') ? ops.gemm : ops.matvec, T);
      for (const [i, n] of rows.entries()) {
        const want = new Float32Array(T * n);
        for (let t = 0; t < T; t++) {
          const out = new Float32Array(n);
          matmul(out, x.subarray(t * K, (t + 1) * K), wq[i]!, K, n, biases[i]);
          want.set(out, t * n);
        }
        expect(nmse(await g.read(outs[i]!, T * n), want)).toBeLessThan(TOL.matmulNMSE);
      }
    }
  });
  it('matrices of different types stay separate', () => {
    const weights = new GpuWeights(g.device, 1 << 30);
    weights.tensor('a', [3, 32], 'Q8_0', fromFloat32('Q8_0', randoms(96, 1)));
    weights.tensor('b', [3, 32], 'Q4_0', fromFloat32('Q4_0', randoms(96, 2)));
    expect(weights.fuse(['a', 'b'], 'ab')).toBeUndefined();
    expect(weights.matrices.has('a') && weights.matrices.has('b')).toBe(true);
  });
});

describe('matvec with the previous op folded in, adding into the residual', () => {
  it.each(['Q4_0', 'Q8_0', 'F32', 'F16', 'Q6_K', 'Q5_0', 'Q3_K'] as DType[])('%s: y += W rmsnorm(x), and y += W (silu(g) * u), T in 1 and 5', async (dtype) => {
    const K = dtype === 'F32' || dtype === 'F16' ? 67 : blockElements(dtype) === 256 ? 256 : 96, N = 29, eps = 1e-5;
    const bytes = weightBytes(dtype, N * K, 70);
    const wq = toFloat32(dtype, bytes, N * K);
    const parts = [{ buffer: g.buffer(bytes), rowOffset: 0, rows: N }];
    const normW = randoms(K, 71);
    for (const T of [1, 5]) {
      const x = randoms(T * K, 72 + T), up = randoms(T * K, 80 + T), y0 = randoms(T * N, 90 + T);
      const folded = (i: number): number[] => {
        const xt = x.subarray(i * K, (i + 1) * K);
        const out = new Float32Array(K);
        rmsnorm(out, xt, normW, K, eps);
        return [...out];
      };
      const swiglu = (i: number): number[] => [...x.subarray(i * K, (i + 1) * K)].map((v, k) => (v / (1 + Math.exp(-v))) * up[i * K + k]!);
      for (const [mode, input, ref] of [
        ['rmsnorm', { rmsnorm: g.buffer(normW), eps }, folded],
        ['swiglu', { swiglu: g.buffer(up) }, swiglu],
      ] as const) {
        const y = g.buffer(y0);
        const ops = await matmulOps(cache, { label: mode, dtype, K, parts, x: g.buffer(x), y, step: g.step, dummy: g.buffer(4), accumulate: true, input });
        expect(ops.gemm).toEqual([]);
        await g.run(ops.matvec, T);
        const want = new Float32Array(T * N);
        for (let t = 0; t < T; t++) {
          const out = new Float32Array(N);
          matmul(out, Float32Array.from(ref(t)), wq, K, N);
          for (let n = 0; n < N; n++) want[t * N + n] = y0[t * N + n]! + out[n]!;
        }
        expect(nmse(await g.read(y, T * N), want), mode).toBeLessThan(TOL.matmulNMSE);
      }
    }
  });
});

const INT_TYPES = [
  { stored: 'Q4_0', repacked: 'Q4_0W', repack: repackQ4_0W, round: quantizeInput, kernels: 'int_q4_0' },
  { stored: 'Q5_0', repacked: 'Q5_0W', repack: repackQ5_0W, round: quantizeInput, kernels: 'int_q5_0' },
  { stored: 'Q4_K', repacked: 'Q4_KW', repack: repackQ4_KW, round: quantizeInput, kernels: 'int_q4_k' },
  { stored: 'Q6_K', repacked: 'Q6_KW', repack: repackQ6_KW, round: quantizeInput8, kernels: 'int_q6_k' },
  { stored: 'Q8_0', repacked: 'Q8_0W', repack: repackQ8_0W, round: quantizeInput8, kernels: 'int_q8_0' },
] as const;

describe('the reference rounding of integer inputs', () => {
  it('Q4_0: power-of-two scales, halfway values to even integers, tiny blocks to zero', () => {
    const x = new Float32Array(64);
    x[0] = 1; // scale 2^-7
    x[1] = 2.5 * 2 ** -7;
    x[2] = 3.5 * 2 ** -7;
    x[3] = -2.5 * 2 ** -7;
    x[32] = 2 ** -101;
    const out = new Float32Array(64);
    quantizeInput(out, x, 64);
    expect([...out.subarray(0, 4)].map((v) => v * 2 ** 7)).toEqual([128, 2, 4, -2]);
    expect(out[32]).toBe(0);
  });
  it('Q8_0: int8 at the scale m / 127, halfway values to even integers, tiny blocks to zero', () => {
    const x = new Float32Array(64);
    x[0] = -127; // scale 1
    x[1] = 2.5;
    x[2] = 3.5;
    x[3] = 126.6;
    x[32] = 2 ** -101;
    const out = new Float32Array(64);
    quantizeInput8(out, x, 64);
    expect([...out.subarray(0, 4)]).toEqual([-127, 2, 4, 127]);
    expect(out[32]).toBe(0);
  });
});

for (const type of INT_TYPES) describe(`integer inputs for ${type.stored} (CPU-backed adapters: ${type.repacked} weights, ${type.kernels})`, () => {
  /** Random inputs plus the blocks the rounding must get right: zeros, values below 2^-100, exact halfway points. */
  function inputs(T: number, K: number, seed: number): Float32Array {
    const x = randoms(T * K, seed);
    for (let t = 0; t < T; t++) {
      const o = t * K;
      x.fill(0, o + 32, o + 64);
      for (let j = o + 64; j < o + 96; j++) x[j] = x[j]! * 2 ** -110;
      // largest |x| 1 (Q4_0's scale 2^-7): odd and even multiples of half a step (ties to even)
      x[o + 96] = -1;
      for (let j = 97; j < 128; j++) x[o + j] = ((j % 9) - 4 + 0.5) * 2 ** -7;
    }
    return x;
  }

  /** y[t] = W · (x[t] rounded as the reference rounds it) (+ bias) */
  function reference(w: Float32Array, x: Float32Array, T: number, K: number, N: number, bias?: Float32Array): Float32Array {
    const want = new Float32Array(T * N);
    const xr = new Float32Array(K);
    for (let t = 0; t < T; t++) {
      type.round(xr, x.subarray(t * K, (t + 1) * K), K);
      const out = new Float32Array(N);
      matmul(out, xr, w, K, N, bias);
      want.set(out, t * N);
    }
    return want;
  }

  // widths of whole blocks: 160 for the 32-blocks, 512 for Q4_K's super-blocks
  const wide = blockElements(type.stored) === 256;
  it(`K=${wide ? 512 : 160}, N=37 in two parts (split at row 13), T 1 and 3 (matvec), 3 and 19 (gemm), with bias: exactly the rounding of the reference`, async () => {
    const K = wide ? 512 : 160, N = 37, split = 13;
    const stored = weightBytes(type.stored, N * K, 17);
    const wq = toFloat32(type.stored, stored, N * K);
    const bytes = type.repack(stored);
    const rowBytes = bytes.length / N;
    const parts = [
      { buffer: g.buffer(bytes.subarray(0, split * rowBytes)), rowOffset: 0, rows: split },
      { buffer: g.buffer(bytes.subarray(split * rowBytes)), rowOffset: split, rows: N - split },
    ];
    const bias = randoms(N, 18);
    for (const [T, kind] of [[1, 'matvec'], [3, 'matvec'], [3, 'gemm'], [19, 'gemm']] as const) {
      const x = inputs(T, K, 20 + T);
      const y = g.buffer(T * N);
      const ops = await matmulOps(cache, { label: 'mm', dtype: type.repacked, K, parts, x: g.buffer(x), y, bias: g.buffer(bias), step: g.step, dummy: g.buffer(4), cpuBacked: true, xq: g.buffer(18 * (K / 32) * T) });
      await g.run(ops[kind], T);
      expect(nmse(await g.read(y, T * N), reference(wq, x, T, K, N, bias)), `${kind}, T=${T}`).toBeLessThan(TOL.matmulNMSE);
    }
  });

  it('fused q|k|v (repacked at load), adding into the output: each segment in its buffer, both kernels', async () => {
    const K = wide ? 256 : 128, rows = [9, 5, 5], T = 2;
    const weights = new GpuWeights(g.device, 1 << 30, new Set([type.stored]));
    const names = ['q', 'k', 'v'];
    const wq = rows.map((n, i) => {
      const bytes = weightBytes(type.stored, n * K, 30 + i);
      weights.tensor(names[i]!, [n, K], type.stored, bytes);
      return toFloat32(type.stored, bytes, n * K);
    });
    const fused = weights.fuse(names, 'qkv')!;
    expect(fused.dtype).toBe(type.repacked);
    const x = inputs(T, K, 33);
    const y0 = rows.map((n, i) => randoms(T * n, 34 + i));
    for (const kind of ['matvec', 'gemm'] as const) {
      const outs = y0.map((v) => g.buffer(v));
      const ops = await matmulOps(cache, { label: 'qkv', dtype: type.repacked, K, parts: fused.parts, x: g.buffer(x), y: outs[0]!, segments: rows.map((n, i) => ({ buffer: outs[i]!, rows: n })), step: g.step, dummy: g.buffer(4), cpuBacked: true, accumulate: true, xq: g.buffer(18 * (K / 32) * T) });
      await g.run(ops[kind], T);
      // accumulate applies to the first segment's buffer (the residual stream); the others are written
      for (const [i, n] of rows.entries()) {
        const want = reference(wq[i]!, x, T, K, n);
        if (i === 0) want.forEach((v, j) => (want[j] = v + y0[0]![j]!));
        expect(nmse(await g.read(outs[i]!, T * n), want), `${kind}, segment ${i}`).toBeLessThan(TOL.matmulNMSE);
      }
    }
  });
});

describe('embedding', () => {
  it.each(['F32', 'Q8_0', 'Q4_0W', 'Q5_0W', 'Q8_0W', 'Q4_KW', 'Q6_KW', 'Q4_1', 'Q5_0', 'Q5_1', 'IQ4_NL', 'Q2_K', 'Q3_K', 'Q5_K', 'IQ4_XS'] as const)('%s table split in parts: rows of the given tokens', async (dtype) => {
    const repacked = INT_TYPES.find((t) => t.repacked === dtype);
    const stored: DType = repacked?.stored ?? (dtype as DType);
    const dim = dtype === 'F32' ? 67 : blockElements(stored) === 256 ? 256 : 96;
    const vocab = 41;
    const storedBytes = weightBytes(stored, vocab * dim, 5);
    const table = toFloat32(stored, storedBytes, vocab * dim);
    const bytes = repacked ? repacked.repack(storedBytes) : storedBytes;
    const rowBytes = bytes.length / vocab;
    const parts = [
      { buffer: g.buffer(bytes.subarray(0, 20 * rowBytes)), rowOffset: 0, rows: 20 },
      { buffer: g.buffer(bytes.subarray(20 * rowBytes)), rowOffset: 20, rows: vocab - 20 },
    ];
    const tokens = [0, 40, 19, 20, 7];
    const out = g.buffer(tokens.length * dim);
    await g.run(await embeddingOps(cache, { dtype, dim, parts, tokens: g.buffer(new Uint32Array(tokens)), out, step: g.step }), tokens.length);
    const got = await g.read(out, tokens.length * dim);
    tokens.forEach((t, i) => expect(maxAbs(got.subarray(i * dim, (i + 1) * dim), table.subarray(t * dim, (t + 1) * dim))).toBeLessThanOrEqual(TOL.embedAbs));
  });
});

describe('rmsnorm', () => {
  // 64 threads per row (GPUs) and 4 (CPU-backed adapters)
  it.each([false, true])('add_norm: x += residual, out = norm(x) * w, over 3 tokens of width 67 (CPU-backed variant: %s)', async (cpuBacked) => {
    const width = 67, T = 3;
    const x = randoms(T * width, 1), r = randoms(T * width, 2), w = randoms(width, 3);
    const xb = g.buffer(x), out = g.buffer(T * width);
    await g.run([await addNormOp(cache, { label: 'n', width, eps: 1e-5, x: xb, residual: g.buffer(r), weight: g.buffer(w), out, step: g.step, cpuBacked })], T);
    const sum = x.map((v, i) => v + r[i]!);
    const want = new Float32Array(T * width);
    for (let t = 0; t < T; t++) rmsnorm(want, sum, w, width, 1e-5, t * width);
    expect(maxAbs(await g.read(out, T * width), want)).toBeLessThan(TOL.normAbs);
    expect(maxAbs(await g.read(xb, T * width), sum)).toBeLessThan(1e-6);
  });
  it.each([false, true])('norm_rows: in-place per-head norm (Qwen3 q/k norm), 2 tokens x 3 heads x 10 (CPU-backed variant: %s)', async (cpuBacked) => {
    const width = 10, rows = 6;
    const x = randoms(rows * width, 4), w = randoms(width, 5);
    const xb = g.buffer(x);
    await g.run([await normRowsOp(cache, { label: 'q', width, rowsPerToken: 3, eps: 1e-6, x: xb, weight: g.buffer(w), step: g.step, cpuBacked })], 2);
    const want = new Float32Array(x);
    for (let r = 0; r < rows; r++) rmsnorm(want, want, w, width, 1e-6, r * width);
    expect(maxAbs(await g.read(xb, rows * width), want)).toBeLessThan(TOL.normAbs);
  });
});

describe('rope', () => {
  const base: Omit<ModelConfig, 'ropeLayout'> = { arch: 'llama', dim: 0, hiddenDim: 0, nLayers: 1, nHeads: 3, nKvHeads: 1, headDim: 10, vocabSize: 1, contextLength: 512, normEps: 1e-5, ropeTheta: 10000, qkvBias: false, qkNorm: false, tiedEmbeddings: true };
  it.each(['interleaved', 'neox'] as const)('%s layout, with Llama 3 style frequency factors, q in place and k into the cache (3 q heads, 1 kv head)', async (layout) => {
    const c: ModelConfig = { ...base, ropeLayout: layout, ropeFreqFactors: Float32Array.from([1, 1.5, 2, 4, 8]) };
    const T = 3, pos0 = 37, qw = c.nHeads * c.headDim, kw = c.nKvHeads * c.headDim;
    const q = randoms(T * qw, 8), k = randoms(T * kw, 9), v = randoms(T * kw, 10);
    const qb = g.buffer(q), kCache = g.buffer(64 * kw), vCache = g.buffer(64 * kw);
    const trig = g.buffer(ropeTable(layerRope(c, 0, 64), 64));
    const neox = layout === 'neox';
    await g.run([await ropeStoreOp(cache, { label: 'rope', heads: c.nHeads, kvHeads: c.nKvHeads, headDim: c.headDim, neox, q: qb, k: g.buffer(k), v: g.buffer(v), kCache, vCache, trig, step: g.step, meta: g.meta({ T, pos0, maxSeq: 64 }) })], T, pos0);
    const wantQ = new Float32Array(q), wantK = new Float32Array(k);
    for (let t = 0; t < T; t++) {
      rope(wantQ.subarray(t * qw, (t + 1) * qw), c.nHeads, pos0 + t, c, layerRope(c, 0, 64));
      rope(wantK.subarray(t * kw, (t + 1) * kw), c.nKvHeads, pos0 + t, c, layerRope(c, 0, 64));
    }
    expect(maxAbs(await g.read(qb, T * qw), wantQ)).toBeLessThan(TOL.ropeAbs);
    const kc = await g.read(kCache, 64 * kw), vc = await g.read(vCache, 64 * kw);
    expect(maxAbs(kc.subarray(pos0 * kw, (pos0 + T) * kw), wantK)).toBeLessThan(TOL.ropeAbs);
    expect(maxAbs(vc.subarray(pos0 * kw, (pos0 + T) * kw), v)).toBe(0);
  });
});

describe('attention', () => {
  it.each([
    [1, 0, 12],
    [1, 300, 12],
    [3, 298, 12],
    [19, 5, 12],
    [2, 253, 72],
    [1, 130, 72],
    [1, 70, 10],
    [7, 250, 10],
    [40, 77, 72],
    [3, 20, 136],
  ])('T=%i queries from position %i, 6 heads on 2 kv heads, head_dim %i, across chunk boundaries: GPU variant (flash kernels split over chunks) and CPU-backed (when head_dim is a multiple of 4 a thread per head and chunk for T = 1, per query and head for T > 1; else the split kernel on 64 threads)', async (T, pos0, hd) => {
    const heads = 6, kvHeads = 2, maxSeq = 333;
    const kvw = kvHeads * hd;
    const q = randoms(T * heads * hd, 21), kc = randoms(maxSeq * kvw, 22), vc = randoms(maxSeq * kvw, 23);
    const out = g.buffer(T * heads * hd);
    const partial = g.buffer(attentionPartialBytes(heads, hd, maxSeq, T) / 4);
    const run = async (cpuBacked: boolean) => {
      await g.run(await attentionOps(cache, { label: 'att', heads, kvHeads, headDim: hd, maxSeq, q: g.buffer(q), kCache: g.buffer(kc), vCache: g.buffer(vc), partial, out, step: g.step, meta: g.meta({ T, pos0, maxSeq }), cpuBacked }), T, pos0);
      return g.read(out, T * heads * hd);
    };
    const want = new Float32Array(T * heads * hd);
    for (let t = 0; t < T; t++) {
      const len = pos0 + t + 1;
      for (let h = 0; h < heads; h++) {
        const kvh = Math.floor(h / (heads / kvHeads));
        const s = new Float32Array(len);
        for (let j = 0; j < len; j++) {
          let d = 0;
          for (let i = 0; i < hd; i++) d += q[(t * heads + h) * hd + i]! * kc[j * kvw + kvh * hd + i]!;
          s[j] = d / Math.sqrt(hd);
        }
        softmax(s, len);
        for (let i = 0; i < hd; i++) {
          let acc = 0;
          for (let j = 0; j < len; j++) acc += s[j]! * vc[j * kvw + kvh * hd + i]!;
          want[(t * heads + h) * hd + i] = acc;
        }
      }
    }
    // GPU kernels, then the CPU-backed adapters' kernels
    expect(nmse(await run(false), want)).toBeLessThan(TOL.attentionNMSE);
    expect(nmse(await run(true), want)).toBeLessThan(TOL.attentionNMSE);
  });
});

describe('silu_mul', () => {
  it('gate = silu(gate) * up over 3 tokens of width 67', async () => {
    const n = 3 * 67;
    const gate = randoms(n, 30).map((v) => v * 6), up = randoms(n, 31);
    const gb = g.buffer(gate);
    await g.run([await siluMulOp(cache, { width: 67, gate: gb, up: g.buffer(up), step: g.step })], 3);
    const want = gate.map((v, i) => (v / (1 + Math.exp(-v))) * up[i]!);
    expect(maxAbs(await g.read(gb, n), want)).toBeLessThan(TOL.siluAbs);
  });
});

describe('f16_to_f32', () => {
  it('999 float16 values from an odd offset, exactly', async () => {
    const all = randoms(1003, 40).map((v) => v * 300);
    const halves = Uint16Array.from(all, (v) => f32ToF16(v));
    const dst = g.buffer(999);
    const conv = await HalfToFloat.create(cache);
    const enc = g.device.createCommandEncoder();
    conv.encode(enc, g.buffer(new Uint8Array(halves.buffer)), 3, 999, dst);
    g.device.queue.submit([enc.finish()]);
    const want = Float32Array.from(halves.subarray(3, 1002), (h) => f16ToF32(h));
    expect(maxAbs(await g.read(dst, 999), want)).toBe(0);
  });
});

describe('sample (GPU sampling = CPU sampling)', () => {
  const V = 999;
  const cases: [string, SamplingParams, Partial<DeviceSampling>][] = [
    ['greedy', { temperature: 0, topP: 1, topK: 0, minP: 0 }, {}],
    ['temperature 0.8', { temperature: 0.8, topP: 1, topK: 0, minP: 0 }, {}],
    ['top-k 7', { temperature: 1, topP: 1, topK: 7, minP: 0 }, {}],
    ['top-p 0.6', { temperature: 1.2, topP: 0.6, topK: 0, minP: 0 }, {}],
    ['min-p 0.05 + top-k 50 + top-p 0.9', { temperature: 0.7, topP: 0.9, topK: 50, minP: 0.05 }, {}],
    ['bias, bans and penalties', { temperature: 1, topP: 0.95, topK: 0, minP: 0 }, { bias: [[3, 5], [10, -1e30], [998, 2.5]], penalties: { frequency: 0.5, presence: 0.3, repetition: 1.3 } }],
  ];
  it.each(cases)('%s: same token for 40 random draws, logprobs of the raw logits', async (_, sampling, extra) => {
    const logits = randoms(V, 77).map((v) => v * 4);
    const sampler = await Sampler.create(cache, V, g.buffer(logits));
    const prompt = [5, 6, 7, 998];
    sampler.reset(prompt);
    // CPU mirror of the device's penalty state
    const counts = new Map<number, number>();
    const seen = new Set(prompt);
    const lp = logSoftmax(logits);
    const rng = new Rng(9);
    for (let i = 0; i < 40; i++) {
      const countToken = i % 3 === 0 ? (i * 37) % V : undefined; // tokens "generated" before this step
      if (countToken !== undefined) {
        counts.set(countToken, (counts.get(countToken) ?? 0) + 1);
        seen.add(countToken);
      }
      const s: DeviceSampling = { sampling, r: rng.next(), bias: [], logprobs: 3, countToken, ...extra };
      sampler.prepare(s);
      await g.run([sampler.op()], 1);
      const out = await g.read(sampler.out(), 8);
      const u = new Uint32Array(out.buffer);
      const processed = logits.slice();
      if (s.penalties) applyPenalties(processed, counts, seen, s.penalties);
      for (const [id, b] of s.bias) processed[id] = b <= -1e29 ? -Infinity : processed[id]! + b;
      expect(u[0]).toBe(sample(processed, sampling, s.r));
      expect(out[1]).toBeCloseTo(lp[u[0]!]!, 4);
      const top = topK(lp, 3);
      expect([u[2], u[4], u[6]]).toEqual(top.map((t) => t.id));
      expect(out[3]).toBeCloseTo(top[0]!.value, 4);
    }
  });
});
