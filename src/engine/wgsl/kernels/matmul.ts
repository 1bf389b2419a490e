/**
 * shaders/matmul.wgsl: y[t, n] = W[n, :] · x[t, :] (+ bias). One Op per weight part (tensors
 * larger than a storage binding are split by rows). Two op lists: `matvec` for decode (the
 * coalesced reduction on GPUs, whose steps of several tokens read each weight block once per
 * TOKENS_PER_WORKGROUP tokens; on CPU-backed adapters such as SwiftShader, where barriers and
 * instructions are dear, a thread per 4 rows) and `gemm` for longer steps (on GPUs the
 * register-tiled gemm of shaders/gemm_tiled.wgsl; a thread per 4 rows x 4 tokens on CPU-backed
 * adapters). Q4_0W and Q8_0W matrices
 * (CPU-backed adapters) take integer inputs instead: a quantize op, then the integer kernels.
 */
import type { GpuDType } from '../weights.js';
import { bind, grid, type Op, type PipelineCache } from './op.js';
import { quantizeOp } from './quantize.js';

export interface WeightPart {
  buffer: GPUBuffer;
  rowOffset: number;
  rows: number;
}

export interface MatmulArgs {
  label: string;
  dtype: GpuDType;
  K: number;
  parts: WeightPart[];
  x: GPUBuffer;
  xOffset?: number;
  y: GPUBuffer;
  yOffset?: number;
  /** Width of one token's output row in y (defaults to the total rows N). */
  yStride?: number;
  bias?: GPUBuffer;
  /** Fixed token count, or undefined for the step's T. */
  tokens?: number;
  step: GPUBuffer;
  /** A placeholder bound where no bias exists (bindings used by the shader must be bound). */
  dummy: GPUBuffer;
  /** The CPU-backed adapters' kernels: matvec_rows and gemm_rows instead of matvec and gemm. */
  cpuBacked?: boolean;
  /**
   * A fused matrix's row segments and their buffers (e.g. q|k|v): segment i's rows go to its own
   * buffer, [T, rows]. Replaces y; at most three.
   */
  segments?: { buffer: GPUBuffer; rows: number }[];
  /** y += W x (the output and down projections add into the residual stream). */
  accumulate?: boolean;
  /**
   * The op before the matmul, folded into the matvec (GPUs only; no gemm or one-row-per-thread
   * ops are made then): RMSNorm of x with its weight, or silu(x) * up.
   */
  input?: { rmsnorm: GPUBuffer; eps: number } | { swiglu: GPUBuffer };
  /** Q4_0W, Q8_0W: where the quantised inputs go (quantizedWords of K for the step's tokens). */
  xq?: GPUBuffer;
  /**
   * The GPU decode kernel (tests and kernel comparisons; otherwise WEBINFER_MATVEC in Node, else
   * the fastest the device allows): 'wide' = matvec_wide, with subgroup reductions where the
   * device has them; 'wide-wg' = matvec_wide with workgroup-memory reductions; 'classic' = the
   * 4-row matvec. Shapes the wide kernel cannot take (K not a multiple of 32, x_off not of 4)
   * use the classic one.
   */
  matvec?: MatvecKernel;
  /** Tokens per gemm_tiled workgroup (GPUs), 64 or 32 (tests take both); gemmTokens(rows) by default. */
  gemmTokens?: 32 | 64;
  /** Tokens per matvec_wide_tokens workgroup, 4 or 8 (tests and the kernel harness take both); TOKENS_PER_WORKGROUP by default. */
  tokensPerWorkgroup?: 4 | 8;
}

export type MatvecKernel = 'wide' | 'wide-wg' | 'classic';

/**
 * Tokens per workgroup of matvec_wide_tokens (shaders/matvec_wide.wgsl), the GPU matvec of steps
 * of 2 to MATVEC_MAX_TOKENS rows: each weight block is read once per this many tokens. Four keeps
 * eight accumulators and two dequantised blocks per thread; 8 (llama.cpp's mul_mat_vec limit) is
 * one pass for eight streams. Chosen from the arithmetic, not yet timed on a GPU: `--gpu-kernels`
 * times both.
 */
