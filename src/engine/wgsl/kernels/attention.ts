/**
 * Causal attention over the paged KV cache: every kernel finds a packed row's position and its
 * sequence's blocks in the step's metadata (kv_meta, shaders/paged.wgsl), so one dispatch serves
 * the rows of several sequences. On GPUs: shaders/attention_flash.wgsl's attn_flash (decode:
 * a workgroup per kv head and chunk; prompt steps: query tiles over K/V tiles in workgroup memory)
 * where its tiles fit workgroup memory, else attention.wgsl's attn_partial (split over the
 * sequence); attn_combine merges the chunks of either. On CPU-backed adapters,
 * barrier-free kernels when head_dim is a multiple of 4: attn_decode (a thread per head and
 * chunk, merged by attn_combine) for decode, attn_rows (a thread per query and head) for prompt
 * steps; otherwise attn_partial on 64 threads.
 */
import { bind, kvConstants, type Op, type PipelineCache, type StepShape } from './op.js';

/**
 * Cached positions per attention workgroup (attn_decode: per thread): 256 for prompt steps (many
 * queries already, and a small partial-result buffer); 64 for decode steps (every sequence runs
 * one token), so a long context spreads over many workgroups.
 */
export function attentionChunk(decode: boolean): number {
  return decode ? 64 : 256;
}

export async function attentionOps(
  cache: PipelineCache,
  a: {
    label: string; heads: number; kvHeads: number; headDim: number; maxSeq: number; q: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; partial: GPUBuffer; out: GPUBuffer; step: GPUBuffer; cpuBacked?: boolean;
    /** The step's rows and block tables (stepMeta). */
    meta: GPUBuffer;
    /** q·k scale (default 1 / sqrt(headDim)); sliding window in positions (default: none); score soft-cap (default: none). */
    scale?: number; window?: number; softcap?: number;
    /** Workgroup memory the flash kernels may use (default: the device's limit); tests lower it to reach the small tiles. */
    workgroupStorage?: number;
    /** The cache holds float16 pairs (paged.wgsl's KV_HALF). */
    kvHalf?: boolean;
  },
): Promise<Op[]> {
  if (a.headDim > 512) throw new Error(`attention: head_dim ${a.headDim} is above the supported 512`);
  const chunk = (s: StepShape) => attentionChunk(s.decode);
  const chunks = (s: StepShape) => Math.ceil(s.span / chunk(s));
  const window = a.window !== undefined && Number.isFinite(a.window) ? a.window : 0;
  const params = cache.uniform([a.heads, a.kvHeads, a.headDim, attentionChunk(true), { f32: a.scale ?? 1 / Math.sqrt(a.headDim) }, window, { f32: a.softcap ?? 0 }, 0], `${a.label}.params`);
  const combinePipe = await cache.get(['paged', 'attention'], 'attn_combine');
  const combine: Op = {
    label: `${a.label}.combine`,
    pipeline: combinePipe,
    bindGroup: bind(cache.device, combinePipe, { 3: a.partial, 4: params, 5: a.step, 6: a.out, 15: a.meta }, `${a.label}.combine`),
    workgroups: (T) => [a.heads, T, 1],
    // Rows within their first chunk are finished by the chunk's kernel.
    active: (T, pos0, s) => s.span > chunk(s),
  };

  if (a.cpuBacked && a.headDim % 4 === 0) {
    // Barrier-free: a thread per (head, chunk) for decode, per (query, head) for prompt steps.
    // On SwiftShader a 480-token prompt of the 135M model spent 20.6 s in attn_rows against
    // 34.0 s in a flash kernel (16 queries sharing key/value tiles in workgroup memory) that
    // this replaced: there workgroup memory is no cheaper than a buffer, and barriers are dear.
    const kv = kvConstants(a.kvHalf);
    const [decodePipe, rowsPipe] = await Promise.all([cache.get(['paged', 'attention'], 'attn_decode', undefined, kv), cache.get(['paged', 'attention'], 'attn_rows', undefined, kv)]);
    // the cache bound twice: as words (float16 pairs) and as vec4s (float32)
    const entries = { 1: a.kCache, 2: a.vCache, 3: a.partial, 4: params, 5: a.step, 6: a.out, 7: a.q, 8: a.kCache, 9: a.vCache, 15: a.meta };
    return [
      {
        label: `${a.label}.decode`,
        pipeline: decodePipe,
        bindGroup: bind(cache.device, decodePipe, entries, `${a.label}.decode`),
        workgroups: (T, pos0, s) => [Math.ceil((chunks(s) * a.heads) / 4), T, 1],
        active: (T, pos0, s) => s.decode,
      },
      { ...combine, active: (T, pos0, s) => s.decode && s.span > chunk(s) },
      {
        label: `${a.label}.rows`,
        pipeline: rowsPipe,
        bindGroup: bind(cache.device, rowsPipe, entries, `${a.label}.rows`),
        workgroups: (T) => [Math.ceil((T * a.heads) / 4), 1, 1],
        active: (T, pos0, s) => !s.decode,
      },
    ];
  }

  // Flash kernels where their tiles fit workgroup memory: one for decode (the q heads of a kv
  // head on one chunk, a workgroup per row: also steps of several sequences), one for prompt
  // steps of one sequence (a tile of queries x those heads).
  const storage = a.workgroupStorage ?? cache.device.limits.maxComputeWorkgroupStorageSize;
  const decodeTiles = flashTiles(a.headDim, a.heads / a.kvHeads, storage, true);
  const promptTiles = flashTiles(a.headDim, a.heads / a.kvHeads, storage, false);
  if (!a.cpuBacked && a.heads % a.kvHeads === 0 && decodeTiles && promptTiles) {
    const entries = { 0: a.q, 1: a.kCache, 2: a.vCache, 3: a.partial, 4: params, 5: a.step, 6: a.out, 15: a.meta };
    const flash = async (tiles: FlashTiles, label: string, active: (s: StepShape) => boolean): Promise<Op> => {
      const pipe = await cache.get(['paged', 'attention_flash'], 'attn_flash', undefined, kvConstants(a.kvHalf, flashConstants(a.headDim, tiles)));
      return {
        label: `${a.label}.${label}`,
        pipeline: pipe,
        bindGroup: bind(cache.device, pipe, entries, `${a.label}.${label}`),
        workgroups: (T, pos0, s) => [chunks(s), a.kvHeads, Math.ceil(T / tiles.tq)],
        active: (T, pos0, s) => active(s),
      };
    };
    const wide = await cache.get(['paged', 'attention_flash'], 'attn_combine_wide', undefined, { HD: a.headDim });
    const wideCombine: Op = { ...combine, pipeline: wide, bindGroup: bind(cache.device, wide, { 3: a.partial, 4: params, 5: a.step, 6: a.out, 15: a.meta }, `${a.label}.combine`) };
    return [await flash(decodeTiles, 'partial', (s) => s.decode || s.multi), await flash(promptTiles, 'flash', (s) => !s.decode && !s.multi), wideCombine];
  }

  // A workgroup per (token, head, chunk): 256 threads on GPUs (scores in one pass, four groups
  // summing values); 64 on CPU-backed adapters (head_dim not a multiple of 4).
  const partialPipe = await cache.get(['paged', 'attention'], 'attn_partial', undefined, kvConstants(a.kvHalf, a.cpuBacked ? { WG: 64, ACCV: 1 } : { WG: 256, ACCV: 4 * 512 }));
  return [
    {
      label: `${a.label}.partial`,
      pipeline: partialPipe,
      bindGroup: bind(cache.device, partialPipe, { 0: a.q, 1: a.kCache, 2: a.vCache, 3: a.partial, 4: params, 5: a.step, 6: a.out, 15: a.meta }, `${a.label}.partial`),
      workgroups: (T, pos0, s) => [chunks(s), a.heads, T],
    },
    combine,
  ];
}

