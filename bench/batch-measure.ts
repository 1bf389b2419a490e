/**
 * Continuous batching on the wasm backend, in Node or in the bench page: one decode step of
 * `batch` sequences × 1 token (ModelRunner.step with `batch` entries) against the same tokens as
 * `batch` separate single-token steps, each sequence `context` positions into its own prompt.
 * Medians of `rounds` rounds (bench/wasm-batch.ts runs it).
 */
import { KV_BLOCK_SIZE, type SeqStep } from '../src/engine/backend.js';
import { loadWasm } from '../src/engine/wasm/backend.js';
import type { ModelSource } from '../src/model/files.js';

export interface BatchOptions {
  threads: number;
  batch: number;
  context: number;
  rounds: number;
}

export interface BatchResult {
  description: string;
  /** Milliseconds for `batch` single-token steps, and for one step of `batch` tokens. */
  separateMs: number;
  togetherMs: number;
}

export async function measureBatch(model: ModelSource, o: BatchOptions): Promise<BatchResult> {
  const { threads, batch, context, rounds } = o;
  const { runner } = await loadWasm(model, { threads, maxBatch: batch, maxModelLen: context + rounds + 16 });
  try {
    const vocab = runner.config.vocabSize;
    const perSeq = Math.ceil((context + rounds) / KV_BLOCK_SIZE);
    const tables = Array.from({ length: batch }, (_, s) => Array.from({ length: perSeq }, (_, b) => s * perSeq + b));
    const token = (s: number, i: number) => (s * 7919 + i * 104729) % vocab;
    await runner.step!(tables.map((blocks, s) => ({ tokens: Array.from({ length: context }, (_, i) => token(s, i)), pos: 0, blocks, logits: 'none' })));
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
    const separate: number[] = [], together: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const pos = context + r;
      const steps: SeqStep[] = tables.map((blocks, s) => ({ tokens: [token(s, pos)], pos, blocks, logits: 'last' }));
      // both write the same keys and values at `pos`: which runs first does not change the work
      let t = performance.now();
      for (const step of steps) await runner.step!([step]);
      separate.push(performance.now() - t);
      t = performance.now();
      await runner.step!(steps);
      together.push(performance.now() - t);
    }
    return { description: runner.description ?? '', separateMs: median(separate), togetherMs: median(together) };
  } finally {
    runner.dispose();
  }
}
