/** shaders/attention.wgsl: split-over-sequence causal attention and the merge of its chunks. */
import { bind, uniform, type Op, type PipelineCache } from './op.js';

export const ATTENTION_CHUNK = 256;

export async function attentionOps(
  cache: PipelineCache,
  a: { label: string; heads: number; kvHeads: number; headDim: number; maxSeq: number; q: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; partial: GPUBuffer; out: GPUBuffer; step: GPUBuffer; cpuBacked?: boolean },
): Promise<Op[]> {
  if (a.headDim > 512) throw new Error(`attention: head_dim ${a.headDim} is above the supported 512`);
  // 256 threads per chunk on GPUs (scores in one pass, four groups summing values); 64 on CPU-backed adapters.
  const [partialPipe, combinePipe] = await Promise.all([cache.get('attention', 'attn_partial', undefined, a.cpuBacked ? { WG: 64, ACCV: 1 } : { WG: 256, ACCV: 4 * 512 }), cache.get('attention', 'attn_combine')]);
  const maxChunks = Math.ceil(a.maxSeq / ATTENTION_CHUNK);
  const params = uniform(cache.device, [a.heads, a.kvHeads, a.headDim, maxChunks, { f32: 1 / Math.sqrt(a.headDim) }, 0, 0, 0], `${a.label}.params`);
  const entries = { 0: a.q, 1: a.kCache, 2: a.vCache, 3: a.partial, 4: params, 5: a.step, 6: a.out };
  return [
    {
      label: `${a.label}.partial`,
      pipeline: partialPipe,
      bindGroup: bind(cache.device, partialPipe, entries, `${a.label}.partial`),
      workgroups: (T, pos0) => [Math.ceil((pos0 + T) / ATTENTION_CHUNK), a.heads, T],
    },
    {
      label: `${a.label}.combine`,
      pipeline: combinePipe,
      bindGroup: bind(cache.device, combinePipe, { 3: a.partial, 4: params, 5: a.step, 6: a.out }, `${a.label}.combine`),
      workgroups: (T) => [a.heads, T, 1],
      // A step within the first chunk is finished by attn_partial.
      active: (T, pos0) => pos0 + T > ATTENTION_CHUNK,
    },
  ];
}

/** Bytes of the partial-result buffer for steps of up to `maxTokens` tokens. */
export function attentionPartialBytes(heads: number, headDim: number, maxSeq: number, maxTokens: number): number {
  return maxTokens * heads * Math.ceil(maxSeq / ATTENTION_CHUNK) * (headDim + 2) * 4;
}
