/**
 * shaders/paged.wgsl's per-step metadata: how rope_store and the attention kernels find each
 * packed row's position and its sequence's blocks in the paged KV cache.
 */
import { KV_BLOCK_SIZE } from '../../backend.js';

/** A sequence's rows in a step: `rows` tokens at positions pos .. pos + rows - 1, through `blocks`. */
export interface MetaSeq {
  pos: number;
  rows: number;
  blocks: ArrayLike<number>;
}

/** u32 words of the metadata of a step of `rows` packed rows of `seqs` sequences reaching `maxSeq` positions. */
export function metaWords(rows: number, seqs: number, maxSeq: number): number {
  return 2 * rows + seqs * Math.ceil(maxSeq / KV_BLOCK_SIZE);
}

/** [position, table offset] per packed row (sequences in order), then each sequence's block table (the blocks its rows reach). */
export function stepMeta(seqs: MetaSeq[]): Uint32Array<ArrayBuffer> {
  const rows = seqs.reduce((n, s) => n + s.rows, 0);
  const tables = seqs.map((s) => Math.ceil((s.pos + s.rows) / KV_BLOCK_SIZE));
  const meta = new Uint32Array(2 * rows + tables.reduce((n, b) => n + b, 0));
  let r = 0;
  let table = 2 * rows;
  seqs.forEach((s, i) => {
    if (s.blocks.length < tables[i]!) throw new RangeError(`a block table of ${s.blocks.length} blocks does not reach position ${s.pos + s.rows - 1}`);
    for (let t = 0; t < s.rows; t++, r++) {
      meta[2 * r] = s.pos + t;
      meta[2 * r + 1] = table;
    }
    for (let b = 0; b < tables[i]!; b++) meta[table + b] = s.blocks[b]!;
    table += tables[i]!;
  });
  return meta;
}

/** Blocks 0, 1, 2, …: one sequence laid out contiguously (forward, and tests of the contiguous layout). */
export function identityBlocks(maxSeq: number): Uint32Array {
  return Uint32Array.from({ length: Math.ceil(maxSeq / KV_BLOCK_SIZE) }, (_, i) => i);
}
