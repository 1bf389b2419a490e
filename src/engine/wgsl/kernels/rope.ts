/** shaders/rope.wgsl: RoPE on q in place and on k while storing k and v into the paged cache (kv_meta, paged.wgsl), in one dispatch. */
import type { LayerRope } from '../../../model/config.js';
import { bind, grid, kvConstants, type Op, type PipelineCache } from './op.js';

/** (cos, sin) × attnFactor of every position × rotated pair, in float64 then rounded: [maxSeq, dim/2, 2]. */
export function ropeTable(r: LayerRope, maxSeq: number): Float32Array<ArrayBuffer> {
  const half = r.dim / 2;
  const out = new Float32Array(maxSeq * half * 2);
  for (let i = 0; i < half; i++) {
    for (let pos = 0; pos < maxSeq; pos++) {
      out[(pos * half + i) * 2] = Math.cos(pos * r.freqs[i]!) * r.attnFactor;
      out[(pos * half + i) * 2 + 1] = Math.sin(pos * r.freqs[i]!) * r.attnFactor;
    }
  }
  return out;
}

export async function ropeStoreOp(
  cache: PipelineCache,
  a: { label: string; heads: number; kvHeads: number; headDim: number; neox: boolean; q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; trig: GPUBuffer; step: GPUBuffer; meta: GPUBuffer; rotDim?: number;
    /** The cache holds float16 pairs (paged.wgsl's KV_HALF). */
    kvHalf?: boolean },
): Promise<Op> {
  const pipeline = await cache.get(['paged', 'rope'], 'rope_store', undefined, kvConstants(a.kvHalf));
  const params = cache.uniform([a.heads, a.kvHeads, a.headDim, a.neox ? 1 : 0, a.rotDim ?? a.headDim, 0, 0, 0], `${a.label}.params`);
  return {
    label: a.label,
    pipeline,
    bindGroup: bind(cache.device, pipeline, { 0: a.q, 1: a.trig, 2: params, 3: a.step, 4: a.k, 5: a.v, 6: a.kCache, 7: a.vCache, 15: a.meta }, a.label),
    workgroups: (T) => grid(Math.ceil((T * (a.heads + a.kvHeads) * a.headDim) / 2 / 64)),
  };
}
