/**
 * Threads that never make things worse: beside another process that keeps a core busy, matmuls on
 * two threads must not be much slower than on one (with rows split in fixed shares they were 5-8x
 * slower: the caller waited for a thread the OS had descheduled), they give the same numbers, and
 * a model decodes as fast on two threads as on one (threads held spinning through every pass took
 * the caller's core; the pass chooser runs passes alone there instead).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Kernels } from '../src/engine/wasm/kernels.js';
import { loadWasm } from '../src/engine/wasm/backend.js';
import { makeWeights, storiesTokenizer, writeFixtureGGUF, type FixtureSpec } from '../scripts/make-fixtures.js';
import { randomBlocks } from './helpers/blocks.js';
import { randoms } from './helpers/gpu.js';

const ROWS = 1536;
const COLS = 2048;

let hog: ChildProcess | undefined;
beforeAll(() => {
  hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
});
afterAll(() => {
  hog?.kill('SIGKILL');
});

/** Median milliseconds of 100 single-token Q4_0 matmuls (a decode step's worth), and the output. */
async function time(threads: number): Promise<{ ms: number; out: Float32Array }> {
  const k = await Kernels.create({ threads });
  try {
    const bytes = randomBlocks('Q4_0', ROWS * COLS, 7);
    const m = k.store('w', 'Q4_0', ROWS, COLS, bytes);
    const xp = k.mem.alloc(COLS * 4, 'x');
    k.mem.f32(xp, COLS).set(randoms(COLS, 3));
    const out = k.mem.alloc(ROWS * 4, 'out');
    k.reserveInputs(COLS);
    const input = k.input(xp, COLS, 1, true);
    const runs: number[] = [];
    for (let r = 0; r < 7; r++) {
      const start = performance.now();
      for (let i = 0; i < 100; i++) k.matmul('Q4_0', m.ptr, ROWS, input, out, m.layout);
      runs.push(performance.now() - start);
    }
    runs.sort((a, b) => a - b);
    return { ms: runs[3]!, out: k.mem.f32(out, ROWS).slice() };
  } finally {
    k.dispose();
  }
}

it('two threads beside a CPU hog: not much slower than one, and the same numbers', async () => {
  // Each way timed twice, alternating, keeping its faster: a shared machine runs a process at
  // one of two speeds (~1.7x apart) for seconds at a time, and one timing of a way could land in
  // the slow phase while the other's did not.
  const one = await time(1);
  const two = await time(2);
  const oneAgain = await time(1);
  const twoAgain = await time(2);
  const single = Math.min(one.ms, oneAgain.ms);
  const pooled = Math.min(two.ms, twoAgain.ms);
  console.log(`Q4_0 ${ROWS}x${COLS} x100 beside a hog: one thread ${single.toFixed(1)} ms, two ${pooled.toFixed(1)} ms`);
  expect(two.out).toEqual(one.out);
  expect(twoAgain.out).toEqual(one.out);
  // Generous: timing on a shared machine is noisy; the failure this guards against is 5-8x.
  expect(pooled).toBeLessThan(single * 1.6);
}, 120_000);

/** SmolLM2-135M's widths, four layers: matrices large enough for the pool (Q4_0, random weights, stories260K's tokenizer). */
const WIDE: FixtureSpec = { name: 'wide', arch: 'llama', dim: 576, hiddenDim: 1536, nLayers: 4, nHeads: 9, nKvHeads: 3, headDim: 64, ropeTheta: 10000, tied: true, seed: 24 };

/** Milliseconds per token of 240 one-token decode steps after a 32-token prompt (the last 200), and the last logits. */
async function decode(model: Uint8Array, threads: number): Promise<{ ms: number; logits: Float32Array<ArrayBufferLike> }> {
  const { runner } = await loadWasm(model, { threads, maxModelLen: 320 });
  try {
    const blocks = Array.from({ length: 20 }, (_, i) => i);
    await runner.step!([{ tokens: Array.from({ length: 32 }, (_, i) => (i * 37) % 500), pos: 0, blocks, logits: 'none' }]);
    let logits: Float32Array<ArrayBufferLike> = new Float32Array();
    let start = 0;
    for (let i = 0; i < 240; i++) {
      if (i === 40) start = performance.now();
      logits = (await runner.step!([{ tokens: [(i * 53) % 500], pos: 32 + i, blocks, logits: 'last' }]))[0]!.logits!;
    }
    return { ms: (performance.now() - start) / 200, logits };
  } finally {
    runner.dispose();
  }
}

it('decoding beside a CPU hog: two threads not slower than one, and the same logits', async () => {
  const tok = await storiesTokenizer();
  const model = writeFixtureGGUF(WIDE, makeWeights(WIDE, tok.vocab), tok.meta, 'Q4_0', 512);
  const runs: Record<number, number[]> = { 1: [], 2: [] };
  const logits: Float32Array<ArrayBufferLike>[] = [];
  // Alternating three times, each way's fastest: a shared machine runs a process at one of two speeds for seconds at a time.
  for (let round = 0; round < 3; round++)
    for (const threads of [1, 2]) {
      const r = await decode(model, threads);
      runs[threads]!.push(r.ms);
      logits.push(r.logits);
    }
  const [one, two] = [Math.min(...runs[1]!), Math.min(...runs[2]!)];
  console.log(`576-wide Q4_0 decode beside a hog: one thread ${one.toFixed(2)} ms a token, two ${two.toFixed(2)} ms`);
  for (const l of logits) expect(l).toEqual(logits[0]);
  // Room for a shared machine's timing noise (repeated runs: 0.82-1.18x). What it catches is threads
  // held awake through every pass beside the hog, with no fall-back to lone passes: 1.1-1.4x.
  expect(two).toBeLessThan(one * 1.2);
}, 300_000);
