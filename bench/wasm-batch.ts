/**
 * npx tsx bench/wasm-batch.ts [--threads=1] [--batch=8] [--context=64] [--rounds=9]
 *
 * Continuous batching on the wasm backend: one decode step of `batch` sequences × 1 token
 * (ModelRunner.step with `batch` entries) against the same tokens as `batch` separate
 * single-token steps, each sequence at `context` positions of its own prompt, SmolLM2-135M's
 * shape in Q4_0 (scripts/make-bench-models.ts, generated into bench/.models on first use).
 * Prints the medians of `rounds` rounds and their ratio.
 */
import { ensureBenchModel } from '../scripts/make-bench-models.js';
import { KV_BLOCK_SIZE, type SeqStep } from '../src/engine/backend.js';
import { loadWasm } from '../src/engine/wasm/backend.js';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const threads = arg('threads', 1), batch = arg('batch', 8), context = arg('context', 64), rounds = arg('rounds', 9);

const t0 = performance.now();
const path = ensureBenchModel('Q4_0');
console.log(`model ${path} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const maxModelLen = context + rounds + 16;
const { runner } = await loadWasm(path, { threads, maxBatch: batch, maxModelLen });
console.log(runner.description);
const vocab = runner.config.vocabSize;
const perSeq = Math.ceil((context + rounds) / KV_BLOCK_SIZE);
const tables = Array.from({ length: batch }, (_, s) => Array.from({ length: perSeq }, (_, b) => s * perSeq + b));
const token = (s: number, i: number) => (s * 7919 + i * 104729) % vocab;
// every sequence's prompt, `context` tokens
await runner.step!(tables.map((blocks, s) => ({ tokens: Array.from({ length: context }, (_, i) => token(s, i)), pos: 0, blocks, logits: 'none' })));

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const separate: number[] = [], together: number[] = [];
for (let r = 0; r < rounds; r++) {
  const pos = context + r;
  const steps: SeqStep[] = tables.map((blocks, s) => ({ tokens: [token(s, pos)], pos, blocks, logits: 'last' }));
  // both write the same keys and values at `pos`: the order of the two does not change the work
  let t = performance.now();
  for (const step of steps) await runner.step!([step]);
  separate.push(performance.now() - t);
  t = performance.now();
  await runner.step!(steps);
  together.push(performance.now() - t);
}
const [a, b] = [median(separate), median(together)];
console.log(`${batch} sequences at ${context}+ positions, ${threads} thread${threads === 1 ? '' : 's'}, medians of ${rounds} rounds:`);
console.log(`  ${batch} single-token steps: ${a.toFixed(1)} ms (${(a / batch).toFixed(1)} ms each)`);
console.log(`  one step of ${batch} tokens:  ${b.toFixed(1)} ms`);
console.log(`  ratio: ${(a / b).toFixed(2)}x (${((batch * 1000) / b).toFixed(1)} vs ${((batch * 1000) / a).toFixed(1)} tokens/s)`);
runner.dispose();
