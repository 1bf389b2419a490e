/**
 * Every request field of the seed document, through the official openai SDK, against createFetch
 * and against the HTTP server on 127.0.0.1, each in streaming and non-streaming mode (helpers/both).
 */
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningServer } from '../src/cli/server.js';
import { loadCpu } from '../src/engine/cpu/backend.js';
import type { ModelRunner } from '../src/engine/backend.js';
import { createFetch, type WebinferFetch } from '../src/index.js';
import { both } from './helpers/both.js';
import { client } from './helpers/openai.js';
import { GENERATED, STORIES_GGUF, storiesReference } from './helpers/paths.js';

const M = 'stories260K';
const REF = storiesReference();
let local: WebinferFetch;
let http: RunningServer;
let reference: ModelRunner;

beforeAll(async () => {
  local = createFetch({ model: STORIES_GGUF, enableLogprob: true });
  http = await serve({ model: STORIES_GGUF, port: 0, enableLogprob: true, maxModelLen: 512 });
  await local.ready;
  reference = (await loadCpu(STORIES_GGUF, {})).runner;
});
afterAll(async () => {
  await local.dispose();
  await http.close();
});

/** float64 log-softmax of the reference engine's logits after `tokens`. */
async function referenceLogprobs(tokens: number[]): Promise<Float64Array> {
  const logits = await reference.forward(tokens, 0);
  const max = Math.max(...logits);
  const lse = max + Math.log(logits.reduce((a, v) => a + Math.exp(v - max), 0));
  return Float64Array.from(logits, (v) => v - lse);
}

const transports: [string, () => OpenAI][] = [
  ['createFetch', () => client(local)],
  ['HTTP server', () => new OpenAI({ baseURL: `${http.url}/v1`, apiKey: 'unused', maxRetries: 0 })],
];

