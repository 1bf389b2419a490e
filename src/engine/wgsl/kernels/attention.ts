/**
 * Causal attention over the KV cache, shaders/attention.wgsl: attn_partial (split over the
 * sequence) and attn_combine (the merge of its chunks) on GPUs. On CPU-backed adapters,
 * barrier-free kernels when head_dim is a multiple of 4: attn_decode (a thread per head and
 * chunk, merged by attn_combine) for decode, attn_rows (a thread per query and head) for prompt
 * steps; otherwise attn_partial on 64 threads.
 */
import { bind, uniform, type Op, type PipelineCache } from './op.js';

/**
 * Cached positions per attention workgroup (attn_decode: per thread): 256 for prompt steps (many
 * queries already, and a small partial-result buffer); 64 for decode, so a long context spreads
 * over many workgroups.
 */
export function attentionChunk(T: number): number {
  return T === 1 ? 64 : 256;
}

export async function attentionOps(
  cache: PipelineCache,
  a: {
    label: string; heads: number; kvHeads: number; headDim: number; maxSeq: number; q: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; partial: GPUBuffer; out: GPUBuffer; step: GPUBuffer; cpuBacked?: boolean;
    /** q·k scale (default 1 / sqrt(headDim)); sliding window in positions (default: none); score soft-cap (default: none). */
    scale?: number; window?: number; softcap?: number;
  },
): Promise<Op[]> {
  if (a.headDim > 512) throw new Error(`attention: head_dim ${a.headDim} is above the supported 512`);
  const chunk = attentionChunk;
  const window = a.window !== undefined && Number.isFinite(a.window) ? a.window : 0;
  const params = uniform(cache.device, [a.heads, a.kvHeads, a.headDim, chunk(1), { f32: a.scale ?? 1 / Math.sqrt(a.headDim) }, window, { f32: a.softcap ?? 0 }, 0], `${a.label}.params`);
  const combinePipe = await cache.get('attention', 'attn_combine');
  const combine: Op = {
    label: `${a.label}.combine`,
    pipeline: combinePipe,
    bindGroup: bind(cache.device, combinePipe, { 3: a.partial, 4: params, 5: a.step, 6: a.out }, `${a.label}.combine`),
    workgroups: (T) => [a.heads, T, 1],
    // A step within the first chunk is finished by the chunk's kernel.
    active: (T, pos0) => pos0 + T > chunk(T),
  };

  if (a.cpuBacked && a.headDim % 4 === 0) {
    // Barrier-free: a thread per (head, chunk) for decode, per (query, head) for prompt steps.
    // On SwiftShader a 480-token prompt of the 135M model spent 20.6 s in attn_rows against
    // 34.0 s in a flash kernel (16 queries sharing key/value tiles in workgroup memory) that
    // this replaced: there workgroup memory is no cheaper than a buffer, and barriers are dear.
    const [decodePipe, rowsPipe] = await Promise.all([cache.get('attention', 'attn_decode'), cache.get('attention', 'attn_rows')]);
    const entries = { 3: a.partial, 4: params, 5: a.step, 6: a.out, 7: a.q, 8: a.kCache, 9: a.vCache };
    return [
      {
        label: `${a.label}.decode`,
        pipeline: decodePipe,
        bindGroup: bind(cache.device, decodePipe, entries, `${a.label}.decode`),
        workgroups: (T, pos0) => [Math.ceil((Math.ceil((pos0 + 1) / chunk(1)) * a.heads) / 4), 1, 1],
        active: (T) => T === 1,
      },
      { ...combine, active: (T, pos0) => T === 1 && pos0 + 1 > chunk(1) },
      {
        label: `${a.label}.rows`,
        pipeline: rowsPipe,
        bindGroup: bind(cache.device, rowsPipe, entries, `${a.label}.rows`),
        workgroups: (T) => [Math.ceil((T * a.heads) / 4), 1, 1],
        active: (T) => T > 1,
      },
    ];
  }

  // A workgroup per (token, head, chunk): 256 threads on GPUs (scores in one pass, four groups
  // summing values); 64 on CPU-backed adapters (head_dim not a multiple of 4).
  const partialPipe = await cache.get('attention', 'attn_partial', undefined, a.cpuBacked ? { WG: 64, ACCV: 1 } : { WG: 256, ACCV: 4 * 512 });
  return [
    {
      label: `${a.label}.partial`,
      pipeline: partialPipe,
      bindGroup: bind(cache.device, partialPipe, { 0: a.q, 1: a.kCache, 2: a.vCache, 3: a.partial, 4: params, 5: a.step, 6: a.out }, `${a.label}.partial`),
      workgroups: (T, pos0) => [Math.ceil((pos0 + T) / chunk(T)), a.heads, T],
    },
    combine,
  ];
}

/** Bytes of the partial-result buffer for steps of up to `maxTokens` tokens, whatever their chunk size. */
export function attentionPartialBytes(heads: number, headDim: number, maxSeq: number, maxTokens: number): number {
  const chunks = (T: number) => T * Math.ceil(maxSeq / attentionChunk(T));
  return heads * Math.max(chunks(1), chunks(maxTokens)) * (headDim + 2) * 4;
}
