/**
 * Continuous batching on the wgsl backend: 8 sequences decoding one token each in one batched
 * step, against the same 8 as single steps (medians of 15). `npx tsx bench/batch-step.ts [gpu|cpu-backed] [model.gguf]`
 * (SwiftShader in Node by default: noisy, compare the ratio).
 */
import type { SeqStep } from '../src/engine/backend.js';
import { loadWgsl } from '../src/engine/wgsl/backend.js';

async function main(): Promise<void> {
  const kernels = (process.argv[2] ?? 'cpu-backed') as 'gpu' | 'cpu-backed';
  const model = process.argv[3] ?? new URL('../models/stories260K.gguf', import.meta.url).pathname;
  const { runner } = await loadWgsl(model, { maxModelLen: 256, maxBatch: 8, kernels });
  const seqs: SeqStep[] = Array.from({ length: 8 }, (_, k) => ({ tokens: Array.from({ length: 40 }, (_, i) => (i * 7 + k * 13) % 500), pos: 0, blocks: [k * 4, k * 4 + 1, k * 4 + 2, k * 4 + 3], logits: 'none' }));
  await runner.step!(seqs);
  const median = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!;
  const batched: number[] = [], single: number[] = [];
  for (let it = 0; it < 15; it++) {
    const dec = seqs.map((s, k): SeqStep => ({ tokens: [(k + it) % 500], pos: 40 + it, blocks: s.blocks, logits: 'last' }));
    let t = performance.now();
    await runner.step!(dec);
    batched.push(performance.now() - t);
    t = performance.now();
    for (const d of dec) await runner.step!([d]);
    single.push(performance.now() - t);
  }
  console.log(`${kernels}: one step of 8 decode rows ${median(batched).toFixed(1)} ms, 8 single steps ${median(single).toFixed(1)} ms (${(median(single) / median(batched)).toFixed(2)}x)`);
  runner.dispose();
}

await main();
