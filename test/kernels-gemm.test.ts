/**
 * The GPUs' prompt-step gemm (shaders/gemm_tiled.wgsl: 64 rows x 64 or 32 tokens per workgroup,
 * k-tiles of 32) against the CPU reference, on shapes that leave every tile edge partial: N past a
 * multiple of 64 and split into parts at rows that are not, T on both sides of one token tile,
 * K = 32·odd for the 32-block types, 256·k for the K-quants, and odd K for the float types (the
 * k-tile then ends past K). Run through Dawn on SwiftShader, so the shapes stay small.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { toFloat32, type DType } from '../src/formats/dtypes.js';
import { matmul } from '../src/engine/cpu/forward.js';
import { gemmTokens, matmulOps } from '../src/engine/wgsl/kernels/matmul.js';
import { PipelineCache } from '../src/engine/wgsl/kernels/op.js';
import { weightBytes } from './helpers/blocks.js';
import { gpu, nmse, randoms } from './helpers/gpu.js';

/** f32 accumulation in a different order than the reference: the same bound as the other matmul tests. */
const MATMUL_NMSE = 1e-10;

let g: Awaited<ReturnType<typeof gpu>>;
let cache: PipelineCache;
beforeAll(async () => {
  g = await gpu();
  cache = new PipelineCache(g.device);
});

/** The reference: y[t] = W x[t] + bias, each token's row of N. */
function reference(wq: Float32Array, x: Float32Array, T: number, K: number, N: number, bias?: Float32Array): Float32Array {
  const want = new Float32Array(T * N);
  for (let t = 0; t < T; t++) {
    const out = new Float32Array(N);
    matmul(out, x.subarray(t * K, (t + 1) * K), wq, K, N, bias);
    want.set(out, t * N);
  }
  return want;
}

/** A matrix's bytes as weight parts split at the given rows (as for a tensor larger than one binding). */
function parts(bytes: Uint8Array, N: number, splits: number[]) {
  const rowBytes = bytes.length / N;
  const edges = [0, ...splits, N];
  return edges.slice(1).map((end, i) => ({ buffer: g.buffer(bytes.subarray(edges[i]! * rowBytes, end * rowBytes)), rowOffset: edges[i]!, rows: end - edges[i]! }));
}

describe('tiled gemm (prompt steps on GPUs)', () => {
  const cases: [DType, number][] = [
    ['F32', 67],
    ['F32', 96],
    ['F16', 99],
    ['BF16', 35],
    ['Q8_0', 96],
    ['Q4_0', 160],
    ['Q4_1', 96],
    ['Q5_0', 160],
    ['Q5_1', 96],
    ['IQ4_NL', 224],
    ['Q2_K', 256],
    ['Q3_K', 512],
    ['Q4_K', 512],
    ['Q5_K', 256],
    ['Q6_K', 512],
    ['IQ4_XS', 256],
  ];
  const N = 70;
  it.each(cases)('%s weights, K=%i, N=70 in two parts (split at row 29), T = 33, 47, 64 and 70, with bias, tiles of 64 and 32 tokens', async (dtype, K) => {
    const bytes = weightBytes(dtype, N * K, 17);
    const wq = toFloat32(dtype, bytes, N * K);
    const ps = parts(bytes, N, [29]);
    const bias = randoms(N, 5);
    for (const gemmTokens of [64, 32] as const) for (const T of [33, 47, 64, 70]) {
      const x = randoms(T * K, 100 + T);
      const y = g.buffer(T * N);
      const ops = await matmulOps(cache, { label: 'mm', dtype, K, parts: ps, x: g.buffer(x), y, bias: g.buffer(bias), step: g.step, dummy: g.buffer(4), gemmTokens });
      await g.run(ops.gemm, T);
      expect(nmse(await g.read(y, T * N), reference(wq, x, T, K, N, bias))).toBeLessThan(MATMUL_NMSE);
    }
  });

  it.each([['Q4_K', 64], ['Q4_0', 32], ['F16', 64]] as [DType, 32 | 64][])('%s, %i-token tiles: fused q|k|v in three parts, segments in their buffers, bias, inputs at an offset, adding into q', async (dtype, gemmTokens) => {
    const K = dtype === 'Q4_K' ? 256 : 96;
    const rows = [81, 23, 23];
    const N = rows.reduce((a, b) => a + b);
    const bytes = weightBytes(dtype, N * K, 23);
    const wq = toFloat32(dtype, bytes, N * K);
    // part edges inside segment 0 (past one tile) and inside segment 1
    const ps = parts(bytes, N, [50, 90]);
    const bias = randoms(N, 29);
    const T = 47;
    const lead = 3; // tokens' worth of other data before the inputs
    const x = randoms((lead + T) * K, 31);
    const init = randoms(T * rows[0]!, 37);
    const outs = [g.buffer(init), g.buffer(T * rows[1]!), g.buffer(T * rows[2]!)];
    const ops = await matmulOps(cache, {
      label: 'qkv', dtype, K, parts: ps, x: g.buffer(x), xOffset: lead * K, y: outs[0]!, bias: g.buffer(bias), accumulate: true,
      segments: rows.map((n, i) => ({ buffer: outs[i]!, rows: n })), step: g.step, dummy: g.buffer(4), gemmTokens,
    });
    await g.run(ops.gemm, T);
    const all = reference(wq, x.subarray(lead * K), T, K, N, bias);
    let r0 = 0;
    for (const [i, n] of rows.entries()) {
      const want = new Float32Array(T * n);
      for (let t = 0; t < T; t++) for (let r = 0; r < n; r++) want[t * n + r] = all[t * N + r0 + r]! + (i === 0 ? init[t * n + r]! : 0);
      expect(nmse(await g.read(outs[i]!, T * n), want)).toBeLessThan(MATMUL_NMSE);
      r0 += n;
    }
  });

  it('writes into a wider output at an offset and stride (y_off, y_stride), leaving the rest untouched', async () => {
    // N = 70 rows: gemmTokens(70) picks 32-token tiles
    expect(gemmTokens(70)).toBe(32);
    expect(gemmTokens(16384)).toBe(64);
    const dtype: DType = 'Q8_0';
    const K = 96, N = 70, T = 33, stride = 100, yOff = 13;
    const bytes = weightBytes(dtype, N * K, 41);
    const wq = toFloat32(dtype, bytes, N * K);
    const x = randoms(T * K, 43);
    const init = randoms(yOff + T * stride, 47);
    const y = g.buffer(init);
    const ops = await matmulOps(cache, { label: 'mm', dtype, K, parts: parts(bytes, N, []), x: g.buffer(x), y, yOffset: yOff, yStride: stride, step: g.step, dummy: g.buffer(4) });
    await g.run(ops.gemm, T);
    const got = await g.read(y, yOff + T * stride);
    const want = Float32Array.from(init);
    const ref = reference(wq, x, T, K, N);
    for (let t = 0; t < T; t++) want.set(ref.subarray(t * N, (t + 1) * N), yOff + t * stride);
    expect(nmse(got, want)).toBeLessThan(MATMUL_NMSE);
    // untouched words stay exactly as they were
    for (let t = 0; t < T; t++) for (let c = N; c < stride && yOff + t * stride + c < want.length; c++) expect(got[yOff + t * stride + c]).toBe(init[yOff + t * stride + c]);
  });
});