export const TOKENS_PER_WORKGROUP = 4;

/** Bytes of workgroup memory besides the folded input: matvec_wide's reduction array. */
const WIDE_REDUCTION_BYTES = 2048;

/** The decode kernel for these arguments (see MatmulArgs.matvec). */
export function matvecKernel(device: GPUDevice, a: Pick<MatmulArgs, 'K' | 'xOffset' | 'input' | 'matvec'>): MatvecKernel {
  const env = typeof process !== 'undefined' ? process.env?.WEBINFER_MATVEC : undefined;
  const want = a.matvec ?? (env === 'classic' || env === 'wide-wg' || env === 'wide' ? env : 'wide');
  if (want === 'classic') return want;
  if (a.K % 32 !== 0 || (a.xOffset ?? 0) % 4 !== 0) return 'classic';
  if (a.input && a.K * 4 + WIDE_REDUCTION_BYTES > device.limits.maxComputeWorkgroupStorageSize) return 'classic';
  return want === 'wide' && device.features.has('subgroups' as GPUFeatureName) ? 'wide' : 'wide-wg';
}

/**
 * Tokens per workgroup of gemm_tiled (64 rows each) for a part of `rows` rows. At 64 tokens a
 * prompt step (MAX_STEP = 64) of a 2048-row matrix is only 32 workgroups, a quarter of a large
 * GPU's compute units (an H200 has 132); 32-token tiles double that, for one more pass over the
 * weights (from cache) and half the reuse of each dequantised tile. Matrices of 64 row tiles or
 * more (a 1B model's gate|up: 256) keep 64. A choice from the arithmetic (the 1B prefill it gives is in BENCHMARKS.md; the two tile sizes were not timed apart).
 */
export function gemmTokens(rows: number): number {
  return rows < 64 * 64 ? 32 : 64;
}

/** Whether a folded input of K floats (plus the reduction array) fits one workgroup's memory. */
export function canFoldInput(device: GPUDevice, K: number): boolean {
  return K * 4 + 1024 <= device.limits.maxComputeWorkgroupStorageSize;
}

/** The INPUT override of shaders/matmul.wgsl. */
function inputMode(input: MatmulArgs['input']): number {
  if (!input) return 0;
  return 'rmsnorm' in input ? 1 : 2;
}

const NO_SEGMENT = 0xffffffff;

