/**
 * The public API in Node: createFetch with the embedded stories260K, driven by the real `openai`
 * SDK (streaming and not, both endpoints), plus the interceptor and the raw HTTP surface.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetch, installFetchInterceptor, type WebinferFetch } from '../src/index.js';
import { client } from './helpers/openai.js';
import { STORIES_GGUF, storiesReference } from './helpers/paths.js';
import { expectChatCompletion, expectChatStream, expectCompletion, expectCompletionStream } from './helpers/shapes.js';

let fetchFn: WebinferFetch;
const MODEL = 'stories260K';

beforeAll(async () => {
  fetchFn = createFetch({ model: STORIES_GGUF, maxModelLen: 512 });
  await fetchFn.ready;
});
afterAll(() => fetchFn.dispose());

it('answers a path alone, as a page\'s relative fetch is answered', async () => {
  const res = await fetchFn('/v1/models');
  expect(res.status).toBe(200);
  expect((await res.json()).data[0].id).toBe(MODEL);
  const bad = await fetchFn('/v1/nope');
  expect(bad.status).toBe(404);
  expect((await bad.json()).error.type).toBe('invalid_request_error');
});

describe('completions', () => {
  it('reproduces the published greedy output from BOS, token for token', async () => {
    const res = await client(fetchFn).completions.create({ model: MODEL, prompt: '', max_tokens: 256, temperature: 0 });
    expectCompletion(res, MODEL);
    expect(res.choices[0]!.text).toBe(storiesReference());
    expect(res.usage).toEqual({ prompt_tokens: 1, completion_tokens: 256, total_tokens: 257, prompt_tokens_details: { cached_tokens: 0 } });
    expect(res.choices[0]!.finish_reason).toBe('length');
  });

  it('streams the same text as the non-streaming answer', async () => {
    const stream = await client(fetchFn).completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 40, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    const text = expectCompletionStream(chunks, MODEL);
    const whole = await client(fetchFn).completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 40, temperature: 0 });
    expect(text).toBe(whole.choices[0]!.text);
    expect(text.startsWith(',')).toBe(true); // continues the prompt, no space eaten or added
    expect(chunks.at(-1)!.usage).toEqual(whole.usage);
  });

  it('follows a prompt: the continuation of the reference text is the reference text', async () => {
    const ref = storiesReference();
    const res = await client(fetchFn).completions.create({ model: MODEL, prompt: 'Once upon a time, there was a little girl named Lily.', max_tokens: 20, temperature: 0 });
    expect(ref.startsWith('Once upon a time, there was a little girl named Lily.' + res.choices[0]!.text)).toBe(true);
  });

  it('stops at a stop string, without it in the output', async () => {
    const res = await client(fetchFn).completions.create({ model: MODEL, prompt: '', max_tokens: 100, temperature: 0, stop: ['Lily'] });
    expect(res.choices[0]!.text).toBe('Once upon a time, there was a little girl named ');
    expect(res.choices[0]!.finish_reason).toBe('stop');
  });

  it('gives the same sample for the same seed, and n choices', async () => {
    const req = { model: MODEL, prompt: 'Once', max_tokens: 30, temperature: 1, seed: 1234, n: 2 };
    const a = await client(fetchFn).completions.create(req);
    const b = await client(fetchFn).completions.create(req);
    expect(a.choices.map((c) => c.text)).toEqual(b.choices.map((c) => c.text));
    expect(a.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(a.choices[0]!.text).not.toBe(a.choices[1]!.text);
  });
});

describe('chat completions', () => {
  const messages = [{ role: 'user' as const, content: 'Tell me a story.' }];

  it('answers non-streaming', async () => {
    const res = await client(fetchFn).chat.completions.create({ model: MODEL, messages, max_tokens: 30, temperature: 0 });
    expectChatCompletion(res, MODEL);
    expect(res.choices[0]!.message.content!.length).toBeGreaterThan(10);
    expect(res.usage!.completion_tokens).toBe(30);
  });

  it('streams the same answer with role first and finish_reason last', async () => {
    const stream = await client(fetchFn).chat.completions.create({ model: MODEL, messages, max_tokens: 30, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    const text = expectChatStream(chunks, MODEL);
    const whole = await client(fetchFn).chat.completions.create({ model: MODEL, messages, max_tokens: 30, temperature: 0 });
    expect(text).toBe(whole.choices[0]!.message.content);
  });
});

describe('HTTP surface', () => {
  it('lists the model and reports health', async () => {
    const models = await client(fetchFn).models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
    const health = await fetchFn('http://webinfer.local/health');
    expect(health.status).toBe(200);
  });

  it('streams as text/event-stream ending with [DONE]', async () => {
    const res = await fetchFn('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: 'Once', max_tokens: 5, stream: true }) });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await res.text();
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    for (const event of body.trim().split('\n\n')) expect(event.startsWith('data: ')).toBe(true);
  });

  it('pushes chunks as they are generated, not after the whole answer', async () => {
    const t0 = performance.now();
    const res = await fetchFn('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 250, temperature: 0, stream: true, ignore_eos: true }) });
    const reader = res.body!.getReader();
    await reader.read();
    const first = performance.now() - t0;
    while (!(await reader.read()).done);
    const total = performance.now() - t0;
    expect(first).toBeLessThan(total * 0.5);
  });

  it('the interceptor answers under its base URL and passes everything else through', async () => {
    const original = globalThis.fetch;
    const seen: string[] = [];
    globalThis.fetch = (async (input: RequestInfo | URL) => {
      seen.push(String(input));
      return new Response('network');
    }) as typeof fetch;
    const restore = installFetchInterceptor({ model: STORIES_GGUF, baseURL: 'http://local.test/v1' });
    try {
      const res = await fetch('http://local.test/v1/models');
      expect((await res.json()).data[0].id).toBe(MODEL);
      expect(await (await fetch('http://elsewhere.test/v1/models')).text()).toBe('network');
      expect(seen).toEqual(['http://elsewhere.test/v1/models']);
    } finally {
      restore();
      expect(globalThis.fetch).not.toBe(original); // our stub is back
      globalThis.fetch = original;
    }
  });
});
