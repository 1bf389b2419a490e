/**
 * The wgsl backend behind the OpenAI API in Node (Dawn, SwiftShader), with sampling on the GPU:
 * the same seeded answers, penalties, biases, stops and logprobs as the CPU reference backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetch, type WebinferFetch } from '../src/index.js';
import { STORIES_GGUF, storiesReference } from './helpers/paths.js';

let gpu: WebinferFetch;
let cpu: WebinferFetch;
beforeAll(async () => {
  gpu = createFetch({ model: STORIES_GGUF, backend: 'wgsl', gpuSampling: true, enableLogprob: true });
  cpu = createFetch({ model: STORIES_GGUF, backend: 'cpu', enableLogprob: true });
  expect((await gpu.ready).backend).toBe('wgsl');
  await cpu.ready;
});
afterAll(async () => {
  await gpu.dispose();
  await cpu.dispose();
});

const complete = async (f: WebinferFetch, body: object) => (await f('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 40, ...body }) })).json();

describe('GPU sampling gives the CPU backend answers', () => {
  it('greedy from BOS: the reference text', async () => {
    const res = await complete(gpu, { prompt: '', max_tokens: 256, temperature: 0 });
    expect(res.choices[0].text).toBe(storiesReference());
  }, 120_000);

  it.each([
    ['temperature', { temperature: 0.9, seed: 1 }],
    ['top-k', { temperature: 1.1, top_k: 5, seed: 2 }],
    ['top-p', { temperature: 1, top_p: 0.7, seed: 3 }],
    ['min-p', { temperature: 1.3, min_p: 0.1, seed: 4 }],
    ['penalties', { temperature: 0.8, seed: 5, frequency_penalty: 0.8, presence_penalty: 0.4, repetition_penalty: 1.2 }],
    ['logit_bias and bad_words', { temperature: 0.8, seed: 6, logit_bias: { '300': 3, '400': -100 }, bad_words: ['Lily'] }],
    ['min_tokens with EOS pushed up', { temperature: 0.5, seed: 7, logit_bias: { '2': 8 }, min_tokens: 6 }],
  ])('%s', async (_, params) => {
    const [a, b] = await Promise.all([complete(gpu, { ...params, return_token_ids: true }), complete(cpu, { ...params, return_token_ids: true })]);
    expect(a.choices[0].completion_token_ids).toEqual(b.choices[0].completion_token_ids);
    expect(a.choices[0].text).toBe(b.choices[0].text);
  }, 60_000);

  it('logprobs and top logprobs match', async () => {
    const [a, b] = await Promise.all([complete(gpu, { temperature: 0.7, seed: 9, logprobs: 3 }), complete(cpu, { temperature: 0.7, seed: 9, logprobs: 3 })]);
    expect(a.choices[0].logprobs.tokens).toEqual(b.choices[0].logprobs.tokens);
    a.choices[0].logprobs.token_logprobs.forEach((v: number, i: number) => expect(v).toBeCloseTo(b.choices[0].logprobs.token_logprobs[i], 3));
    expect(a.choices[0].logprobs.top_logprobs.map((t: object) => Object.keys(t))).toEqual(b.choices[0].logprobs.top_logprobs.map((t: object) => Object.keys(t)));
  }, 60_000);
});

describe('pipelined device steps', () => {
  it('a stream cancelled while the next step runs on the GPU leaves the engine consistent', async () => {
    const res = await gpu('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 200, temperature: 0, stream: true }) });
    const reader = res.body!.getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    await reader.cancel();
    // The same prompt again: the cached prefix is reused, the answer must still be the reference.
    const again = await complete(gpu, { prompt: '', max_tokens: 256, temperature: 0 });
    expect(again.choices[0].text).toBe(storiesReference());
  }, 120_000);
});

describe('chained steps (each submitted before the last one\'s tokens come back)', () => {
  it('requests decoding together, chained or not, give the tokens each gives alone', async () => {
    const bodies = [
      { prompt: 'Once upon a time', temperature: 0.9, seed: 11, max_tokens: 48 },
      { prompt: 'The cat', temperature: 1, top_p: 0.8, seed: 12, max_tokens: 40, logprobs: 2 },
      { prompt: 'Tom and', temperature: 0, max_tokens: 30, stop: ['.'] }, // ends early: its chained step is dropped
      { prompt: 'One day', temperature: 1.2, top_k: 8, seed: 13, max_tokens: 3 },
      { prompt: 'Lily', temperature: 0.8, seed: 14, max_tokens: 36, frequency_penalty: 0.6, repetition_penalty: 1.3 }, // counted on the device
      { prompt: 'A bird', temperature: 0.9, seed: 16, max_tokens: 6, bad_words: ['the'] }, // no step chains while it runs
      { prompt: 'The dog', temperature: 0.7, seed: 15, max_tokens: 24, min_tokens: 10, logit_bias: { '2': 6 } },
    ];
    const ids = async (body: object) => (await complete(gpu, { ...body, return_token_ids: true })).choices[0].completion_token_ids;
    const solo: unknown[] = [];
    for (const b of bodies) solo.push(await ids(b));
    const before = (await gpu.stats())!.chained;
    const together = await Promise.all(bodies.map(ids));
    expect(together).toEqual(solo);
    expect((await gpu.stats())!.chained).toBeGreaterThan(before);
    expect(await gpu.stats()).toMatchObject({ running: 0, waiting: 0, blocks: { used: 0 } });
  }, 120_000);
});

