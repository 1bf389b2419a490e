/**
 * Continuous batching on the wasm backend (ModelRunner.step over the paged KV cache): a sequence
 * run inside batched steps, with other sequences in any packing, prompt pieces of any size
 * across chunk boundaries, shared prefix blocks and copied blocks, gives the very logits (bit for
 * bit) it gets run alone through forward. That identity is what lets the engine promise the same
 * tokens for a request whatever else is running; forward itself is checked against the CPU
 * reference in test/wasm-models.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LoadOptions, ModelRunner, SeqStep } from '../src/engine/backend.js';
import { KV_BLOCK_SIZE } from '../src/engine/backend.js';
import { CHUNK } from '../src/engine/wasm/forward.js';
import { loadWasm } from '../src/engine/wasm/backend.js';
import { FIXTURES, makeWeights, storiesTokenizer, writeFixtureGGUF } from '../scripts/make-fixtures.js';
import { f16ToF32, f32ToF16 } from '../src/formats/dtypes.js';
import { nmse } from './helpers/gpu.js';
import { referenceLogits } from './helpers/reference.js';
import { GENERATED, STORIES_GGUF } from './helpers/paths.js';

const runners: ModelRunner[] = [];
afterAll(() => runners.forEach((r) => r.dispose()));

async function load(path: string, options: LoadOptions = {}): Promise<ModelRunner> {
  const { runner } = await loadWasm(path, { maxModelLen: 256, threads: 1, ...options });
  runners.push(runner);
  return runner;
}

/** A seeded generator (mulberry32), so every run packs the same way. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A test sequence: its prompt, then tokens decoded one per step (fixed, as teacher forcing). */
interface Seq {
  prompt: number[];
  decode: number[];
}

function sequences(vocab: number, lengths: [number, number][], seed: number): Seq[] {
  const r = rng(seed);
  const tokens = (n: number) => Array.from({ length: n }, () => Math.floor(r() * vocab));
  return lengths.map(([p, d]) => ({ prompt: tokens(p), decode: tokens(d) }));
}

/** Every position's logits of a sequence run alone: forward over the prompt, then one token at a time. */
async function solo(runner: ModelRunner, s: Seq): Promise<Float32Array[]> {
  const vocab = runner.config.vocabSize;
  const all = await runner.forward(s.prompt, 0, true);
  const out: Float32Array[] = Array.from({ length: s.prompt.length }, (_, i) => all.slice(i * vocab, (i + 1) * vocab));
  for (const [i, t] of s.decode.entries()) out.push(await runner.forward([t], s.prompt.length + i));
  return out;
}

/** Distinct block ids for each sequence, scattered over the cache (not 0, 1, 2 as forward uses). */
function blockTables(runner: ModelRunner, seqs: Seq[], seed: number): number[][] {
  const r = rng(seed);
  const pool = Array.from({ length: runner.kv!.numBlocks }, (_, i) => i);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return seqs.map((s) => pool.splice(0, Math.ceil((s.prompt.length + s.decode.length) / KV_BLOCK_SIZE)));
}

/**
 * The sequences run together through step: each step takes, in a shuffled order, a random piece
 * of each unfinished prompt (logits 'none' or 'all' mid-prompt, 'last' or 'all' at its end) or
 * its next decoded token, some sequences sitting a step out. Returns the logits each position
 * got (undefined where none was asked) and checks each result's shape.
 */
