/** shaders/rmsnorm.wgsl: RMSNorm with the residual add fused in, and in-place per-head norms. */
import { bind, type Op, type PipelineCache } from './op.js';

/** Threads per row: 4 on CPU-backed adapters (see shaders/rmsnorm.wgsl). */
const threads = (cpuBacked?: boolean) => ({ WG: cpuBacked ? 4 : 64 });

/** x += residual (when given); out = rmsnorm(x) * weight, for every token of the step. */
export async function addNormOp(cache: PipelineCache, a: { label: string; width: number; eps: number; x: GPUBuffer; residual?: GPUBuffer; weight: GPUBuffer; out: GPUBuffer; step: GPUBuffer; cpuBacked?: boolean }): Promise<Op> {
  const pipeline = await cache.get('rmsnorm', 'add_norm', undefined, threads(a.cpuBacked));
  const params = cache.uniform([a.width, 1, { f32: a.eps }, a.residual ? 1 : 0], `${a.label}.params`);
  // With no residual the binding still needs a buffer; `out` is never read through it.
  const entries = { 0: a.x, 1: a.weight, 2: params, 3: a.step, 4: a.residual ?? a.weight, 5: a.out };
  return { label: a.label, pipeline, bindGroup: bind(cache.device, pipeline, entries, a.label), workgroups: (T) => [T, 1, 1] };
}

/** In-place RMSNorm of every head_dim-wide row (Qwen3 q/k norm). */
export async function normRowsOp(cache: PipelineCache, a: { label: string; width: number; rowsPerToken: number; eps: number; x: GPUBuffer; weight: GPUBuffer; step: GPUBuffer; cpuBacked?: boolean }): Promise<Op> {
  const pipeline = await cache.get('rmsnorm', 'norm_rows', undefined, threads(a.cpuBacked));
  const params = cache.uniform([a.width, a.rowsPerToken, { f32: a.eps }, 0], `${a.label}.params`);
  return {
    label: a.label,
    pipeline,
    bindGroup: bind(cache.device, pipeline, { 0: a.x, 1: a.weight, 2: params, 3: a.step }, a.label),
    workgroups: (T) => [T * a.rowsPerToken, 1, 1],
  };
}
