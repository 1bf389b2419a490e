/**
 * Tool calling end to end through the openai SDK and createFetch, on random-weight models whose
 * answers are noise: with tool_choice required or a named function the grammar makes every answer
 * a well-formed call whose arguments satisfy the tool's schema (ajv), in the layout of the model's
 * family (Hermes for the Qwen2.5 template, the fallback JSON layout otherwise), streamed as OpenAI
 * streams calls; multi-turn messages with tool calls and results render through the template.
 */
import { join } from 'node:path';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetch, type WebinferFetch } from '../src/index.js';
import { ajv } from './helpers/constraints.js';
import { client } from './helpers/openai.js';
import { GENERATED } from './helpers/paths.js';

const WEATHER = { type: 'object', properties: { city: { type: 'string', minLength: 1, maxLength: 12 }, unit: { enum: ['celsius', 'fahrenheit'] } }, required: ['city', 'unit'], additionalProperties: false };
const TIME = { type: 'object', properties: { zone: { type: 'string', pattern: '^[A-Z][a-z]{2,8}/[A-Z][a-z]{2,8}$' } }, required: ['zone'], additionalProperties: false };
const TOOLS: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather in a city', parameters: WEATHER } },
  { type: 'function', function: { name: 'get_time', description: 'Local time in a time zone', parameters: TIME } },
];
const SCHEMAS: Record<string, object> = { get_weather: WEATHER, get_time: TIME };

const models = [
  ['hermes layout (Qwen2.5 template, Qwen tokenizer)', join(GENERATED, 'qwen-tools-hf')],
  ['json layout (fallback template, byte-fallback tokenizer)', join(GENERATED, 'llama-tools.gguf')],
] as const;

