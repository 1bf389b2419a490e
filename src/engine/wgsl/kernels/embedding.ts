/** shaders/embedding.wgsl: token ids → rows of the (possibly quantised, possibly split) table. */
import type { GpuDType } from '../weights.js';
import type { WeightPart } from './matmul.js';
import { bind, type Op, type PipelineCache } from './op.js';

export async function embeddingOps(cache: PipelineCache, a: { dtype: GpuDType; dim: number; parts: WeightPart[]; tokens: GPUBuffer; out: GPUBuffer; step: GPUBuffer }): Promise<Op[]> {
  const pipeline = await cache.get('embedding', 'embed', a.dtype);
  return a.parts.map((part, i) => {
    const params = cache.uniform([a.dim, part.rows, part.rowOffset, 0], `embed.params${i}`);
    return {
      label: 'embedding',
      pipeline,
      bindGroup: bind(cache.device, pipeline, { 0: part.buffer, 1: a.tokens, 2: a.out, 3: params, 4: a.step }, 'embedding'),
      workgroups: (T) => [T, 1, 1],
    };
  });
}