async function batched(runner: ModelRunner, seqs: Seq[], tables: number[][], seed: number): Promise<(Float32Array | undefined)[][]> {
  const r = rng(seed);
  const vocab = runner.config.vocabSize;
  const done = seqs.map(() => 0);
  const got: (Float32Array | undefined)[][] = seqs.map(() => []);
  let steps = 0;
  for (;;) {
    const entries: { seq: number; step: SeqStep }[] = [];
    for (const i of seqs.keys()) {
      const s = seqs[i]!;
      const all = [...s.prompt, ...s.decode];
      if (done[i]! === all.length || r() < 0.2) continue;
      const inPrompt = done[i]! < s.prompt.length;
      const n = inPrompt ? Math.min(s.prompt.length - done[i]!, 1 + Math.floor(r() * 2 * CHUNK)) : 1;
      const ends = done[i]! + n === s.prompt.length || !inPrompt;
      const logits = ends ? (r() < 0.5 ? 'last' : 'all') : r() < 0.5 ? 'none' : 'all';
      entries.push({ seq: i, step: { tokens: all.slice(done[i]!, done[i]! + n), pos: done[i]!, blocks: tables[i]!, logits } });
    }
    if (done.every((d, i) => d === seqs[i]!.prompt.length + seqs[i]!.decode.length)) break;
    if (entries.length === 0) continue;
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
    }
    const results = await runner.step!(entries.map((e) => e.step));
    steps++;
    expect(results.length).toBe(entries.length);
    entries.forEach(({ seq, step }, k) => {
      const res = results[k]!;
      const n = step.tokens.length;
      if (step.logits === 'none') expect(res.logits).toBeUndefined();
      else expect(res.logits!.length).toBe((step.logits === 'all' ? n : 1) * vocab);
      for (let t = 0; t < n; t++) {
        const want = step.logits === 'all' || (step.logits === 'last' && t === n - 1);
        const at = step.logits === 'all' ? t : 0;
        got[seq]![step.pos + t] = want ? res.logits!.slice(at * vocab, (at + 1) * vocab) : undefined;
      }
      done[seq]! += n;
    });
  }
  expect(steps).toBeGreaterThan(1);
  return got;
}

/** Batched logits equal the solo ones bit for bit wherever the batch asked for them; returns how many were compared. */
function expectSame(got: (Float32Array | undefined)[][], want: Float32Array[][]): number {
  let compared = 0;
  got.forEach((positions, s) => {
    expect(positions.length).toBe(want[s]!.length);
    positions.forEach((logits, p) => {
      if (!logits) return;
      // toEqual on the raw bits: -0 vs 0 or a changed NaN would count too
      expect(new Uint32Array(logits.buffer), `sequence ${s}, position ${p}`).toEqual(new Uint32Array(want[s]![p]!.buffer.slice(want[s]![p]!.byteOffset, want[s]![p]!.byteOffset + want[s]![p]!.byteLength)));
      compared++;
    });
  });
  return compared;
}

// [prompt, decoded] lengths: a single token, prompts shorter and longer than a chunk (two chunks
// and a bit), block boundaries (16, 17), and a long decode; 8 sequences, more rows than a chunk.
const LENGTHS: [number, number][] = [
  [1, 12],
  [5, 9],
  [16, 4],
  [17, 6],
  [40, 3],
  [2 * CHUNK + 3, 5],
  [9, 20],
  [31, 2],
];

const MODELS: [string, string][] = [
  ['llama Q4_0 (GQA 4/2)', 'llama-q4_0.gguf'],
  ['llama Q8_0', 'llama-q8_0.gguf'],
  ['llama F16', 'llama-f16.gguf'],
  ['llama BF16', 'llama-bf16.gguf'],
  ['llama-k Q4_K', 'llama-k-q4_k.gguf'],
  ['llama-k Q6_K', 'llama-k-q6_k.gguf'],
  ['llama3 Q4_0 (GQA 4/1)', 'llama3-q4_0.gguf'],
  ['qwen2 Q4_0 (q, k, v biases)', 'qwen2-q4_0.gguf'],
  ['qwen3 Q8_0 (q, k norms)', 'qwen3-q8_0.gguf'],
  ['gemma2 Q8_0 (sliding window 8, soft-caps)', 'gemma2-q8_0.gguf'],
  ['gemma3 Q8_0 (sliding window 8, local RoPE)', 'gemma3-q8_0.gguf'],
  ['phi4mini Q8_0 (partial rotary)', 'phi4mini-q8_0.gguf'],
];

