/**
 * Causal attention over the KV cache, shaders/attention.wgsl: attn_partial (split over the
 * sequence) and attn_combine (the merge of its chunks) for decode, and for prompt steps on GPUs.
 * On CPU-backed adapters, barrier-free kernels where they apply: attn_decode (a thread per head
 * and chunk) for decode, attn_flash (16 queries per workgroup sharing each tile of keys and
 * values) for prompt steps.
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

const FLASH_QUERIES = 16;

/** The flash kernel keeps 16 queries, 16 keys and 16 values of head_dim floats in shared memory, and 32 outputs per thread. */
export function flashFits(device: GPUDevice, headDim: number): boolean {
  return headDim <= 128 && (3 * 16 * headDim + 256) * 4 <= device.limits.maxComputeWorkgroupStorageSize;
}

export async function attentionOps(
  cache: PipelineCache,
  a: { label: string; heads: number; kvHeads: number; headDim: number; maxSeq: number; q: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; partial: GPUBuffer; out: GPUBuffer; step: GPUBuffer; cpuBacked?: boolean },
): Promise<Op[]> {
  if (a.headDim > 512) throw new Error(`attention: head_dim ${a.headDim} is above the supported 512`);
  // 256 threads per chunk on GPUs (scores in one pass, four groups summing values); 64 on CPU-backed adapters.
  const [partialPipe, combinePipe] = await Promise.all([cache.get('attention', 'attn_partial', undefined, a.cpuBacked ? { WG: 64, ACCV: 1 } : { WG: 256, ACCV: 4 * 512 }), cache.get('attention', 'attn_combine')]);
  const chunk = attentionChunk;
  const params = uniform(cache.device, [a.heads, a.kvHeads, a.headDim, chunk(1), { f32: 1 / Math.sqrt(a.headDim) }, 0, 0, 0], `${a.label}.params`);
  const entries = { 0: a.q, 1: a.kCache, 2: a.vCache, 3: a.partial, 4: params, 5: a.step, 6: a.out };
  // Flash for prompt steps only on CPU-backed adapters: there total work is what counts. On an
  // H200 its ceil(T / 16) x heads workgroups could not fill the GPU, and the split kernel (a
  // workgroup per query, head and chunk) was 5x faster on a 64-token step of the 135M model.
  const flashPipe = a.cpuBacked && flashFits(cache.device, a.headDim) ? await cache.get('attention', 'attn_flash', undefined, { HD: a.headDim }) : undefined;
  /** Steps on the chunked kernels (attn_partial or attn_decode), merged by attn_combine. */
  const chunked = (T: number) => T === 1 || !flashPipe;
  const decodePipe = a.cpuBacked && a.headDim % 4 === 0 ? await cache.get('attention', 'attn_decode') : undefined;
  const decode: Op[] = decodePipe
    ? [
        {
          label: `${a.label}.decode`,
          pipeline: decodePipe,
          bindGroup: bind(cache.device, decodePipe, { 3: a.partial, 4: params, 5: a.step, 6: a.out, 7: a.q, 8: a.kCache, 9: a.vCache }, `${a.label}.decode`),
          workgroups: (T, pos0) => [Math.ceil((Math.ceil((pos0 + 1) / chunk(1)) * a.heads) / 4), 1, 1],
          active: (T) => T === 1,
        },
      ]
    : [];
  /** Steps attn_partial serves. */
  const partial = (T: number) => (T === 1 ? !decodePipe : !flashPipe);
  const flash: Op[] = flashPipe
    ? [
        {
          label: `${a.label}.flash`,
          pipeline: flashPipe,
          bindGroup: bind(cache.device, flashPipe, { 0: a.q, 1: a.kCache, 2: a.vCache, 4: params, 5: a.step, 6: a.out }, `${a.label}.flash`),
          workgroups: (T) => [Math.ceil(T / FLASH_QUERIES), a.heads, 1],
          active: (T) => T > 1,
        },
      ]
    : [];
  return [
    ...flash,
    ...decode,
    {
      label: `${a.label}.partial`,
      pipeline: partialPipe,
      bindGroup: bind(cache.device, partialPipe, entries, `${a.label}.partial`),
      workgroups: (T, pos0) => [Math.ceil((pos0 + T) / chunk(T)), a.heads, T],
      active: (T) => partial(T),
    },
    {
      label: `${a.label}.combine`,
      pipeline: combinePipe,
      bindGroup: bind(cache.device, combinePipe, { 3: a.partial, 4: params, 5: a.step, 6: a.out }, `${a.label}.combine`),
      workgroups: (T) => [a.heads, T, 1],
      // A step within the first chunk is finished by attn_partial.
      active: (T, pos0) => chunked(T) && pos0 + T > chunk(T),
    },
  ];
}

/** Bytes of the partial-result buffer for steps of up to `maxTokens` tokens, whatever their chunk size. */
export function attentionPartialBytes(heads: number, headDim: number, maxSeq: number, maxTokens: number): number {
  const chunks = (T: number) => T * Math.ceil(maxSeq / attentionChunk(T));
  return heads * Math.max(chunks(1), chunks(maxTokens)) * (headDim + 2) * 4;
}
