/**
 * Continuous batching through createFetch and the openai SDK: many requests at once give each
 * exactly what it gets alone (tokens, logprobs, tool calls, finish reasons), aborts and
 * preemption leave nothing behind, and a repeated prompt starts from the prefix cache.
 * A random-weight model (noise at temperature 1, so every sampling path is exercised) with a
 * chat template and tools.
 */
import { join } from 'node:path';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetch, type WebinferFetch } from '../src/index.js';
import { PERSON_SCHEMA } from './helpers/constraints.js';
import { client } from './helpers/openai.js';
import { GENERATED } from './helpers/paths.js';

const MODEL = join(GENERATED, 'llama-tools.gguf');
const TOOLS: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 10 } }, required: ['city'] } } },
];
/** 'wgsl-gpu': wgsl with GPU sampling, as on hardware GPUs: its decode steps chain (Scheduler.chain). */
type Variant = 'cpu' | 'wasm' | 'wgsl' | 'wgsl-gpu';
const BACKENDS = (process.env.BATCH_BACKENDS ?? 'cpu,wasm,wgsl,wgsl-gpu').split(',') as Variant[];
const load = (v: Variant) => (v === 'wgsl-gpu' ? { backend: 'wgsl' as const, gpuSampling: true } : { backend: v });

/** What must not depend on the other requests: the choices, without timings and random call ids. */
function choicesOf(r: { choices: unknown[] }): unknown {
  return JSON.parse(JSON.stringify(r.choices, (k, v) => (k === 'arrival_time' || (k === 'id' && String(v).startsWith('call_')) ? undefined : v)));
}

type Req = (c: OpenAI) => Promise<unknown>;

/** A streamed answer folded per choice index: text, finish reason, and tool-call argument text. */
async function streamed(stream: AsyncIterable<OpenAI.ChatCompletionChunk | OpenAI.Completion>, stopAfter?: number, abort?: AbortController): Promise<unknown> {
  const parts: Record<number, { text: string; finish: string | null; tools: string }> = {};
  let chunks = 0;
  try {
    for await (const chunk of stream) {
      for (const ch of chunk.choices) {
        const p = (parts[ch.index] ??= { text: '', finish: null, tools: '' });
        if ('delta' in ch) {
          p.text += ch.delta.content ?? '';
          p.tools += (ch.delta.tool_calls ?? []).map((t) => `${t.function?.name ?? ''}${t.function?.arguments ?? ''}`).join('');
        } else p.text += ch.text;
        p.finish = ch.finish_reason ?? p.finish;
      }
      if (stopAfter !== undefined && ++chunks === stopAfter) abort!.abort();
    }
  } catch (e) {
    if (!abort?.signal.aborted) throw e;
  }
  return parts;
}

/** 32 requests of every kind the API has. */
function mixed(): Req[] {
  const user = (i: number) => [{ role: 'user' as const, content: `Request ${i}: tell me about the number ${i * 7}.` }];
  const reqs: Req[] = [];
  for (let i = 0; i < 4; i++) {
    reqs.push(async (c) => choicesOf(await c.chat.completions.create({ model: 'llama-tools', messages: user(i), max_tokens: 12 + i, temperature: 0 })));
    reqs.push(async (c) => streamed(await c.chat.completions.create({ model: 'llama-tools', messages: user(i + 10), max_tokens: 16, temperature: 1, seed: i, stream: true })));
    reqs.push(async (c) => choicesOf(await c.completions.create({ model: 'llama-tools', prompt: `Once upon a time ${i}`, max_tokens: 10, logprobs: 2, temperature: 0.8, seed: 100 + i })));
    reqs.push(async (c) => streamed(await c.completions.create({ model: 'llama-tools', prompt: `The ${i} cats`, max_tokens: 20, stop: ['e', 'a'], temperature: 1, seed: 200 + i, stream: true })));
    reqs.push(async (c) =>
      choicesOf(await c.chat.completions.create({ model: 'llama-tools', messages: user(i + 20), max_tokens: 60, temperature: 1, seed: 300 + i, response_format: { type: 'json_schema', json_schema: { name: 'p', schema: PERSON_SCHEMA } } })),
    );
    reqs.push(async (c) => choicesOf(await c.chat.completions.create({ model: 'llama-tools', messages: user(i + 30), max_tokens: 40, temperature: 1, seed: 400 + i, tools: TOOLS, tool_choice: 'required' })));
    reqs.push(async (c) => choicesOf(await c.chat.completions.create({ model: 'llama-tools', messages: user(i + 40), max_tokens: 8, temperature: 1, seed: 500 + i, n: 3, logprobs: true, top_logprobs: 2, frequency_penalty: 0.5 })));
    reqs.push(async (c) => {
      // Aborted after its third chunk: what came before the abort is the solo run's beginning.
      const abort = new AbortController();
      return streamed(await c.completions.create({ model: 'llama-tools', prompt: `Abort ${i}`, max_tokens: 30, temperature: 1, seed: 600 + i, stream: true }, { signal: abort.signal }), 3, abort);
    });
  }
  return reqs;
}