describe('a batched step gives each sequence its solo logits, bit for bit', () => {
  it.each([...MODELS, ['stories260K', STORIES_GGUF] as [string, string]])('%s', async (_, file) => {
    const runner = await load(file.startsWith('/') ? file : join(GENERATED, file));
    const seqs = sequences(runner.config.vocabSize, LENGTHS, 1);
    const want: Float32Array[][] = [];
    for (const s of seqs) want.push(await solo(runner, s));
    for (const seed of [1, 2]) {
      const got = await batched(runner, seqs, blockTables(runner, seqs, seed), seed);
      expect(expectSame(got, want)).toBeGreaterThan(40);
    }
  }, 120_000);

  it('two threads, the matrices split between them, still the one-thread solo logits', async () => {
    const path = join(GENERATED, 'llama-k-q4_k.gguf');
    const [one, two] = [await load(path), await load(path, { threads: 2 })];
    const seqs = sequences(one.config.vocabSize, LENGTHS, 3);
    const want: Float32Array[][] = [];
    for (const s of seqs) want.push(await solo(one, s));
    expectSame(await batched(two, seqs, blockTables(two, seqs, 3), 3), want);
  }, 120_000);
});

describe('shared and copied blocks', () => {
  const path = join(GENERATED, 'llama-q4_0.gguf');

  it('a sequence reading another one’s prefix blocks gets the logits of its whole prompt run alone', async () => {
    const runner = await load(path);
    const vocab = runner.config.vocabSize;
    const [a, b] = sequences(vocab, [[37, 0], [11, 0]], 4);
    const shared = 2 * KV_BLOCK_SIZE; // two full blocks of a's prompt
    const bPrompt = [...a!.prompt.slice(0, shared), ...b!.prompt];
    const wantA = await solo(runner, { prompt: a!.prompt, decode: [5, 6] });
    const wantB = await solo(runner, { prompt: bPrompt, decode: [7, 8] });
    const tableA = [10, 3, 7], tableB = [10, 3, 12];
    // a's prompt fills blocks 10 and 3; b names them and runs only its own suffix, from position 32
    const [ra] = await runner.step!([{ tokens: a!.prompt, pos: 0, blocks: tableA, logits: 'last' }]);
    const [rb] = await runner.step!([{ tokens: b!.prompt, pos: shared, blocks: tableB, logits: 'all' }]);
    expectSame([[...Array<undefined>(36), ra!.logits]], [wantA.slice(0, 37)]);
    expectSame([[...Array<undefined>(shared), ...Array.from({ length: 11 }, (_, i) => rb!.logits!.slice(i * vocab, (i + 1) * vocab))]], [wantB.slice(0, shared + 11)]);
    // then both decode in the same steps, each writing only its own last block
    for (const i of [0, 1]) {
      const [da, db] = await runner.step!([
        { tokens: [[5, 6][i]!], pos: 37 + i, blocks: tableA, logits: 'last' },
        { tokens: [[7, 8][i]!], pos: shared + 11 + i, blocks: tableB, logits: 'last' },
      ]);
      expectSame([[da!.logits], [db!.logits]], [[wantA[37 + i]!], [wantB[shared + 11 + i]!]]);
    }
  });

  it('copyBlock: a fork copies the partly filled last block and both branches continue as if alone', async () => {
    const runner = await load(path);
    const vocab = runner.config.vocabSize;
    const [p, x, y] = sequences(vocab, [[21, 0], [6, 0], [4, 0]], 5);
    const wantX = await solo(runner, { prompt: [...p!.prompt, ...x!.prompt], decode: [] });
    const wantY = await solo(runner, { prompt: [...p!.prompt, ...y!.prompt], decode: [] });
    await runner.step!([{ tokens: p!.prompt, pos: 0, blocks: [4, 9], logits: 'none' }]);
    await runner.copyBlock!(9, 20); // block 9 holds positions 16..20; the fork gets its own copy
    const [rx, ry] = await runner.step!([
      { tokens: x!.prompt, pos: 21, blocks: [4, 9], logits: 'all' },
      { tokens: y!.prompt, pos: 21, blocks: [4, 20], logits: 'all' },
    ]);
    const rowsOf = (l: Float32Array, n: number) => Array.from({ length: n }, (_, i) => l.slice(i * vocab, (i + 1) * vocab));
    expectSame([[...Array<undefined>(21), ...rowsOf(rx!.logits!, 6)], [...Array<undefined>(21), ...rowsOf(ry!.logits!, 4)]], [wantX, wantY]);
  });

  it('copyBlock copies every layer: a block copied then overwritten at the source still reads as the original', async () => {
    const runner = await load(path);
    const vocab = runner.config.vocabSize;
    const [s, other] = sequences(vocab, [[16, 0], [16, 0]], 6);
    const want = await solo(runner, { prompt: [...s!.prompt, 3], decode: [] });
    await runner.step!([{ tokens: s!.prompt, pos: 0, blocks: [2], logits: 'none' }]);
    await runner.copyBlock!(2, 30);
    await runner.step!([{ tokens: other!.prompt, pos: 0, blocks: [2], logits: 'none' }]); // block 2 now holds another sequence
    const [r] = await runner.step!([{ tokens: [3], pos: 16, blocks: [30, 31], logits: 'last' }]);
    expectSame([[r!.logits]], [[want[16]!]]);
    await expect(runner.copyBlock!(0, runner.kv!.numBlocks)).rejects.toThrow(RangeError);
  });
});

