/**
 * Hundreds of generated bad requests — wrong types, out-of-range and huge numbers, broken and
 * truncated JSON — each answered with a 4xx OpenAI error, through createFetch and over HTTP; the
 * engine still gives the right answer afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningServer } from '../src/cli/server.js';
import { createFetch, type WebinferFetch } from '../src/index.js';
import { STORIES_GGUF, storiesReference } from './helpers/paths.js';

type Case = { name: string; path: string; body: string };

const WRONG_VALUES: unknown[] = ['a string', 12345, -7, 1.5, true, false, [], [1, 'a'], {}, { nested: { deep: [1] } }, 1e308, -1e308];

/** Field → predicate of the values that are valid for it (everything else must be refused). */
const COMMON: Record<string, (v: unknown) => boolean> = {
  model: (v) => v === 'stories260K',
  temperature: (v) => typeof v === 'number' && v >= 0 && v <= 2,
  top_p: (v) => typeof v === 'number' && v > 0 && v <= 1,
  top_k: (v) => Number.isInteger(v) && (v as number) >= -1 && (v as number) < 2 ** 31,
  min_p: (v) => typeof v === 'number' && v >= 0 && v <= 1,
  n: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 128,
  max_tokens: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) < 2 ** 31,
  seed: (v) => Number.isInteger(v) && Math.abs(v as number) < 2 ** 63,
  frequency_penalty: (v) => typeof v === 'number' && Math.abs(v) <= 2,
  presence_penalty: (v) => typeof v === 'number' && Math.abs(v) <= 2,
  repetition_penalty: (v) => typeof v === 'number' && v > 0 && v <= 1e4,
  min_tokens: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 31,
  stream: (v) => typeof v === 'boolean',
  stop: (v) => (typeof v === 'string' && v !== '') || (Array.isArray(v) && v.length === 0),
  logit_bias: (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0,
  bad_words: (v) => Array.isArray(v) && v.length === 0,
  stop_token_ids: (v) => Array.isArray(v) && v.length === 0,
  stream_options: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  ignore_eos: (v) => typeof v === 'boolean',
  include_stop_str_in_output: (v) => typeof v === 'boolean',
  return_token_ids: (v) => typeof v === 'boolean',
  max_streaming_response_tokens: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) < 2 ** 31,
  user: (v) => typeof v === 'string',
  prompt_token_ids: () => false,
  guided_json: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  guided_regex: (v) => typeof v === 'string',
  guided_choice: () => false,
  guided_grammar: () => false, // 'a string' has no root rule
  response_format: () => false,
};
const CHAT: Record<string, (v: unknown) => boolean> = {
  ...COMMON,
  max_completion_tokens: COMMON.max_tokens!,
  logprobs: (v) => v === false, // true is refused too: logprobs are off in this engine
  top_logprobs: () => false,
  disable_chat_template: (v) => typeof v === 'boolean',
  add_generation_prompt: (v) => typeof v === 'boolean',
  chat_template_kwargs: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  reasoning_max_tokens: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) < 2 ** 31,
  metadata: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  messages: () => false,
  structural_tag: () => false,
  tools: (v) => Array.isArray(v) && v.length === 0,
  tool_choice: () => false, // no tools in the base request
  parallel_tool_calls: (v) => typeof v === 'boolean',
};
const COMPLETION: Record<string, (v: unknown) => boolean> = { ...COMMON, echo: (v) => typeof v === 'boolean', logprobs: () => false, best_of: (v) => v === 1, prompt: (v) => typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) };

