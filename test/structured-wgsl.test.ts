/**
 * Constraints on the wgsl backend with sampling on the GPU: the grammar's bitmask is uploaded
 * each step and applied by shaders/sample.wgsl, computed on the CPU while the forward pass runs.
 * Same seeds give the cpu backend's answers; logprobs stay those of the raw model.
 */
import { join } from 'node:path';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetch, type WebinferFetch } from '../src/index.js';
import { client } from './helpers/openai.js';
import { GENERATED } from './helpers/paths.js';
import { KINDS, sample } from './helpers/constraints.js';

const MODEL = join(GENERATED, 'llama-f32.gguf');
let gpu: WebinferFetch;
let cpu: WebinferFetch;

beforeAll(async () => {
  gpu = createFetch({ model: MODEL, backend: 'wgsl', gpuSampling: true, enableLogprob: true });
  cpu = createFetch({ model: MODEL, backend: 'cpu', enableLogprob: true });
  expect((await gpu.ready).backend).toBe('wgsl');
  await cpu.ready;
});
afterAll(async () => {
  await gpu.dispose();
  await cpu.dispose();
});

describe('constraints with GPU sampling', () => {
  // 100 answers per kind; 40 for the JSON kinds, whose answers are long (SwiftShader is slow).
  for (const kind of KINDS) {
    const count = kind.name.startsWith('json') ? 40 : 100;
    it(`${kind.name}: ${count} samples, the cpu's answers`, async () => {
      const [g, c] = [await sample(client(gpu), kind, count, 7), await sample(client(cpu), kind, count, 7)];
      expect(g).toEqual(c);
      for (const a of g) if (a.finish === 'stop') expect(kind.valid(a.text), JSON.stringify(a.text)).toBe(true);
    }, 300_000);
  }

  it('logprobs are those of the raw model, not of the masked one', async () => {
    const ask = (f: WebinferFetch, body: object) =>
      client(f).chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'Write one.' }], max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: 5, ...body } as never) as Promise<OpenAI.ChatCompletion>;
    const free = await ask(cpu, {});
    for (const f of [cpu, gpu]) {
      const constrained = await ask(f, { guided_choice: ['zzz'] });
      const lp = constrained.choices[0]!.logprobs!.content![0]!;
      expect(lp.token).toBe('z');
      expect(lp.top_logprobs.map((t) => t.token)).toEqual(free.choices[0]!.logprobs!.content![0]!.top_logprobs.map((t) => t.token));
      expect(lp.top_logprobs[0]!.logprob).toBeCloseTo(free.choices[0]!.logprobs!.content![0]!.top_logprobs[0]!.logprob, 3);
    }
  }, 120_000);
});