describe.each(transports)('%s', (_, getClient) => {
  let c: OpenAI;
  beforeAll(() => {
    c = getClient();
  });
  const comp = (p: Record<string, unknown>) => both(c, 'completion', { model: M, ...p });
  const chat = (p: Record<string, unknown>) => both(c, 'chat', { model: M, ...p });
  const greedy = { prompt: '', temperature: 0 };

  describe('sampling', () => {
    it('temperature 0 is greedy: the reference text', async () => {
      const { whole } = await comp({ ...greedy, max_tokens: 256 });
      expect(whole.choices[0]!.text).toBe(REF);
    });
    it.each([
      ['top_k 1', { top_k: 1 }],
      ['top_p 0.01', { top_p: 0.01 }],
      ['min_p 1', { min_p: 1 }],
    ])('%s at temperature 1 leaves only the best token', async (_n, extra) => {
      const { whole } = await comp({ prompt: '', temperature: 1, seed: 5, max_tokens: 60, ...extra });
      expect(REF.startsWith(whole.choices[0]!.text)).toBe(true);
    });
    it('seed: the same seed repeats, another seed differs', async () => {
      const a = await comp({ prompt: 'Once', temperature: 1, seed: 11, max_tokens: 40 });
      const b = await comp({ prompt: 'Once', temperature: 1, seed: 11, max_tokens: 40 });
      const d = await comp({ prompt: 'Once', temperature: 1, seed: 12, max_tokens: 40 });
      expect(a.whole.choices[0]!.text).toBe(b.whole.choices[0]!.text);
      expect(d.whole.choices[0]!.text).not.toBe(a.whole.choices[0]!.text);
    });
    it('n: independent samples with their indexes', async () => {
      const { whole, streamed } = await comp({ prompt: 'Once', temperature: 1, seed: 3, n: 3, max_tokens: 30 });
      expect(whole.choices.map((x) => x.index)).toEqual([0, 1, 2]);
      expect(new Set(whole.choices.map((x) => x.text)).size).toBe(3);
      expect(streamed.choices.length).toBe(3);
      expect(whole.usage.completion_tokens).toBe(90);
    });
    it('logit_bias: -100 bans a token, +100 forces one', async () => {
      const lily = (await comp({ ...greedy, max_tokens: 12, return_token_ids: true })).whole.choices[0]!.token_ids!.at(-1)!; // "Lily"
      const banned = await comp({ ...greedy, max_tokens: 60, logit_bias: { [lily]: -100 }, return_token_ids: true });
      expect(banned.whole.choices[0]!.token_ids).not.toContain(lily);
      const forced = await comp({ ...greedy, max_tokens: 5, logit_bias: { 300: 100 }, return_token_ids: true });
      expect(forced.whole.choices[0]!.token_ids).toEqual([300, 300, 300, 300, 300]);
    });
    it('frequency, presence and repetition penalties reduce repetition', async () => {
      const distinct = async (extra: object) => {
        const ids = (await comp({ ...greedy, max_tokens: 200, return_token_ids: true, ...extra })).whole.choices[0]!.token_ids!;
        return new Set(ids).size / ids.length;
      };
      const base = await distinct({});
      expect(await distinct({ frequency_penalty: 1.5 })).toBeGreaterThan(base);
      expect(await distinct({ presence_penalty: 1.5 })).toBeGreaterThan(base);
      expect(await distinct({ repetition_penalty: 1.8 })).toBeGreaterThan(base);
      expect(await distinct({ repetition_penalty: 1 })).toBe(base);
    });
  });

  describe('stopping', () => {
    it('stop strings are removed, or kept with include_stop_str_in_output', async () => {
      const a = await comp({ ...greedy, max_tokens: 100, stop: ['park'] });
      expect(a.whole.choices[0]).toMatchObject({ text: 'Once upon a time, there was a little girl named Lily. She loved to play outside in the ', finish_reason: 'stop' });
      const b = await comp({ ...greedy, max_tokens: 100, stop: 'park', include_stop_str_in_output: true });
      expect(b.whole.choices[0]!.text.endsWith('in the park')).toBe(true);
      // the held-back "p", "pa"… never reached the stream
      expect(a.streamed.chunks.map((ch) => ch.choices[0]?.text ?? '').join('')).toBe(a.whole.choices[0]!.text);
    });
    it('stop_token_ids end generation at that token', async () => {
      const comma = (await comp({ ...greedy, max_tokens: 5, return_token_ids: true })).whole.choices[0]!.token_ids![4]!; // ","
      const { whole } = await comp({ ...greedy, max_tokens: 50, stop_token_ids: [comma] });
      expect(whole.choices[0]).toMatchObject({ text: 'Once upon a time', finish_reason: 'stop' });
    });
    it('EOS stops; ignore_eos goes on; min_tokens holds EOS back', async () => {
      const eos = { logit_bias: { 2: 100 } }; // make EOS the only choice
      expect((await comp({ ...greedy, max_tokens: 10, ...eos })).whole.choices[0]).toMatchObject({ text: '', finish_reason: 'stop' });
      expect((await comp({ ...greedy, max_tokens: 10, ...eos })).whole.usage.completion_tokens).toBe(0);
      expect((await comp({ ...greedy, max_tokens: 10, ...eos, ignore_eos: true })).whole).toMatchObject({ choices: [{ finish_reason: 'length' }], usage: { completion_tokens: 10 } });
      expect((await comp({ ...greedy, max_tokens: 10, ...eos, min_tokens: 4 })).whole).toMatchObject({ choices: [{ finish_reason: 'stop' }], usage: { completion_tokens: 4 } });
    });
    it('min_tokens also holds stop strings back', async () => {
      const { whole } = await comp({ ...greedy, max_tokens: 40, stop: ['Once'], min_tokens: 3 });
      expect(whole.choices[0]!.text.startsWith('Once upon a')).toBe(true);
    });
    it('bad_words: the word never appears as its token sequence', async () => {
      const { whole } = await comp({ ...greedy, max_tokens: 80, bad_words: ['Lily', 'park'], return_token_ids: true });
      expect(whole.choices[0]!.text).not.toMatch(/ Lily| park/);
      expect(whole.choices[0]!.text).not.toBe(REF.slice(0, whole.choices[0]!.text.length));
    });
    it('max_tokens and max_completion_tokens limit the answer with finish_reason length', async () => {
      expect((await comp({ ...greedy, max_tokens: 7 })).whole).toMatchObject({ choices: [{ finish_reason: 'length' }], usage: { completion_tokens: 7 } });
      expect((await chat({ messages: [{ role: 'user', content: 'x' }], temperature: 0, max_completion_tokens: 6 })).whole.usage.completion_tokens).toBe(6);
    });
  });

  describe('log probabilities', () => {
    it('chat logprobs/top_logprobs are the reference log-softmax, in OpenAI format', async () => {
      const { whole, raw } = await chat({ messages: [{ role: 'user', content: 'Hi' }], temperature: 0, max_tokens: 4, logprobs: true, top_logprobs: 3, return_token_ids: true, disable_chat_template: true });
      const entries = raw.choices[0].logprobs.content;
      expect(entries.length).toBe(4);
      const ctx = raw.choices[0].message.prompt_token_ids as number[];
      const ids = whole.choices[0]!.token_ids!;
      for (let i = 0; i < 4; i++) {
        const lp = await referenceLogprobs([...ctx, ...ids.slice(0, i)]);
        expect(entries[i].logprob).toBeCloseTo(lp[ids[i]!]!, 4);
        expect(entries[i].top_logprobs.length).toBe(3);
        expect(entries[i].top_logprobs[0].logprob).toBeGreaterThanOrEqual(entries[i].top_logprobs[1].logprob);
        expect(entries[i].top_logprobs[0].token).toBe(entries[i].token); // greedy picks the best
        expect(Buffer.from(entries[i].bytes).toString()).toBe(entries[i].token);
      }
    });
    it('completions logprobs (legacy) with echo include the prompt, first entry null', async () => {
      const { whole } = await comp({ prompt: 'Once upon a time', temperature: 0, max_tokens: 3, logprobs: 2, echo: true });
      const lps = whole.choices[0]!.logprobs;
      expect(lps.length).toBe(5 + 3); // BOS + 4 prompt tokens + 3
      expect(lps[0].logprob).toBeNull();
      expect(lps[0].top).toBeNull();
      expect(whole.choices[0]!.text).toBe('Once upon a time, there was');
      for (const l of lps.slice(1)) expect(Object.keys(l.top).length).toBeLessThanOrEqual(2);
      for (let i = 1; i < lps.length; i++) expect(lps[i].offset).toBeGreaterThanOrEqual(lps[i - 1].offset);
      const ref = await referenceLogprobs([1, 403]);
      expect(lps[2].logprob).toBeCloseTo(ref[407]!, 4); // " upon" after "Once"
    });
  });

  describe('prompts', () => {
    it('a list of strings and token-id lists give one choice per prompt per n', async () => {
      const { whole } = await comp({ prompt: ['Once upon', 'Lily'], temperature: 0, max_tokens: 3, n: 2 });
      expect(whole.choices.map((x) => x.index)).toEqual([0, 1, 2, 3]);
      expect(whole.choices[0]!.text).toBe(whole.choices[1]!.text);
      expect(whole.choices[0]!.text).not.toBe(whole.choices[2]!.text);
      const ids = await comp({ prompt: [[1, 403], [1]], temperature: 0, max_tokens: 3 });
      expect(ids.whole.choices[1]!.text).toBe('Once upon a');
      expect((await comp({ prompt: [1], temperature: 0, max_tokens: 3 })).whole.choices[0]!.text).toBe('Once upon a');
    });
    it('best_of returns the candidate with the highest mean logprob', async () => {
      const res = await c.completions.create({ model: M, prompt: 'Once', temperature: 1, seed: 20, best_of: 3, n: 1, max_tokens: 12 });
      expect(res.choices.length).toBe(1);
      const candidates = [];
      for (let i = 0; i < 3; i++) {
        const r = await c.completions.create({ model: M, prompt: 'Once', temperature: 1, seed: 20 + i, max_tokens: 12, logprobs: 0 });
        const lps = r.choices[0]!.logprobs!.token_logprobs as number[];
        candidates.push({ text: r.choices[0]!.text, mean: lps.reduce((a, b) => a + b, 0) / lps.length });
      }
      candidates.sort((a, b) => b.mean - a.mean);
      expect(res.choices[0]!.text).toBe(candidates[0]!.text);
    });
    it('echo puts the prompt before the answer', async () => {
      expect((await comp({ prompt: 'Once upon', temperature: 0, max_tokens: 2, echo: true })).whole.choices[0]!.text).toBe('Once upon a time');
    });
    it('chat: messages as token ids, prompt_token_ids, disable_chat_template', async () => {
      const asIds = await chat({ messages: [1, 403, 407], temperature: 0, max_tokens: 3 });
      expect(asIds.whole.choices[0]!.text).toBe(' a time,');
      const viaField = await chat({ messages: [{ role: 'user', content: 'ignored' }], prompt_token_ids: [1, 403, 407], temperature: 0, max_tokens: 3 });
      expect(viaField.whole.choices[0]!.text).toBe(' a time,');
      const raw = await chat({ messages: [{ role: 'user', content: 'Once upon' }], disable_chat_template: true, temperature: 0, max_tokens: 2 });
      expect(raw.whole.choices[0]!.text).toBe(' a time');
    });
    it('chat_template and chat_template_kwargs reach the template; add_generation_prompt', async () => {
      const template = '{{ opening }}{% for m in messages %}{{ m.content }}{% endfor %}{% if add_generation_prompt %} upon{% endif %}';
      const a = await chat({ messages: [{ role: 'user', content: '' }], chat_template: template, chat_template_kwargs: { opening: 'Once' }, temperature: 0, max_tokens: 2, return_token_ids: true });
      expect(a.raw.choices[0].message.prompt_token_ids).toEqual([1, 403, 407]);
      const b = await chat({ messages: [{ role: 'user', content: '' }], chat_template: template, chat_template_kwargs: { opening: 'Once' }, add_generation_prompt: false, temperature: 0, max_tokens: 2, return_token_ids: true });
      expect(b.raw.choices[0].message.prompt_token_ids).toEqual([1, 403]);
    });
    it('a final assistant message is continued (prefill)', async () => {
      const { whole } = await chat({ messages: [{ role: 'user', content: 'Tell me a story' }, { role: 'assistant', content: 'Once upon a time, there was a little' }], temperature: 0, max_tokens: 8 });
      expect(whole.choices[0]!.text.startsWith(' girl')).toBe(true);
      expect(REF).toContain('there was a little' + whole.choices[0]!.text);
    });
  });

  describe('response extras and streaming options', () => {
    it('return_token_ids gives prompt and completion token ids that decode to the text', async () => {
      const { whole, raw } = await comp({ prompt: 'Once', temperature: 0, max_tokens: 4, return_token_ids: true });
      expect(raw.choices[0].prompt_token_ids).toEqual([1, 403]);
      expect(whole.choices[0]!.token_ids!.length).toBe(4);
    });
    it('arrival_time rises through the stream', async () => {
      const { streamed } = await comp({ ...greedy, max_tokens: 10 });
      const times = streamed.chunks.filter((ch) => ch.choices.length).map((ch) => ch.choices[0].arrival_time);
      expect(times.every((t: number, i: number) => typeof t === 'number' && (i === 0 || t >= times[i - 1]))).toBe(true);
    });
    it('continuous_usage_stats puts running usage on every chunk', async () => {
      const { streamed } = await comp({ ...greedy, max_tokens: 6, stream_options: { continuous_usage_stats: true } });
      const usage = streamed.chunks.map((ch) => ch.usage.completion_tokens);
      expect(usage.slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    });
    it('max_streaming_response_tokens groups tokens per chunk', async () => {
      const { streamed, whole } = await comp({ ...greedy, max_tokens: 10, max_streaming_response_tokens: 4, return_token_ids: true });
      const sizes = streamed.chunks.filter((ch) => ch.choices.length).map((ch) => ch.choices[0].completion_token_ids.length);
      expect(sizes).toEqual([4, 4, 2]);
      expect(streamed.choices[0]!.text).toBe(whole.choices[0]!.text);
    });
    it('user and metadata are accepted', async () => {
      const { whole } = await chat({ messages: [{ role: 'user', content: 'x' }], user: 'u-1', metadata: { app: 'test' }, temperature: 0, max_tokens: 2 });
      expect(whole.choices[0]!.finish_reason).toBe('length');
    });
    it('the model name "default" and "null" of the seed examples are accepted', async () => {
      expect((await c.completions.create({ model: 'default', prompt: 'Once', max_tokens: 1 })).model).toBe(M);
      expect((await c.chat.completions.create({ model: 'null', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 })).model).toBe(M);
    });
  });

  describe('limits and unsupported fields', () => {
    it('a prompt longer than the context is 400 context_length_exceeded; max_tokens is clipped', async () => {
      await expect(c.completions.create({ model: M, prompt: 'Once upon a time '.repeat(200) })).rejects.toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'prompt' });
      const r = await c.completions.create({ model: M, prompt: [1], max_tokens: 10_000, temperature: 0 });
      expect(r.usage).toMatchObject({ completion_tokens: 511, total_tokens: 512 });
      expect(r.choices[0]!.finish_reason).toBe('length');
    });
    it.each([
      ['guided_json', { type: 'object', properties: { n: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['n'], additionalProperties: false }, (t: string) => /^\{\s*"n"\s*:\s*[1-9]\s*\}$/.test(t)],
      ['guided_regex', 'Once upon a (time|day)', (t: string) => /^Once upon a (time|day)$/.test(t)],
      ['guided_choice', ['Lily', 'Ben'], (t: string) => ['Lily', 'Ben'].includes(t)],
      ['guided_grammar', 'root ::= "Tom" (" and " name)?\nname ::= "Sue" | "Max"', (t: string) => /^Tom( and (Sue|Max))?$/.test(t)],
      ['structural_tag', { type: 'structural_tag', format: { type: 'const_string', value: 'The end.' } }, (t: string) => t === 'The end.'],
    ])('%s constrains the answer, streamed and not, on both endpoints', async (field, value, valid) => {
      const { whole } = await chat({ messages: [{ role: 'user', content: 'x' }], max_tokens: 40, seed: 1, [field]: value });
      expect(valid(whole.choices[0]!.text), whole.choices[0]!.text).toBe(true);
      if (field !== 'structural_tag') {
        const r = await c.completions.create({ model: M, prompt: 'Once', max_tokens: 40, seed: 2, [field]: value } as never);
        expect(valid(r.choices[0]!.text), r.choices[0]!.text).toBe(true);
      }
    });
    it('response_format json_object and json_schema; text and tool_choice none leave the answer free', async () => {
      const o = await c.chat.completions.create({ model: M, messages: [{ role: 'user', content: 'x' }], max_tokens: 60, response_format: { type: 'json_object' } });
      if (o.choices[0]!.finish_reason === 'stop') expect(typeof JSON.parse(o.choices[0]!.message.content!)).toBe('object');
      const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false };
      const r = await c.chat.completions.create({ model: M, messages: [{ role: 'user', content: 'x' }], max_tokens: 30, response_format: { type: 'json_schema', json_schema: { name: 'r', schema, strict: true } } });
      expect(typeof JSON.parse(r.choices[0]!.message.content!).ok).toBe('boolean');
      const tools = [{ type: 'function' as const, function: { name: 'f', parameters: {} } }];
      const free = await c.chat.completions.create({ model: M, messages: [{ role: 'user', content: 'x' }], tools, tool_choice: 'none', max_tokens: 3, response_format: { type: 'text' } });
      expect(free.choices[0]!.message.tool_calls).toBeUndefined();
    });
    it('top_logprobs without logprobs, best_of < n, streamed best_of are 400s', async () => {
      await expect(c.chat.completions.create({ model: M, messages: [{ role: 'user', content: 'x' }], top_logprobs: 2 })).rejects.toMatchObject({ status: 400, param: 'top_logprobs' });
      await expect(c.completions.create({ model: M, prompt: 'x', n: 3, best_of: 2 })).rejects.toMatchObject({ status: 400, param: 'best_of' });
      await expect(c.completions.create({ model: M, prompt: 'x', best_of: 2, stream: true })).rejects.toMatchObject({ status: 400, param: 'best_of' });
    });
  });
});