export async function matmulOps(cache: PipelineCache, a: MatmulArgs): Promise<{ matvec: Op[]; gemm: Op[] }> {
  const device = cache.device;
  const N = a.parts.reduce((s, p) => s + p.rows, 0);
  const seg = a.segments ?? [];
  if (seg.length > 3 || (seg.length && seg.reduce((s, x) => s + x.rows, 0) !== N)) throw new Error(`${a.label}: segments must cover the ${N} rows in at most three parts`);
  const y = seg[0]?.buffer ?? a.y;
  const seg1 = seg.length > 1 ? seg[0]!.rows : NO_SEGMENT;
  const seg2 = seg.length > 2 ? seg1 + seg[1]!.rows : seg.length > 1 ? N : NO_SEGMENT;
  if (a.dtype in INT_KERNELS) return intOps(cache, a, y, seg1, seg2, N);
  const mode = inputMode(a.input);
  if (mode && a.cpuBacked) throw new Error(`${a.label}: folded inputs need the matvec kernel`);
  if (mode && !canFoldInput(device, a.K)) throw new Error(`${a.label}: a folded input of ${a.K} floats does not fit the workgroup memory`);
  const kernel = a.cpuBacked ? undefined : matvecKernel(device, a);
  const wide = kernel === 'wide' || kernel === 'wide-wg';
  // matvec_wide's lanes per row: 64 for long inputs (see shaders/matvec_wide.wgsl), so rows per workgroup 8 or 16
  const lanes = a.K >= 4096 ? 64 : 32;
  const wideRows = 512 / lanes;
  const constants: Record<string, number> | undefined = wide ? { WL: lanes, ...(mode ? { INPUT: mode, XCACHE4: a.K / 4 } : {}) } : mode ? { INPUT: mode, XCACHE: a.K } : undefined;
  const matvecPipeline =
    kernel === 'wide'
      ? cache.get(['matmul', 'matvec_wide', 'matvec_wide_sg'], 'matvec_wide_sg', a.dtype, constants, ['subgroups'])
      : kernel === 'wide-wg'
        ? cache.get(['matmul', 'matvec_wide'], 'matvec_wide', a.dtype, constants)
        : cache.get('matmul', a.cpuBacked ? 'matvec_rows' : 'matvec', a.dtype, constants);
  // Steps of several tokens (no folded input) take matvec_wide_tokens: TOKENS_PER_WORKGROUP
  // tokens per weight pass instead of one.
  const multi = wide && !mode;
  const tw = a.tokensPerWorkgroup ?? TOKENS_PER_WORKGROUP;
  const tokensPipeline = !multi
    ? undefined
    : kernel === 'wide'
      ? cache.get(['matmul', 'matvec_wide', 'matvec_wide_sg'], 'matvec_wide_tokens_sg', a.dtype, { WL: lanes, TW: tw }, ['subgroups'])
      : cache.get(['matmul', 'matvec_wide'], 'matvec_wide_tokens', a.dtype, { WL: lanes, TW: tw });
  const [mv, mt, gms] = await Promise.all([
    matvecPipeline,
    tokensPipeline,
    mode ? undefined : Promise.all(a.parts.map((part) => (a.cpuBacked ? cache.get('matmul', 'gemm_rows', a.dtype) : cache.get(['matmul', 'gemm_tiled'], 'gemm_tiled', a.dtype, { GT_TOKENS: a.gemmTokens ?? gemmTokens(part.rows) })))),
  ]);
  const aux = !a.input ? a.dummy : 'rmsnorm' in a.input ? a.input.rmsnorm : a.input.swiglu;
  const eps = a.input && 'rmsnorm' in a.input ? a.input.eps : 0;
  const matvec: Op[] = [];
  const gemm: Op[] = [];
  for (const [i, part] of a.parts.entries()) {
    const own = partEntries(cache, a, i, { y, seg1, seg2, N, xOffset: a.xOffset ?? 0, eps });
    const entries = { ...own, 1: a.x };
    // Only the matvec entries have the folded-input prologue that reads aux; the wide ones read
    // x as vec4s through a second binding.
    const matvecEntries = a.cpuBacked ? entries : wide ? { ...entries, 8: aux, 10: a.x } : { ...entries, 8: aux };
    const tokens = (T: number) => a.tokens ?? T;
    const groups = Math.ceil(part.rows / (a.cpuBacked ? 64 : wide ? wideRows : 4));
    if (mt) {
      matvec.push({ label: a.label, pipeline: mv, bindGroup: bind(device, mv, matvecEntries, a.label), workgroups: (T) => grid(groups, 1), active: (T) => tokens(T) === 1 });
      // it reads the inputs only as vec4s (binding 10), and no aux
      matvec.push({ label: a.label, pipeline: mt, bindGroup: bind(device, mt, { ...own, 10: a.x }, a.label), workgroups: (T) => grid(groups, Math.ceil(tokens(T) / tw)), active: (T) => tokens(T) > 1 });
    } else {
      matvec.push({ label: a.label, pipeline: mv, bindGroup: bind(device, mv, matvecEntries, a.label), workgroups: (T) => grid(groups, tokens(T)) });
    }
    const gm = gms?.[i];
    if (gm) {
      const tile = a.gemmTokens ?? gemmTokens(part.rows);
      const workgroups = a.cpuBacked ? (T: number) => grid(Math.ceil(part.rows / 64), Math.ceil(tokens(T) / 4)) : (T: number): [number, number, number] => [Math.ceil(part.rows / 64), Math.ceil(tokens(T) / tile), 1];
      gemm.push({ label: a.label, pipeline: gm, bindGroup: bind(device, gm, entries, a.label), workgroups });
    }
  }
  return { matvec, gemm };
}