describe.each(BACKENDS)('continuous batching on %s', (backend) => {
  let f: WebinferFetch;
  let c: OpenAI;
  beforeAll(async () => {
    f = createFetch({ model: MODEL, ...load(backend), maxModelLen: 1024, maxBatch: 8, enableLogprob: true });
    await f.ready;
    c = client(f);
  });
  afterAll(() => f.dispose());

  const idle = async () => expect(await f.stats()).toMatchObject({ running: 0, waiting: 0, matchers: 0, blocks: { used: 0 } });

  it('32 concurrent mixed requests give each its solo output', async () => {
    const reqs = mixed();
    const solo: unknown[] = [];
    for (const r of reqs) solo.push(await r(c));
    let peak = 0;
    const poll = setInterval(() => void f.stats().then((st) => (peak = Math.max(peak, st!.running))), 2);
    const together = await Promise.all(reqs.map((r) => r(c)));
    clearInterval(poll);
    expect(peak).toBeGreaterThan(4); // they did run together
    const differ = reqs.flatMap((_, i) => (JSON.stringify(together[i]) === JSON.stringify(solo[i]) ? [] : [i]));
    expect(differ, JSON.stringify(differ.map((i) => [solo[i], together[i]]))).toEqual([]);
    await idle();
  }, 600_000);

  it('1000 requests with random aborts leave no sequence, KV block or grammar matcher behind', async () => {
    let rng = 12345;
    const rand = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const one = async (i: number) => {
      const abort = new AbortController();
      const delay = rand() < 0.5 ? rand() * 40 : undefined;
      if (delay !== undefined) setTimeout(() => abort.abort(), delay);
      const constrained = i % 3 === 0 ? { response_format: { type: 'json_schema' as const, json_schema: { name: 'p', schema: PERSON_SCHEMA } } } : {};
      try {
        const r = await c.chat.completions.create({ model: 'llama-tools', messages: [{ role: 'user', content: `q${i % 17}` }], max_tokens: 1 + (i % 9), temperature: 1, seed: i, stream: i % 2 === 0, ...constrained }, { signal: abort.signal });
        if (i % 2 === 0) for await (const _ of r as AsyncIterable<unknown>);
        return 'done';
      } catch (e) {
        if (abort.signal.aborted) return 'aborted';
        throw e;
      }
    };
    const after = () => c.chat.completions.create({ model: 'llama-tools', messages: [{ role: 'user', content: 'after' }], max_tokens: 5, seed: 9 });
    const before = choicesOf(await after());
    const outcomes: string[] = [];
    for (let wave = 0; wave < 10; wave++) outcomes.push(...(await Promise.all(Array.from({ length: 100 }, (_, k) => one(wave * 100 + k)))));
    expect(outcomes.filter((o) => o === 'aborted').length).toBeGreaterThan(50);
    expect(outcomes.filter((o) => o === 'done').length).toBeGreaterThan(300);
    await idle();
    // And it answers normally afterwards: as the same request did before the storm.
    expect(choicesOf(await after())).toEqual(before);
    await idle();
  }, 600_000);

  it('a repeated conversation starts from the prefix cache: cached_tokens, same answer', async () => {
    const long = Array.from({ length: 40 }, (_, i) => `Turn ${i} says something.`).join(' ');
    const ask = (extra = '') => c.chat.completions.create({ model: 'llama-tools', messages: [{ role: 'system', content: long }, { role: 'user', content: `Hello${extra}` }], max_tokens: 10, temperature: 1, seed: 7 });
    const first = await ask();
    await ask(' other'); // another conversation in between shares the system prompt
    const again = await ask();
    expect(first.usage!.prompt_tokens).toBeGreaterThan(200);
    const cached = again.usage!.prompt_tokens_details?.cached_tokens ?? 0;
    expect(cached).toBeGreaterThan(first.usage!.prompt_tokens - 17);
    expect(cached % 16).toBe(0);
    expect(choicesOf(again)).toEqual(choicesOf(first));
    await idle();
  }, 120_000);
});

describe.each((['cpu', 'wgsl-gpu'] as const).filter((v) => BACKENDS.includes(v)))('preemption on %s', (variant) => {
  it('sequences that outgrow a small KV cache are recomputed, not failed, with the same answers', async () => {
    // Room for 320 positions; four requests of ~200 positions each cannot all stay.
    const probe = createFetch({ model: MODEL, ...load(variant), maxModelLen: 256 });
    const info = await probe.ready;
    const perPosition = info.kvCache!.bytes / (info.kvCache!.blocks * info.kvCache!.blockSize);
    await probe.dispose();
    const f = createFetch({ model: MODEL, ...load(variant), maxModelLen: 256, maxBatch: 4, kvCacheBytes: 320 * perPosition });
    const c = client(f);
    try {
      expect((await f.ready).kvCache!.blocks).toBe(20);
      const ask = (i: number) => c.completions.create({ model: 'llama-tools', prompt: `Story ${i}: ` + 'word '.repeat(60), max_tokens: 120, temperature: 1, seed: i, ignore_eos: true } as OpenAI.CompletionCreateParamsNonStreaming);
      const solo = [];
      for (let i = 0; i < 4; i++) solo.push(choicesOf(await ask(i)));
      const together = await Promise.all([0, 1, 2, 3].map(async (i) => choicesOf(await ask(i))));
      expect(together).toEqual(solo);
      const stats = await f.stats();
      expect(stats).toMatchObject({ running: 0, waiting: 0, blocks: { used: 0 } });
      expect(stats!.preempted).toBeGreaterThan(0);
      // with GPU sampling the decode steps chained (penalty-free requests), also around the preemptions
      if (variant === 'wgsl-gpu') expect(stats!.chained).toBeGreaterThan(0);
    } finally {
      await f.dispose();
    }
  }, 300_000);
});
