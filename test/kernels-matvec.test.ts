/**
 * The GPU decode matvec (shaders/matvec_wide.wgsl: 16 rows per workgroup of 256 threads, 32
 * lanes per row; 8 rows of 64 lanes for K >= 4096) in both reductions, subgroup shuffles and workgroup memory, against the CPU
 * reference on odd shapes: N not a multiple of 16 (and N = 1), K a whole number of 32-blocks but
 * not of the 64 blocks two lanes' loop steps take, several parts, fused segments, bias,
 * accumulate and the folded RMSNorm / SwiGLU inputs, T of 1, 3 and 6. Steps of several tokens
 * take matvec_wide_tokens (TOKENS_PER_WORKGROUP tokens per weight pass) unless an input is folded.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { blockElements, fromFloat32, toFloat32, type DType } from '../src/formats/dtypes.js';
import { matmul, rmsnorm } from '../src/engine/cpu/forward.js';
import { matmulOps, matvecKernel, type MatvecKernel } from '../src/engine/wgsl/kernels/matmul.js';
import { PipelineCache } from '../src/engine/wgsl/kernels/op.js';
import { GpuWeights } from '../src/engine/wgsl/weights.js';
import { weightBytes } from './helpers/blocks.js';
import { gpu, nmse, randoms } from './helpers/gpu.js';

const TOL = { matmulNMSE: 1e-10 };
/** Each case compiles a pipeline per reduction and input mode: seconds each on SwiftShader. */
const SLOW = 180_000;

let g: Awaited<ReturnType<typeof gpu>>;
let cache: PipelineCache;
let kernels: MatvecKernel[];
beforeAll(async () => {
  g = await gpu();
  cache = new PipelineCache(g.device);
  // SwiftShader offers subgroups (of 4 lanes): both reductions run there.
  kernels = g.device.features.has('subgroups' as GPUFeatureName) ? ['wide', 'wide-wg'] : ['wide-wg'];
});

/** y[t] = W in(x[t]) (+ bias) for every token: the CPU reference. */
function reference(wq: Float32Array, xs: Float32Array[], K: number, N: number, bias?: Float32Array): Float32Array {
  const want = new Float32Array(xs.length * N);
  xs.forEach((x, t) => {
    const out = new Float32Array(N);
    matmul(out, x, wq, K, N, bias);
    want.set(out, t * N);
  });
  return want;
}

const tokens = (x: Float32Array, T: number, K: number) => Array.from({ length: T }, (_, t) => x.subarray(t * K, (t + 1) * K));