/**
 * The bindings every matmul entry of part i uses: its weights, outputs, bias, Params and step
 * (the input, x or xq, and aux are the caller's).
 */
function partEntries(cache: PipelineCache, a: MatmulArgs, i: number, o: { y: GPUBuffer; seg1: number; seg2: number; N: number; xOffset: number; eps: number }): Record<number, GPUBuffer> {
  const part = a.parts[i]!;
  const seg = a.segments ?? [];
  const yStride = seg.length ? seg[0]!.rows : (a.yStride ?? o.N);
  const fields = [a.K, part.rows, o.xOffset, a.yOffset ?? 0, yStride, part.rowOffset, a.bias ? 1 : 0, a.tokens ?? 0, o.seg1, o.seg2, o.N, a.accumulate ? 1 : 0, { f32: o.eps }, 0, 0, 0];
  const params = cache.uniform(fields, `${a.label}.params${i}`);
  return { 0: part.buffer, 2: o.y, 3: a.bias ?? a.dummy, 4: params, 5: a.step, 6: seg[1]?.buffer ?? cache.unusedOutput(0), 7: seg[2]?.buffer ?? cache.unusedOutput(1) };
}

/** Each repacked type's integer arithmetic (shaders/int_<type>.wgsl) and input rounding (quantize.wgsl). */
const INT_KERNELS = {
  Q4_0W: { arithmetic: ['int_inputs', 'int_q4_0'], quantize: 'quantize' },
  Q5_0W: { arithmetic: ['int_inputs', 'int_q5_0'], quantize: 'quantize' },
  Q8_0W: { arithmetic: ['int_q8_0'], quantize: 'quantize8' },
  Q4_KW: { arithmetic: ['int_inputs', 'int_q4_k'], quantize: 'quantize' },
  Q6_KW: { arithmetic: ['int_q6_k'], quantize: 'quantize8' },
} as const;

/**
 * The repacked types (Q4_0W, Q5_0W, Q8_0W, Q4_KW, Q6_KW): the inputs quantised once, then every part's integer matmul: a thread per 16 rows
 * for one token, per 4 rows x 4 tokens for prompt steps.
 */
async function intOps(cache: PipelineCache, a: MatmulArgs, y: GPUBuffer, seg1: number, seg2: number, N: number): Promise<{ matvec: Op[]; gemm: Op[] }> {
  if (!a.xq || a.input) throw new Error(`${a.label}: ${a.dtype} weights need a buffer for integer inputs and take no folded input`);
  const device = cache.device;
  const k = INT_KERNELS[a.dtype as keyof typeof INT_KERNELS];
  const [quantize, mv, gm] = await Promise.all([
    quantizeOp(cache, { label: `${a.label}.quantize`, entry: k.quantize, K: a.K, x: a.x, xOffset: a.xOffset, xq: a.xq, tokens: a.tokens, step: a.step }),
    cache.get(['matmul', ...k.arithmetic, 'matvec_int'], 'matvec_int', a.dtype),
    cache.get(['matmul', ...k.arithmetic, 'matvec_int'], 'gemm_int', a.dtype),
  ]);
  const matvec = [quantize];
  const gemm = [quantize];
  const tokens = (T: number) => a.tokens ?? T;
  for (const [i, part] of a.parts.entries()) {
    // x_off 0: quantize has applied it
    const entries = { ...partEntries(cache, a, i, { y, seg1, seg2, N, xOffset: 0, eps: 0 }), 9: a.xq };
    // workgroups of 16 threads: 16 rows each (matvec), 4 rows x 4 tokens each (gemm)
    matvec.push({ label: a.label, pipeline: mv, bindGroup: bind(device, mv, entries, a.label), workgroups: (T) => grid(Math.ceil(part.rows / 256), tokens(T)) });
    gemm.push({ label: a.label, pipeline: gm, bindGroup: bind(device, gm, entries, a.label), workgroups: (T) => grid(Math.ceil(part.rows / 64), Math.ceil(tokens(T) / 4)) });
  }
  return { matvec, gemm };
}