describe.each(models)('%s', (_, path) => {
  let f: WebinferFetch;
  let c: OpenAI;
  beforeAll(async () => {
    f = createFetch({ model: path, backend: 'cpu', maxModelLen: 2048 });
    await f.ready;
    c = client(f);
  });
  afterAll(() => f.dispose());

  const ask = (body: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>) =>
    c.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'What is the weather in Paris?' }], tools: TOOLS, temperature: 1, max_tokens: 200, ...body });

  const checkCalls = (calls: OpenAI.ChatCompletionMessageToolCall[] | undefined, names = ['get_weather', 'get_time']) => {
    expect(calls?.length).toBeGreaterThan(0);
    for (const call of calls!) {
      if (call.type !== 'function') throw new Error('not a function call');
      expect(call.id).toMatch(/^call_[a-zA-Z0-9]{24}$/);
      expect(names).toContain(call.function.name);
      expect(call.function.arguments).toMatch(/^\{.*\}$/s);
      const args = JSON.parse(call.function.arguments);
      expect(ajv.validate(SCHEMAS[call.function.name]!, args), call.function.arguments).toBe(true);
    }
  };

  it('tool_choice required: 20 answers, each a valid call (finish_reason tool_calls, content null)', async () => {
    let whole = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const r = await ask({ tool_choice: 'required', seed, parallel_tool_calls: seed % 2 === 0 });
      const ch = r.choices[0]!;
      if (ch.finish_reason === 'length') continue;
      whole++;
      expect(ch.finish_reason).toBe('tool_calls');
      expect(ch.message.content).toBeNull();
      checkCalls(ch.message.tool_calls);
      if (seed % 2 === 1) expect(ch.message.tool_calls).toHaveLength(1); // parallel_tool_calls false
    }
    expect(whole).toBeGreaterThanOrEqual(15);
  });

  it('a named function is the one called', async () => {
    let whole = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const r = await ask({ tool_choice: { type: 'function', function: { name: 'get_time' } }, seed });
      if (r.choices[0]!.finish_reason === 'length') continue;
      whole++;
      checkCalls(r.choices[0]!.message.tool_calls, ['get_time']);
    }
    expect(whole).toBeGreaterThanOrEqual(6);
  });

  it('streamed: the first delta of a call has index, id, type and name; arguments follow in pieces', async () => {
    const stream = await c.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'Time in Oslo?' }], tools: TOOLS, tool_choice: 'required', temperature: 1, seed: 3, max_tokens: 200, stream: true });
    const calls: { id: string; name: string; args: string }[] = [];
    let pieces = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const ch = chunk.choices[0];
      if (!ch) continue;
      for (const d of ch.delta.tool_calls ?? []) {
        if (d.id) {
          expect(d).toMatchObject({ index: calls.length, type: 'function', function: { arguments: '' } });
          calls.push({ id: d.id, name: d.function!.name!, args: '' });
        } else {
          expect(d.index).toBe(calls.length - 1);
          calls[d.index]!.args += d.function!.arguments;
          pieces++;
        }
      }
      finish = ch.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(pieces).toBeGreaterThan(1);
    checkCalls(calls.map((x) => ({ id: x.id, type: 'function', function: { name: x.name, arguments: x.args } })));
    // The same request, not streamed, gives the same call.
    const whole = await ask({ messages: [{ role: 'user', content: 'Time in Oslo?' }], tool_choice: 'required', seed: 3 });
    expect(whole.choices[0]!.message.tool_calls!.map((t) => t.type === 'function' && [t.function.name, t.function.arguments])).toEqual(calls.map((x) => [x.name, x.args]));
  });

  it('auto: answers are text or valid calls, never broken ones', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = await ask({ tool_choice: 'auto', seed, max_tokens: 60 });
      const ch = r.choices[0]!;
      if (ch.message.tool_calls?.length && ch.finish_reason !== 'length') checkCalls(ch.message.tool_calls);
      else expect(ch.message.tool_calls ?? []).toHaveLength(ch.finish_reason === 'length' ? (ch.message.tool_calls?.length ?? 0) : 0);
    }
  });

  it('multi-turn: the call and its result go back through the template, and the model answers', async () => {
    const first = await ask({ tool_choice: 'required', seed: 5, parallel_tool_calls: false });
    const call = first.choices[0]!.message.tool_calls![0]!;
    const r = await f('http://webinfer.local/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({
        messages: [{ role: 'user', content: 'What is the weather in Paris?' }, first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: '{"temperature": 21}' }],
        tools: TOOLS,
        max_tokens: 5,
        return_token_ids: true,
      }),
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { choices: { message: { prompt_token_ids: number[] } }[] };
    const { model } = await import('../src/engine/cpu/backend.js').then((m) => m.loadCpu(path, {}));
    const prompt = model.tokenizer.decode(body.choices[0]!.message.prompt_token_ids, false);
    expect(prompt).toContain('{"temperature": 21}');
    if (call.type === 'function') {
      expect(prompt).toContain(call.function.name);
      // Arguments reach the template as an object (Hugging Face's convention), written back as JSON.
      expect(prompt).toContain(JSON.stringify(JSON.parse(call.function.arguments)).slice(1, 8));
    }
  });
});

describe('a reasoning model (Qwen3 template and tokenizer)', () => {
  let f: WebinferFetch;
  beforeAll(async () => {
    f = createFetch({ model: join(GENERATED, 'qwen3-think-hf'), backend: 'cpu' });
    await f.ready;
  });
  afterAll(() => f.dispose());

  it('thinks freely, then the grammar takes over after </think>: a valid call', async () => {
    const r = await client(f).chat.completions.create({
      model: 'default',
      // The answer continues an opened thinking block; reasoning_max_tokens closes it.
      messages: [{ role: 'user', content: 'Weather in Paris?' }, { role: 'assistant', content: '<think>\nThe user wants' }],
      tools: TOOLS,
      tool_choice: 'required',
      reasoning_max_tokens: 6,
      temperature: 1,
      seed: 1,
      max_tokens: 200,
    } as never);
    const ch = (r as OpenAI.ChatCompletion).choices[0]!;
    expect((ch.message as { reasoning_content?: string }).reasoning_content?.length).toBeGreaterThan(0);
    expect(ch.finish_reason).toBe('tool_calls');
    const call = ch.message.tool_calls![0]!;
    if (call.type !== 'function') throw new Error('not a function call');
    expect(ajv.validate(SCHEMAS[call.function.name]!, JSON.parse(call.function.arguments))).toBe(true);
  });
});