function generateCases(): Case[] {
  const cases: Case[] = [];
  const chatBase = { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 };
  const compBase = { prompt: 'Once', max_tokens: 2 };
  for (const [path, base, fields] of [
    ['/v1/chat/completions', chatBase, CHAT],
    ['/v1/completions', compBase, COMPLETION],
  ] as const) {
    for (const [field, valid] of Object.entries(fields))
      for (const v of WRONG_VALUES) if (!valid(v)) cases.push({ name: `${path} ${field}=${JSON.stringify(v)}`, path, body: JSON.stringify({ ...base, [field]: v }) });
  }
  const messages: unknown[] = [[{}], [{ role: 'user' }], [{ role: 'user', content: {} }], [null], [[]], [1.5], [-1], [99999], [{ role: 'robot', content: 'x' }], [{ role: 'user', content: [{ type: 'text' }] }], [{ role: 'user', content: [{ type: 'audio', input_audio: {} }] }]];
  for (const m of messages) cases.push({ name: `messages=${JSON.stringify(m)}`, path: '/v1/chat/completions', body: JSON.stringify({ messages: m }) });
  const prompts: unknown[] = [[], [[]], [['a']], [1, 'a'], [-3], [[1], 'a'], [1e9], 'Once upon a time '.repeat(400)];
  for (const p of prompts) cases.push({ name: `prompt=${JSON.stringify(p).slice(0, 40)}`, path: '/v1/completions', body: JSON.stringify({ prompt: p }) });
  const biases = [{ abc: 1 }, { '-1': 1 }, { '99999': 1 }, { '5': 500 }, { '5': 'x' }];
  for (const b of biases) cases.push({ name: `logit_bias=${JSON.stringify(b)}`, path: '/v1/completions', body: JSON.stringify({ prompt: 'x', logit_bias: b }) });
  // Broken JSON: every truncation of a valid body, plus garbage.
  const valid = JSON.stringify({ messages: [{ role: 'user', content: 'Hello there' }], temperature: 0.5, stop: ['x'] });
  for (let i = 1; i < valid.length; i += 2) cases.push({ name: `truncated at ${i}`, path: '/v1/chat/completions', body: valid.slice(0, i) });
  for (const g of ['', ' ', 'null', '42', '"str"', '[]', '{', '}', '{"prompt": }', "{'prompt': 'x'}", '{"prompt": "x",}', '\u0000\u0001\u0002', '[{"prompt":"x"}]', '{"prompt": NaN}', '{"prompt": Infinity}', '['.repeat(100000) + ']'.repeat(100000)])
    cases.push({ name: `garbage ${JSON.stringify(g.slice(0, 12))}`, path: '/v1/completions', body: g });
  return cases;
}

const CASES = generateCases();

async function check(send: (c: Case) => Promise<Response>) {
  let checked = 0;
  for (const c of CASES) {
    const res = await send(c);
    const body = await res.json().catch(() => null);
    if (res.status < 400 || res.status >= 500 || !body?.error) throw new Error(`${c.name}: got ${res.status} ${JSON.stringify(body)?.slice(0, 200)}`);
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    checked++;
  }
  return checked;
}

describe('fuzzed bad requests', () => {
  let local: WebinferFetch;
  let http: RunningServer;
  beforeAll(async () => {
    local = createFetch({ model: STORIES_GGUF, maxModelLen: 512 });
    http = await serve({ model: STORIES_GGUF, port: 0, maxModelLen: 512 });
  });
  afterAll(async () => {
    await local.dispose();
    await http.close();
  });

  it(`generates at least 200 cases (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(200);
  });

  it.each([
    ['createFetch', (c: Case) => local(`http://webinfer.local${c.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: c.body })],
    ['HTTP server', (c: Case) => fetch(`${http.url}${c.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: c.body })],
  ] as const)('%s: every case is a 4xx OpenAI error, and the engine still answers right', async (_, send) => {
    expect(await check(send)).toBe(CASES.length);
    const res = await send({ name: 'valid', path: '/v1/completions', body: JSON.stringify({ prompt: '', max_tokens: 40, temperature: 0 }) });
    expect(res.status).toBe(200);
    expect(storiesReference().startsWith((await res.json()).choices[0].text)).toBe(true);
  }, 120_000);
});