describe('logprobs need --enable-logprob', () => {
  it('answers 400 logprobs_disabled when the engine option is off', async () => {
    const f = createFetch({ model: STORIES_GGUF });
    try {
      await expect(client(f).chat.completions.create({ model: M, messages: [{ role: 'user', content: 'x' }], logprobs: true })).rejects.toMatchObject({ status: 400, code: 'logprobs_disabled', param: 'logprobs' });
      await expect(client(f).completions.create({ model: M, prompt: 'x', logprobs: 1 })).rejects.toMatchObject({ status: 400, code: 'logprobs_disabled' });
    } finally {
      await f.dispose();
    }
  });
});

describe('reasoning models (Qwen3 tokenizer and template, <think> … </think>)', () => {
  let f: WebinferFetch;
  beforeAll(async () => {
    f = createFetch({ model: join(GENERATED, 'qwen3-think-hf') });
    await f.ready;
  });
  afterAll(() => f.dispose());
  const thinking = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: '<think>\n' }];

  it('reasoning_content holds the thinking, content the answer; reasoning_max_tokens closes it', async () => {
    const { whole, streamed } = await both(client(f), 'chat', { model: 'qwen3-think-hf', messages: thinking, seed: 1, max_tokens: 12, reasoning_max_tokens: 5, return_token_ids: true });
    const ch = whole.choices[0]!;
    expect(ch.reasoning).toBeTruthy();
    expect(ch.token_ids![5]).toBe(151668); // the forced </think>
    expect(ch.reasoning).not.toContain('</think>');
    expect(whole.usage).toMatchObject({ completion_tokens: 12, completion_tokens_details: { reasoning_tokens: 6 } });
    expect(streamed.chunks.some((c) => c.choices[0]?.delta.reasoning_content)).toBe(true);
  });
  it('a model that opens <think> itself is separated too', async () => {
    const { whole } = await both(client(f), 'chat', { model: 'qwen3-think-hf', messages: [{ role: 'user', content: 'Hi' }], seed: 2, max_tokens: 8, logit_bias: { 151667: 100 }, reasoning_max_tokens: 3, return_token_ids: true });
    expect(whole.choices[0]!.token_ids!.slice(0, 1)).toEqual([151667]);
    expect(whole.usage.completion_tokens_details.reasoning_tokens).toBe(5); // <think>, 3 thoughts, </think>
  });
  it('enable_thinking=false (chat_template_kwargs) leaves no reasoning', async () => {
    const { whole } = await both(client(f), 'chat', { model: 'qwen3-think-hf', messages: [{ role: 'user', content: 'Hi' }], seed: 3, max_tokens: 6, chat_template_kwargs: { enable_thinking: false } });
    expect(whole.choices[0]!.reasoning).toBeUndefined();
    expect(whole.usage.completion_tokens_details.reasoning_tokens).toBe(0);
  });
});
