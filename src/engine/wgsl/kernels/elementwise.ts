/** shaders/elementwise.wgsl: the SiLU-gated activation of the feed-forward block. */
import { bind, grid, uniform, type Op, type PipelineCache } from './op.js';

export async function siluMulOp(cache: PipelineCache, a: { width: number; gate: GPUBuffer; up: GPUBuffer; step: GPUBuffer }): Promise<Op> {
  const pipeline = await cache.get('elementwise', 'silu_mul');
  const params = uniform(cache.device, [a.width, 0, 0, 0], 'silu_mul.params');
  return {
    label: 'silu_mul',
    pipeline,
    bindGroup: bind(cache.device, pipeline, { 0: a.gate, 1: a.up, 2: params, 3: a.step }, 'silu_mul'),
    workgroups: (T) => grid(Math.ceil((T * a.width) / 64)),
  };
}
