/**
 * Which KV blocks hold what: the engine's side of the paged KV cache (the backend holds the
 * numbers). Blocks are reference-counted; a full block is also entered in a prefix cache keyed by
 * its tokens and the block before it (a hash chain, as vLLM's automatic prefix caching), so any
 * later sequence whose prompt starts with the same tokens reuses it instead of recomputing it.
 * Cached blocks nobody uses stay filled until they are needed, least recently used first.
 */

/** A full block's identity in the prefix cache: the chain of blocks before it and its own tokens. */
export interface BlockKey {
  /** The key string: the previous block's serial number and this block's tokens. */
  key: string;
  /** Serial number of this entry, the parent of the next block's key. */
  serial: number;
}

/** The root of every chain: the key of a sequence's first block has parent 0. */
export const ROOT_SERIAL = 0;

export class BlockPool {
  private readonly refs: Int32Array;
  private readonly free: number[] = [];
  /** Prefix cache: key → block, and block → key. */
  private readonly byKey = new Map<string, { block: number; serial: number }>();
  private readonly keyOf = new Map<number, string>();
  /** Cached blocks with no reference, least recently used first (Map keeps insertion order). */
  private readonly idle = new Map<number, true>();
  private nextSerial = ROOT_SERIAL + 1;

  constructor(
    readonly numBlocks: number,
    readonly blockSize: number,
  ) {
    this.refs = new Int32Array(numBlocks);
    for (let b = numBlocks - 1; b >= 0; b--) this.free.push(b);
  }

  /** Blocks a new sequence could get now: free ones and cached ones nobody uses. */
  get available(): number {
    return this.free.length + this.idle.size;
  }

  /** A block for one sequence's exclusive use, evicting the least recently used idle cached block if none is free. */
  allocate(): number | undefined {
    let b = this.free.pop();
    if (b === undefined) {
      const lru = this.idle.keys().next();
      if (lru.done) return undefined;
      b = lru.value;
      this.idle.delete(b);
      this.byKey.delete(this.keyOf.get(b)!);
      this.keyOf.delete(b);
    }
    this.refs[b] = 1;
    return b;
  }

  /** One more sequence uses `block` (a shared prefix). */
  retain(block: number): void {
    if (this.refs[block] === 0) this.idle.delete(block);
    this.refs[block]!++;
  }

  release(block: number): void {
    if (this.refs[block]! <= 0) throw new Error(`internal error: KV block ${block} released twice`);
    if (--this.refs[block]! > 0) return;
    if (this.keyOf.has(block)) this.idle.set(block, true);
    else this.free.push(block);
  }

  /**
   * The cached blocks that hold the longest full-block prefix of `tokens`, retained for the caller,
   * and their keys (so later blocks chain onto them). At most `maxBlocks` blocks.
   */
  match(tokens: readonly number[], maxBlocks: number): { blocks: number[]; keys: BlockKey[] } {
    const blocks: number[] = [];
    const keys: BlockKey[] = [];
    let parent = ROOT_SERIAL;
    for (let i = 0; i < maxBlocks && (i + 1) * this.blockSize <= tokens.length; i++) {
      const key = keyString(parent, tokens, i * this.blockSize, this.blockSize);
      const hit = this.byKey.get(key);
      if (!hit) break;
      // Retained, it leaves the idle list; released, it goes back at the most recent end.
      this.retain(hit.block);
      blocks.push(hit.block);
      keys.push({ key, serial: hit.serial });
      parent = hit.serial;
    }
    return { blocks, keys };
  }

  /**
   * Enters a full block in the prefix cache under `parent` + its tokens; returns its key. If the
   * same prefix is already cached in another block, that entry stays and this block remains
   * private (it is freed, not cached, when released); its key still chains the next blocks.
   */
  register(block: number, parent: number, tokens: readonly number[], start: number): BlockKey {
    const key = keyString(parent, tokens, start, this.blockSize);
    const hit = this.byKey.get(key);
    if (hit) return { key, serial: hit.serial };
    const serial = this.nextSerial++;
    this.byKey.set(key, { block, serial });
    this.keyOf.set(block, key);
    return { key, serial };
  }

  /** Forgets every cached prefix (after a failed step the blocks' contents are unknown). */
  clearCache(): void {
    for (const b of this.idle.keys()) this.free.push(b);
    this.idle.clear();
    this.byKey.clear();
    this.keyOf.clear();
  }

  /** For tests and reports: blocks in use by sequences, cached but idle, and free. */
  stats(): { used: number; cached: number; free: number } {
    return { used: this.numBlocks - this.free.length - this.idle.size, cached: this.idle.size, free: this.free.length };
  }
}

function keyString(parent: number, tokens: readonly number[], start: number, n: number): string {
  return `${parent}:${tokens.slice(start, start + n).join(',')}`;
}
