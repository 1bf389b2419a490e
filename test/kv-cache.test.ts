/** The engine's KV block pool: reference counts, the prefix cache's hash chain, LRU eviction. */
import { describe, expect, it } from 'vitest';
import { BlockPool, ROOT_SERIAL } from '../src/engine/kv-cache.js';

const seqTokens = (n: number, salt = 0) => Array.from({ length: n }, (_, i) => (i * 7 + salt) % 50);

/** Allocates blocks for `tokens` and enters its full blocks in the cache, as the scheduler does. */
function fill(pool: BlockPool, tokens: number[]): number[] {
  const blocks: number[] = [];
  let parent = ROOT_SERIAL;
  for (let i = 0; i * pool.blockSize < tokens.length; i++) {
    blocks.push(pool.allocate()!);
    if ((i + 1) * pool.blockSize <= tokens.length) parent = pool.register(blocks[i]!, parent, tokens, i * pool.blockSize).serial;
  }
  return blocks;
}

describe('BlockPool', () => {
  it('a prompt finds the full blocks of an earlier one with the same beginning, and only those', () => {
    const pool = new BlockPool(16, 4);
    const a = seqTokens(10);
    const blocks = fill(pool, a); // two full blocks and a partial one
    for (const b of blocks) pool.release(b);
    expect(pool.stats()).toEqual({ used: 0, cached: 2, free: 14 });
    const b = [...a.slice(0, 6), 99, 98, 97];
    const m = pool.match(b, 10);
    expect(m.blocks).toEqual([blocks[0]]); // the second block differs at position 6
    expect(pool.stats()).toEqual({ used: 1, cached: 1, free: 14 });
    // The same tokens after a different first block are another chain.
    const c = [...seqTokens(4, 1), ...a.slice(4, 8)];
    pool.release(m.blocks[0]!);
    expect(pool.match(c, 10).blocks).toEqual([]);
    // maxBlocks caps the match (the last prompt token is always computed).
    expect(pool.match(a, 1).blocks).toEqual([blocks[0]]);
  });

  it('evicts idle cached blocks least recently used first, and never one in use', () => {
    const pool = new BlockPool(4, 2);
    const x = fill(pool, [1, 2]);
    const y = fill(pool, [3, 4]);
    for (const b of [...x, ...y]) pool.release(b);
    pool.release(pool.match([1, 2, 0], 1).blocks[0]!); // x used again: y is now the oldest
    const held = pool.match([1, 2, 0], 1).blocks; // and x is in use
    const fresh = [pool.allocate(), pool.allocate(), pool.allocate()];
    expect(fresh).not.toContain(undefined);
    expect(fresh).toContain(y[0]);
    expect(fresh).not.toContain(held[0]);
    expect(pool.allocate()).toBeUndefined();
    expect(pool.match([3, 4, 0], 1).blocks).toEqual([]); // y's entry went with its block
  });

  it('a block registered under a prefix already cached stays private and is freed, not cached', () => {
    const pool = new BlockPool(4, 2);
    const first = fill(pool, [5, 6]);
    const second = fill(pool, [5, 6]);
    for (const b of [...first, ...second]) pool.release(b);
    expect(pool.stats()).toEqual({ used: 0, cached: 1, free: 3 });
  });

  it('a block released twice is an error, not a corrupted pool', () => {
    const pool = new BlockPool(2, 2);
    const b = pool.allocate()!;
    pool.release(b);
    expect(() => pool.release(b)).toThrow(/released twice/);
  });
});
