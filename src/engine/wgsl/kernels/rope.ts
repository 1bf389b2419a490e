/** shaders/rope.wgsl: RoPE on q in place, and RoPE on k while storing k and v into the cache. */
import { bind, grid, uniform, type Op, type PipelineCache } from './op.js';

export async function ropeQOp(cache: PipelineCache, a: { heads: number; headDim: number; neox: boolean; q: GPUBuffer; invFreq: GPUBuffer; step: GPUBuffer }): Promise<Op> {
  const pipeline = await cache.get('rope', 'rope_q');
  const params = uniform(cache.device, [a.heads, a.headDim, a.neox ? 1 : 0, 0], 'rope_q.params');
  return {
    label: 'rope_q',
    pipeline,
    bindGroup: bind(cache.device, pipeline, { 0: a.q, 1: a.invFreq, 2: params, 3: a.step }, 'rope_q'),
    workgroups: (T) => grid(Math.ceil((T * a.heads * a.headDim) / 2 / 64)),
  };
}

export async function storeKVOp(
  cache: PipelineCache,
  a: { label: string; kvHeads: number; headDim: number; neox: boolean; k: GPUBuffer; v: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; invFreq: GPUBuffer; step: GPUBuffer },
): Promise<Op> {
  const pipeline = await cache.get('rope', 'store_kv');
  const params = uniform(cache.device, [a.kvHeads, a.headDim, a.neox ? 1 : 0, 0], `${a.label}.params`);
  return {
    label: a.label,
    pipeline,
    bindGroup: bind(cache.device, pipeline, { 1: a.invFreq, 2: params, 3: a.step, 4: a.k, 5: a.v, 6: a.kCache, 7: a.vCache }, a.label),
    workgroups: (T) => grid(Math.ceil((T * a.kvHeads * a.headDim) / 2 / 64)),
  };
}
