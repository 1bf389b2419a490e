/**
 * The wasm backend against the CPU reference on whole models, in Node: every fixture architecture
 * and GGUF type (plus safetensors), every type llama.cpp's llama-quantize writes (SmolLM2-135M's
 * widths), stories260K's published text, prompts longer than a chunk, and two threads. The
 * reference rounds the inputs of quantised matrices as the kernels do (intActivations: 'int8').
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, GGUF_TYPES, K_FIXTURE, K_TYPES } from '../scripts/make-fixtures.js';
import { generatePresets, PRESET_MODELS, PRESETS, presetPath } from '../scripts/make-presets.js';
import type { ModelRunner } from '../src/engine/backend.js';
import { loadCpu } from '../src/engine/cpu/backend.js';
import { argmax } from '../src/engine/sampling.js';
import { CHUNK } from '../src/engine/wasm/forward.js';
import { loadWasm } from '../src/engine/wasm/backend.js';
import { createFetch } from '../src/index.js';
import { nmse } from './helpers/gpu.js';
import { GENERATED, STORIES_GGUF, storiesReference } from './helpers/paths.js';

/** Float weights: float32 sums vs the reference's float64. */
const FLOAT_NMSE = 1e-8;
/**
 * Rounded inputs: where a float32 input and its float64 twin lie on both sides of a rounding
 * boundary they round to neighbouring integers. Measured: a run is either exact (NMSE ~1e-14)
 * until the first such flip, or ~1e-4 from it on (the flipped value stays in the KV cache); at
 * most 2.2e-4 over the presets.
 */
const INT_NMSE = 5e-4;
/**
 * A different greedy token is allowed only where the reference's top two logits are closer than
 * this many times the step's RMS logit difference: a tie the measured noise explains.
 */
const NEAR_TIE_RMS = 4;
const STEPS = 48;
const PROMPT = [1, 300, 17, 259, 450, 88, 12];
const FLOAT = new Set(['F32', 'F16', 'BF16']);

const runners: ModelRunner[] = [];
afterAll(() => runners.forEach((r) => r.dispose()));

async function both(path: string, threads = 1) {
  const wasm = (await loadWasm(path, { maxModelLen: 256, threads })).runner;
  runners.push(wasm);
  const cpu = (await loadCpu(path, { maxModelLen: 256, intActivations: 'int8' })).runner;
  return { wasm, cpu };
}

function rmsDiff(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum / a.length);
}

/**
 * Teacher-forced on the reference's greedy tokens: logits within `tolerance` at every step, and
 * the same greedy token unless the reference had a near-tie. Returns how many tokens agreed.
 */
async function compare(path: string, tolerance: number, prompt = PROMPT, threads = 1): Promise<number> {
  const { wasm, cpu } = await both(path, threads);
  let [a, b] = [await cpu.forward(prompt, 0), await wasm.forward(prompt, 0)];
  let same = 0;
  for (let i = 0; i < STEPS; i++) {
    expect(nmse(b, a), `step ${i}`).toBeLessThan(tolerance);
    const t = argmax(a);
    if (argmax(b) === t) same++;
    else expect(a[t]! - a[argmax(b)]!, `step ${i}: a flip that is not a near-tie`).toBeLessThan(NEAR_TIE_RMS * rmsDiff(a, b));
    [a, b] = [await cpu.forward([t], prompt.length + i), await wasm.forward([t], prompt.length + i)];
  }
  return same;
}

describe.each(FIXTURES)('fixture $name ($arch)', (spec) => {
  it.each(GGUF_TYPES)('GGUF %s', async (dtype) => {
    expect(await compare(join(GENERATED, `${spec.name}-${dtype.toLowerCase()}.gguf`), FLOAT.has(dtype) ? FLOAT_NMSE : INT_NMSE)).toBeGreaterThanOrEqual(STEPS - 1);
  }, 120_000);
  it('safetensors', async () => expect(await compare(join(GENERATED, `${spec.name}-hf`), FLOAT_NMSE)).toBe(STEPS), 120_000);
});

describe('K-quants', () => {
  it.each(K_TYPES)('GGUF %s', async (dtype) => expect(await compare(join(GENERATED, `${K_FIXTURE.name}-${dtype.toLowerCase()}.gguf`), INT_NMSE)).toBeGreaterThanOrEqual(STEPS - 1), 120_000);
});

// Every type llama-quantize writes, at SmolLM2-135M's widths and at 512: the files the bench and users have.
describe.each(PRESET_MODELS.map((m) => m.name))('llama-quantize presets, %s', (model) => {
  it.each(PRESETS)('%s: the reference greedy tokens', async (preset) => {
    const path = presetPath(await generatePresets(), model, preset);
    expect(await compare(path, INT_NMSE)).toBeGreaterThanOrEqual(STEPS - 4);
  }, 300_000);
});

it('stories260K: the same greedy tokens, and the published text through the API', async () => {
  expect(await compare(STORIES_GGUF, FLOAT_NMSE)).toBe(STEPS);
  const f = createFetch({ model: STORIES_GGUF, backend: 'wasm', maxModelLen: 512 });
  const info = await f.ready;
  expect(info.backend).toBe('wasm');
  expect(info.description).toMatch(/WebAssembly (relaxed SIMD( \(four-way dots\))?|SIMD128), \d+ threads?/);
  const res = await f('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 256, temperature: 0 }) });
  expect((await res.json()).choices[0].text).toBe(storiesReference());
  await f.dispose();
}, 120_000);

it('auto picks wasm in Node', async () => {
  const f = createFetch({ model: STORIES_GGUF, maxModelLen: 128 });
  expect((await f.ready).backend).toBe('wasm');
  await f.dispose();
});

describe('chunks and threads', () => {
  const path = join(GENERATED, `${FIXTURES[0]!.name}-q4_0.gguf`);
  const long = Array.from({ length: 2 * CHUNK + 7 }, (_, i) => (i * 37 + 5) % 500);
  it(`a ${long.length}-token prompt (three chunks), two threads`, async () => expect(await compare(path, INT_NMSE, long, 2)).toBeGreaterThanOrEqual(STEPS - 1), 120_000);
  it('all-position logits of a prompt longer than a chunk', async () => {
    const { wasm, cpu } = await both(path, 2);
    const [got, want] = [await wasm.forward(long, 0, true), await cpu.forward(long, 0, true)];
    expect(got.length).toBe(long.length * wasm.config.vocabSize);
    expect(nmse(got, want)).toBeLessThan(INT_NMSE);
  }, 120_000);
  it('a step past the cache is refused, not written out of bounds', async () => {
    const { wasm } = await both(path);
    await expect(wasm.forward([1, 2], 255)).rejects.toThrow(/beyond the cache/);
    await expect(wasm.forward([wasm.config.vocabSize], 0)).rejects.toThrow(/outside the vocabulary/);
  });
});