describe('the wide decode matvec', () => {
  it('is what GPU adapters get for whole 32-blocks (subgroups where the device has them); other shapes keep the classic matvec', () => {
    expect(matvecKernel(g.device, { K: 2048 })).toBe(g.device.features.has('subgroups' as GPUFeatureName) ? 'wide' : 'wide-wg');
    expect(matvecKernel(g.device, { K: 67 })).toBe('classic');
    expect(matvecKernel(g.device, { K: 64, xOffset: 2 })).toBe('classic');
    expect(matvecKernel(g.device, { K: 64, matvec: 'classic' })).toBe('classic');
  });

  // K: 3 to 5 blocks (fewer than the lanes), 66 to 96 blocks (a loop step of 2 x 32 blocks and a
  // partial one), 24 sub-blocks of K-quants
  const cases: [DType, number, number][] = [
    ['Q4_0', 160, 37],
    ['Q4_0', 3072, 21],
    // K >= 4096: 64 lanes per row, 8 rows per workgroup (130 and 136 blocks: two loop steps of 128, then a partial one)
    ['Q4_0', 4160, 11],
    ['Q6_K', 4352, 9],
    ['Q8_0', 96, 19],
    ['Q8_0', 2112, 17],
    ['Q4_K', 768, 23],
    ['Q6_K', 768, 18],
    ['F32', 96, 21],
    ['F16', 128, 17],
    ['BF16', 64, 9],
    ['Q5_0', 96, 21],
    ['Q4_1', 160, 17],
    ['Q5_1', 128, 15],
    ['IQ4_NL', 96, 17],
    ['Q2_K', 256, 17],
    ['Q3_K', 256, 19],
    ['Q5_K', 512, 17],
    ['IQ4_XS', 256, 17],
  ];
  it.each(cases)('%s, K=%i, N=%i in two parts, with bias, T 1, 3 and 6 (several tokens per workgroup, the last group partial): both reductions', async (dtype, K, N) => {
    const bytes = weightBytes(dtype, N * K, 5);
    const wq = toFloat32(dtype, bytes, N * K);
    const rowBytes = bytes.length / N;
    const split = 3; // a part smaller than a workgroup's 16 rows, then one that does not fill its last
    const parts = [
      { buffer: g.buffer(bytes.subarray(0, split * rowBytes)), rowOffset: 0, rows: split },
      { buffer: g.buffer(bytes.subarray(split * rowBytes)), rowOffset: split, rows: N - split },
    ];
    const bias = randoms(N, 6);
    for (const matvec of kernels) {
      for (const T of [1, 3, 6]) {
        const x = randoms(T * K, 7 + T);
        const y = g.buffer(T * N);
        const ops = await matmulOps(cache, { label: 'mm', dtype, K, parts, x: g.buffer(x), y, bias: g.buffer(bias), step: g.step, dummy: g.buffer(4), matvec });
        await g.run(ops.matvec, T);
        expect(nmse(await g.read(y, T * N), reference(wq, tokens(x, T, K), K, N, bias)), `${matvec} T=${T}`).toBeLessThan(TOL.matmulNMSE);
      }
    }
  }, SLOW);

  // 8 tokens per workgroup (the other choice the kernel harness times): T 9 is one whole group and
  // a partial one; K of 66 and 136 blocks (32 and 64 lanes)
  it.each([['Q4_0', 2112, 19], ['Q4_K', 768, 21], ['Q6_K', 4352, 9], ['F16', 128, 17]] as [DType, number, number][])('%s, K=%i, N=%i: 8 tokens per workgroup, T 2 and 9, both reductions', async (dtype, K, N) => {
    const bytes = weightBytes(dtype, N * K, 11);
    const wq = toFloat32(dtype, bytes, N * K);
    const parts = [{ buffer: g.buffer(bytes), rowOffset: 0, rows: N }];
    for (const matvec of kernels) {
      for (const T of [2, 9]) {
        const x = randoms(T * K, 12 + T);
        const y = g.buffer(T * N);
        const ops = await matmulOps(cache, { label: 'tw8', dtype, K, parts, x: g.buffer(x), y, step: g.step, dummy: g.buffer(4), matvec, tokensPerWorkgroup: 8 });
        await g.run(ops.matvec, T);
        expect(nmse(await g.read(y, T * N), reference(wq, tokens(x, T, K), K, N)), `${matvec} T=${T}`).toBeLessThan(TOL.matmulNMSE);
      }
    }
  }, SLOW);

  it('N = 1 (a single row), and an input at an offset of 8 floats', async () => {
    const K = 64, N = 1;
    const bytes = weightBytes('Q8_0', N * K, 9);
    const wq = toFloat32('Q8_0', bytes, N * K);
    const x = randoms(8 + K, 10);
    for (const matvec of kernels) {
      const y = g.buffer(N);
      const ops = await matmulOps(cache, { label: 'one', dtype: 'Q8_0', K, parts: [{ buffer: g.buffer(bytes), rowOffset: 0, rows: N }], x: g.buffer(x), xOffset: 8, y, tokens: 1, step: g.step, dummy: g.buffer(4), matvec });
      await g.run(ops.matvec, 4);
      expect(nmse(await g.read(y, N), reference(wq, [x.subarray(8)], K, N)), matvec).toBeLessThan(TOL.matmulNMSE);
    }
  });

  it.each(['Q4_0', 'Q4_K'] as DType[])('%s fused q|k|v (segments of 7, 19 and 5 rows), with bias, adding into the first output', async (dtype) => {
    const K = 256, rows = [7, 19, 5];
    const weights = new GpuWeights(g.device, 1 << 30);
    const names = ['q', 'k', 'v'];
    const wq = rows.map((n, i) => {
      const bytes = fromFloat32(dtype, randoms(n * K, 20 + i));
      weights.tensor(names[i]!, [n, K], dtype, bytes);
      weights.tensor(names[i] + '.bias', [n], 'F32', new Uint8Array(randoms(n, 30 + i).buffer));
      return toFloat32(dtype, bytes, n * K);
    });
    const biases = rows.map((n, i) => randoms(n, 30 + i));
    const fused = weights.fuse(names, 'qkv')!;
    const bias = weights.fuseVectors(names.map((n) => n + '.bias'), 'qkv.bias');
    for (const matvec of kernels) {
      const T = 2;
      const x = randoms(T * K, 40);
      const y0 = randoms(T * rows[0]!, 41);
      const outs = rows.map((n, i) => (i === 0 ? g.buffer(y0) : g.buffer(T * n)));
      const ops = await matmulOps(cache, { label: 'qkv', dtype, K, parts: fused.parts, x: g.buffer(x), y: outs[0]!, bias, segments: rows.map((n, i) => ({ buffer: outs[i]!, rows: n })), step: g.step, dummy: g.buffer(4), accumulate: true, matvec });
      await g.run(ops.matvec, T);
      for (const [i, n] of rows.entries()) {
        const want = reference(wq[i]!, tokens(x, T, K), K, n, biases[i]);
        if (i === 0) want.forEach((v, j) => (want[j] = v + y0[j]!));
        expect(nmse(await g.read(outs[i]!, T * n), want), `${matvec} segment ${i}`).toBeLessThan(TOL.matmulNMSE);
      }
    }
  }, SLOW);

  it.each(['Q4_0', 'Q8_0', 'Q4_K', 'Q6_K', 'F16'] as DType[])('%s: y += W rmsnorm(x) and y += W (silu(g) * u) folded in, N=21, T 1 and 2', async (dtype) => {
    // Q8_0 at K >= 4096: the 64-lane form with its folded input
    const K = blockElements(dtype) === 256 ? 512 : dtype === 'Q8_0' ? 4160 : 2112, N = 21, eps = 1e-5;
    const bytes = weightBytes(dtype, N * K, 50);
    const wq = toFloat32(dtype, bytes, N * K);
    const parts = [{ buffer: g.buffer(bytes), rowOffset: 0, rows: N }];
    const normW = randoms(K, 51);
    for (const matvec of kernels) {
      for (const T of [1, 2]) {
        const x = randoms(T * K, 52 + T), up = randoms(T * K, 54 + T), y0 = randoms(T * N, 56 + T);
        const normed = tokens(x, T, K).map((xt) => {
          const out = new Float32Array(K);
          rmsnorm(out, xt, normW, K, eps);
          return out;
        });
        const swiglu = tokens(x, T, K).map((xt, t) => xt.map((v, k) => (v / (1 + Math.exp(-v))) * up[t * K + k]!));
        for (const [mode, input, xs] of [
          ['rmsnorm', { rmsnorm: g.buffer(normW), eps }, normed],
          ['swiglu', { swiglu: g.buffer(up) }, swiglu],
        ] as const) {
          const y = g.buffer(y0);
          const ops = await matmulOps(cache, { label: mode, dtype, K, parts, x: g.buffer(x), y, step: g.step, dummy: g.buffer(4), accumulate: true, input, matvec });
          await g.run(ops.matvec, T);
          const want = reference(wq, xs, K, N).map((v, j) => v + y0[j]!);
          expect(nmse(await g.read(y, T * N), want), `${matvec} ${mode} T=${T}`).toBeLessThan(TOL.matmulNMSE);
        }
      }
    }
  }, SLOW);
});