describe('float16 KV cache', () => {
  // Float weights, so nothing but the cache separates the backend from the float64 reference.
  it.each(['llama', 'qwen3'])('%s F32: the independent reference with its keys and values rounded to float16', async (name) => {
    const spec = FIXTURES.find((f) => f.name === name)!;
    const runner = await load(join(GENERATED, `${name}-f32.gguf`), { kvDtype: 'f16' });
    expect(runner.kv!.dtype).toBe('f16');
    expect(runner.description).toMatch(/KV cache [\d.]+ MiB f16 for \d+ positions/);
    const weights = makeWeights(spec, runner.config.vocabSize);
    const tokens = sequences(runner.config.vocabSize, [[40, 0]], 8)[0]!.prompt;
    const got = await runner.forward(tokens, 0, true);
    const vocab = runner.config.vocabSize;
    const rounded = referenceLogits(spec, weights, tokens, (x) => f16ToF32(f32ToF16(x)));
    const exact = referenceLogits(spec, weights, tokens);
    let worstRounded = 0, worstExact = 0;
    for (let i = 0; i < tokens.length; i++) {
      const row = got.subarray(i * vocab, (i + 1) * vocab);
      worstRounded = Math.max(worstRounded, nmse(row, rounded[i]!));
      worstExact = Math.max(worstExact, nmse(row, exact[i]!));
    }
    // Measured: llama 2e-12 rounded vs 6e-8 exact; qwen3 9e-10 vs 7e-8 (its float64 k-norm puts a
    // few keys on the other side of a float16 rounding boundary than the backend's float32 one).
    expect(worstRounded).toBeLessThan(5e-9);
    expect(worstExact).toBeGreaterThan(20 * worstRounded); // the reference tells the two caches apart
  }, 120_000);

  it.each([MODELS[0]!, MODELS[4]!, MODELS[9]!, MODELS[10]!])('%s: batched = solo bit for bit', async (_, file) => {
    const path = join(GENERATED, file);
    const [f16, f32] = [await load(path, { kvDtype: 'f16' }), await load(path)];
    expect(f16.kv!.bytes).toBe(f32.kv!.bytes / 2);
    const seqs = sequences(f16.config.vocabSize, LENGTHS, 7);
    const want: Float32Array[][] = [];
    for (const s of seqs) want.push(await solo(f16, s));
    expectSame(await batched(f16, seqs, blockTables(f16, seqs, 7), 7), want);
    expect(nmse(want[4]![39]!, (await solo(f32, seqs[4]!))[39]!)).toBeGreaterThan(0); // the cache is really float16
  }, 120_000);
});