/**
 * Bytes of the partial-result buffer for steps of up to `maxTokens` rows reaching `maxSeq`
 * positions, and decode steps of up to `decodeRows` rows (64-position chunks: 4 times the
 * partials of a prompt row).
 */
export function attentionPartialBytes(heads: number, headDim: number, maxSeq: number, maxTokens: number, decodeRows = 1): number {
  const chunks = (rows: number, decode: boolean) => rows * Math.ceil(maxSeq / attentionChunk(decode));
  return heads * Math.max(chunks(decodeRows, true), chunks(maxTokens, false)) * (headDim + 2) * 4;
}

/** Tiles of attn_flash (shaders/attention_flash.wgsl): query tokens per workgroup and key positions per tile. */
interface FlashTiles { tq: number; g: number; bk: number }
const FLASH_WG = 128;

/**
 * The largest query tile (rows = tokens x the kv head's q heads, at most 64 and at most 32
 * accumulators per thread) with the widest key tile (32, 16 or 8 positions) whose workgroup
 * memory fits `storageBytes`; decode takes one token. Undefined when none fits (the split kernel
 * then serves).
 */
export function flashTiles(headDim: number, g: number, storageBytes: number, decode: boolean): FlashTiles | undefined {
  if (!Number.isInteger(g) || g < 1) return undefined;
  const maxRows = Math.min(64, Math.floor((32 * FLASH_WG) / headDim));
  for (let tq = decode ? 1 : Math.floor(maxRows / g); tq >= 1; tq--) {
    const r = tq * g;
    if (r > maxRows) continue;
    for (const bk of [32, 16, 8]) {
      const floats = r * headDim + bk * (headDim + 1) + r * bk + 3 * r;
      if (floats * 4 <= storageBytes) return { tq, g, bk };
    }
  }
  return undefined;
}

function flashConstants(headDim: number, t: FlashTiles): Record<string, number> {
  const r = t.tq * t.g;
  return { WG: FLASH_WG, HD: headDim, G: t.g, TQ: t.tq, BK: t.bk, RS: r, QS: r * headDim, KS: t.bk * (headDim + 1), PS: r * t.bk, NACC: Math.ceil((r * headDim) / FLASH_WG), NS: Math.ceil(r / (FLASH_WG / t.bk)) };
}
