/**
 * Threads that never make things worse: beside another process that keeps a core busy, matmuls on
 * two threads must not be much slower than on one (with rows split in fixed shares they were 5-8x
 * slower: the caller waited for a thread the OS had descheduled), and they give the same numbers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Kernels } from '../src/engine/wasm/kernels.js';
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