describe("a layer's q, k, v and gate, up stored side by side", () => {
  // HF checkpoints list tensors alphabetically (k, o, q, v; down, gate, up), and llama.cpp's
  // converter keeps that order: the loader waits for each group and stores it in order, and a
  // one-row step then reads each group as one matrix. The same weights in file order must give the
  // same logits, bit for bit, prompt and decoded rows, on one thread and two.
  it.each([1, 2])('a file in HF order gives what the same weights in layer order give (%i threads)', async (threads) => {
    const spec = FIXTURES.find((f) => f.name === 'llama')!;
    const tok = await storiesTokenizer();
    const sorted = new Map([...makeWeights(spec, tok.vocab)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const path = join(mkdtempSync(join(tmpdir(), 'webinfer-order-')), 'llama-q4_0-hf-order.gguf');
    writeFileSync(path, writeFixtureGGUF(spec, sorted, tok.meta, 'Q4_0'));
    const [shuffled, ordered] = [await load(path, { threads }), await load(join(GENERATED, 'llama-q4_0.gguf'), { threads })];
    const s = sequences(ordered.config.vocabSize, [[20, 6]], 11)[0]!;
    const [got, want] = [await solo(shuffled, s), await solo(ordered, s)];
    expectSame([got], [want]);
  }, 60_000);
});

describe('the cache and its checks', () => {
  const path = join(GENERATED, 'llama-q4_0.gguf');

  it('sizes: maxBatch 8 by default, kvCacheBytes in whole blocks, the cache in the description', async () => {
    const runner = await load(path);
    const c = runner.config;
    const blockBytes = KV_BLOCK_SIZE * c.nLayers * 2 * c.nKvHeads * c.headDim * 4;
    expect(runner.maxBatch).toBe(8);
    expect(runner.kv).toEqual({ blockSize: KV_BLOCK_SIZE, numBlocks: (256 + 7 * 256) / KV_BLOCK_SIZE, bytes: 128 * blockBytes, dtype: 'f32' });
    expect(runner.description).toMatch(/KV cache [\d.]+ MiB f32 for 2048 positions/);
    const sized = await load(path, { maxBatch: 3, kvCacheBytes: 20.5 * blockBytes });
    expect(sized.maxBatch).toBe(3);
    expect(sized.kv!.numBlocks).toBe(20);
  });

  it('kvCacheBytes too small for one full context is a RangeError at load', async () => {
    await expect(loadWasm(join(GENERATED, 'llama-q4_0.gguf'), { maxModelLen: 256, threads: 1, kvCacheBytes: 1000 })).rejects.toThrow(RangeError);
  });

  it('entries that would read or write outside the cache are refused before anything runs', async () => {
    const runner = await load(path);
    const n = runner.kv!.numBlocks;
    const ok: SeqStep = { tokens: [1, 2], pos: 0, blocks: [0], logits: 'last' };
    await expect(runner.step!([ok, { tokens: [1], pos: 16, blocks: [1], logits: 'last' }])).rejects.toThrow(/1 blocks hold 16 positions, 17 needed/);
    await expect(runner.step!([ok, { tokens: [1], pos: 0, blocks: [n], logits: 'last' }])).rejects.toThrow(/KV block \d+ does not exist/);
    await expect(runner.step!([{ tokens: [1], pos: 0, blocks: [-1], logits: 'last' }])).rejects.toThrow(RangeError);
    await expect(runner.step!([{ tokens: [1], pos: 256, blocks: Array.from({ length: 17 }, (_, i) => i), logits: 'last' }])).rejects.toThrow(/beyond the cache/);
    await expect(runner.step!([{ tokens: [], pos: 0, blocks: [0], logits: 'last' }])).rejects.toThrow(/no tokens/);
    await expect(runner.step!([{ tokens: [runner.config.vocabSize], pos: 0, blocks: [0], logits: 'last' }])).rejects.toThrow(/outside the vocabulary/);
    expect(await runner.step!([])).toEqual([]);
  });
});
