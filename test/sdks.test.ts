/**
 * Structured output and tools through the client libraries apps use, each given createFetch:
 * the openai SDK (chat.completions.parse with a zod schema, runTools), the Vercel AI SDK through
 * @ai-sdk/openai-compatible (generateObject, streamObject, tool calls), and LangChain
 * (withStructuredOutput, bindTools). The model is a random-weight one: what comes back is noise
 * in the requested shape, and each library's own parsing and validation must accept it.
 */
import { join } from 'node:path';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, generateText, stepCountIs, streamObject, tool } from 'ai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createFetch, type WebinferFetch } from '../src/index.js';
import { client } from './helpers/openai.js';
import { GENERATED } from './helpers/paths.js';

const BASE = 'http://webinfer.local/v1';
const Pet = z.object({ name: z.string().min(1).max(8), kind: z.enum(['cat', 'dog']), age: z.number().int().min(0).max(20), vaccinated: z.boolean() });
const Weather = z.object({ city: z.string().min(1).max(10), unit: z.enum(['celsius', 'fahrenheit']) });

let f: WebinferFetch;
beforeAll(async () => {
  f = createFetch({ model: join(GENERATED, 'llama-tools.gguf'), backend: 'cpu' });
  await f.ready;
});
afterAll(() => f.dispose());

/** Tries seeds until `run` succeeds (a noise model may be cut by max_tokens); returns the successes. */
async function bySeeds<T>(seeds: number, run: (seed: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let seed = 1; seed <= seeds; seed++) out.push(await run(seed));
  return out;
}

describe('openai SDK', () => {
  it('chat.completions.parse with zodResponseFormat gives parsed objects', async () => {
    const parsed = await bySeeds(5, async (seed) => {
      const r = await client(f).chat.completions.parse({ model: 'default', messages: [{ role: 'user', content: 'A pet, please.' }], response_format: zodResponseFormat(Pet, 'pet'), temperature: 1, seed, max_tokens: 300 });
      return r.choices[0]!.message.parsed;
    });
    for (const p of parsed) expect(Pet.parse(p)).toEqual(p);
  });

  it('runTools calls the function with parsed arguments and sends its result back', async () => {
    const calls: unknown[] = [];
    const runner = client(f).chat.completions.runTools({
      model: 'default',
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: z.toJSONSchema(Weather) as Record<string, unknown>, parse: (s: string) => Weather.parse(JSON.parse(s)), function: (args: z.infer<typeof Weather>) => (calls.push(args), { temperature: 21 }) } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      temperature: 1,
      seed: 2,
      max_tokens: 200,
    });
    await runner.done();
    expect(calls).toHaveLength(1);
    expect(Weather.parse(calls[0])).toEqual(calls[0]);
    const toolMessage = runner.messages.find((m) => m.role === 'tool');
    expect(toolMessage).toMatchObject({ role: 'tool', content: '{"temperature":21}' });
  });
});

describe('Vercel AI SDK (@ai-sdk/openai-compatible)', () => {
  const provider = () => createOpenAICompatible({ name: 'webinfer', baseURL: BASE, fetch: f as typeof fetch, supportsStructuredOutputs: true });

  it('generateObject and streamObject return schema-valid objects', async () => {
    const objects = await bySeeds(3, async (seed) => (await generateObject({ model: provider()('default'), schema: Pet, prompt: 'A pet.', temperature: 1, seed, maxOutputTokens: 300 })).object);
    for (const o of objects) expect(Pet.parse(o)).toEqual(o);
    const s = streamObject({ model: provider()('default'), schema: Pet, prompt: 'A pet.', temperature: 1, seed: 9, maxOutputTokens: 300 });
    let partials = 0;
    for await (const _ of s.partialObjectStream) partials++;
    expect(partials).toBeGreaterThan(1);
    expect(Pet.parse(await s.object)).toBeTruthy();
  });

  it('tool calls: generateText with a required tool runs it with valid input', async () => {
    const seen: unknown[] = [];
    const r = await generateText({
      model: provider()('default'),
      prompt: 'Weather in Rome?',
      tools: { get_weather: tool({ description: 'Weather in a city', inputSchema: Weather, execute: async (input) => (seen.push(input), { temperature: 25 }) }) },
      toolChoice: 'required',
      stopWhen: stepCountIs(1),
      temperature: 1,
      seed: 4,
      maxOutputTokens: 200,
    });
    expect(r.toolCalls).toHaveLength(1);
    expect(r.toolCalls[0]!.toolName).toBe('get_weather');
    expect(Weather.parse(r.toolCalls[0]!.input)).toEqual(seen[0]);
  });
});

describe('LangChain (@langchain/openai)', () => {
  const chat = (seed: number) => new ChatOpenAI({ model: 'default', apiKey: 'unused', temperature: 1, maxTokens: 300, modelKwargs: { seed }, configuration: { baseURL: BASE, fetch: f as typeof fetch } });

  it('withStructuredOutput returns a schema-valid object', async () => {
    const objects = await bySeeds(3, (seed) => chat(seed).withStructuredOutput(Pet, { name: 'pet', method: 'jsonSchema' }).invoke('A pet.'));
    for (const o of objects) expect(Pet.parse(o)).toEqual(o);
  });

  it('bindTools with a chosen tool gives a call with valid args', async () => {
    const m = chat(6).bindTools([{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: z.toJSONSchema(Weather) as Record<string, unknown> } }], { tool_choice: 'get_weather' });
    const msg = await m.invoke('Weather in Lima?');
    expect(msg.tool_calls).toHaveLength(1);
    expect(msg.tool_calls![0]!.name).toBe('get_weather');
    expect(Weather.parse(msg.tool_calls![0]!.args)).toEqual(msg.tool_calls![0]!.args);
  });
});
