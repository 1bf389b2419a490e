/**
 * The wgsl backend's float16 KV cache (shaders/paged.wgsl's KV_HALF: pairs packed in u32 words, no
 * shader-f16 needed), on both kernel families (Node, Dawn, SwiftShader). Float weights, so nothing
 * but the cache separates the backend from the float64 reference: its logits must match the
 * reference whose keys and values are rounded to float16 far better than the exact one. Prompt
 * rows (prompt attention kernels) and decoded rows (decode attention: attn_decode, or the flash
 * kernel's decode tiles) are both checked; the fixtures cover interleaved RoPE (llama), neox with
 * q/k norms (qwen3), partial neox (phi4mini: pass-through dimensions in the packed words) and
 * sliding windows with soft-capped scores (gemma2).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelRunner } from '../src/engine/backend.js';
import { defaultKvDtype, loadWgsl } from '../src/engine/wgsl/backend.js';
import { loadWasm } from '../src/engine/wasm/backend.js';
import { FIXTURES, makeWeights } from '../scripts/make-fixtures.js';
import { f16ToF32, f32ToF16 } from '../src/formats/dtypes.js';
import { nmse } from './helpers/gpu.js';
import { referenceLogits } from './helpers/reference.js';
import { GENERATED } from './helpers/paths.js';

const runners: ModelRunner[] = [];
afterAll(() => runners.forEach((r) => r.dispose()));

async function load(name: string, kernels: 'gpu' | 'cpu-backed', kvDtype?: 'f16' | 'f32'): Promise<ModelRunner> {
  const { runner } = await loadWgsl(join(GENERATED, `${name}-f32.gguf`), { maxModelLen: 256, maxBatch: 4, kernels, kvDtype });
  runners.push(runner);
  return runner;
}

const tokensOf = (vocab: number, n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 7919 + seed * 104729) % vocab);

it('float16 is the default on hardware GPUs, float32 on CPU-backed adapters (SwiftShader)', () => {
  expect(defaultKvDtype(false)).toBe('f16');
  expect(defaultKvDtype(true)).toBe('f32');
});

describe.each(['cpu-backed', 'gpu'] as const)('kernels %s', (kernels) => {
  it.each(['llama', 'qwen3'])('%s F32: the reference with its keys and values rounded to float16, prompt and decoded rows', async (name) => {
    const spec = FIXTURES.find((f) => f.name === name)!;
    const runner = await load(name, kernels, 'f16');
    expect(runner.kv!.dtype).toBe('f16');
    expect(runner.description).toMatch(/MiB f16/);
    const vocab = runner.config.vocabSize;
    // 70 prompt tokens: past one 64-position decode chunk, so decoded rows combine chunks
    const prompt = tokensOf(vocab, 70, 1), decoded = tokensOf(vocab, 5, 2);
    const tokens = [...prompt, ...decoded];
    const all = await runner.forward(prompt, 0, true);
    const rows: Float32Array[] = Array.from({ length: prompt.length }, (_, i) => all.slice(i * vocab, (i + 1) * vocab));
    for (const [i, t] of decoded.entries()) rows.push(await runner.forward([t], prompt.length + i));
    const weights = makeWeights(spec, vocab);
    const rounded = referenceLogits(spec, weights, tokens, (x) => f16ToF32(f32ToF16(x)));
    const exact = referenceLogits(spec, weights, tokens);
    let worstRounded = 0, worstExact = 0;
    rows.forEach((row, i) => {
      worstRounded = Math.max(worstRounded, nmse(row, rounded[i]!));
      worstExact = Math.max(worstExact, nmse(row, exact[i]!));
    });
    expect(worstRounded).toBeLessThan(5e-9);
    expect(worstExact).toBeGreaterThan(20 * worstRounded); // the reference tells the two caches apart
  }, 180_000);

  // Architectures the float64 reference does not model: against the wasm backend's float16 cache
  // (itself checked against the reference in test/wasm-batch.test.ts).
  it.each(['phi4mini', 'gemma2'])('%s F32: the wasm backend with a float16 cache, prompt and decoded rows', async (name) => {
    const runner = await load(name, kernels, 'f16');
    const vocab = runner.config.vocabSize;
    const prompt = tokensOf(vocab, 70, 5), decoded = tokensOf(vocab, 4, 6);
    const rowsOf = async (r: ModelRunner) => {
      const all = await r.forward(prompt, 0, true);
      const rows: Float32Array[] = Array.from({ length: prompt.length }, (_, i) => all.slice(i * vocab, (i + 1) * vocab));
      for (const [i, t] of decoded.entries()) rows.push(await r.forward([t], prompt.length + i));
      return rows;
    };
    const wasm = async (kvDtype: 'f16' | 'f32') => {
      const { runner: r } = await loadWasm(join(GENERATED, `${name}-f32.gguf`), { maxModelLen: 256, threads: 1, kvDtype });
      runners.push(r);
      return rowsOf(r);
    };
    const [got, half, full] = [await rowsOf(runner), await wasm('f16'), await wasm('f32')];
    let worstHalf = 0, worstFull = 0;
    got.forEach((row, i) => {
      worstHalf = Math.max(worstHalf, nmse(row, half[i]!));
      worstFull = Math.max(worstFull, nmse(row, full[i]!));
    });
    // Measured (SwiftShader): phi4mini 1.9e-7 against 1.6e-4, gemma2 5.3e-8 against 2.1e-4. Their
    // q/k gains make the logits sensitive to the few keys that float32 sums in another order put
    // on the other side of a float16 rounding boundary.
    expect(worstHalf).toBeLessThan(1e-6);
    expect(worstFull).toBeGreaterThan(100 * worstHalf);
  }, 180_000);

  it('half the bytes of float32; a copied block (copy-on-write) reads back the same keys and values', async () => {
    const [f16, f32] = [await load('llama', kernels, 'f16'), await load('llama', kernels, 'f32')];
    expect(f16.kv!.bytes).toBe(f32.kv!.bytes / 2);
    expect(f16.kv!.numBlocks).toBe(f32.kv!.numBlocks);
    const vocab = f16.config.vocabSize;
    const prompt = tokensOf(vocab, 20, 3);
    await f16.step!([{ tokens: prompt, pos: 0, blocks: [0, 1], logits: 'none' }]);
    const [want] = await f16.step!([{ tokens: [5], pos: 20, blocks: [0, 1], logits: 'last' }]);
    await f16.copyBlock!(1, 6);
    await f16.step!([{ tokens: tokensOf(vocab, 20, 4), pos: 0, blocks: [7, 1], logits: 'none' }]); // block 1 now holds another sequence
    const [got] = await f16.step!([{ tokens: [5], pos: 20, blocks: [0, 6], logits: 'last' }]);
    expect(Array.from(got!.logits!)).toEqual(Array.from(want!.logits!));
  }, 120_000);
});
