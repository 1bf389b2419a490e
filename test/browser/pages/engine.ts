/**
 * Test page: createFetch in a real browser (the engine in a dedicated Web Worker), used through
 * the openai SDK. The test drives it through `window.webinferTest`.
 */
import OpenAI from 'openai';
import { createFetch } from '../../../src/index.js';

const localFetch = createFetch({ model: '/models/stories260K.gguf', maxModelLen: 512 });
const client = new OpenAI({ baseURL: 'http://webinfer.local/v1', apiKey: 'unused', dangerouslyAllowBrowser: true, fetch: localFetch, maxRetries: 0 });

const api = {
  ready: () => localFetch.ready,
  inWorker: () => typeof Worker !== 'undefined',
  async greedyFromBos(maxTokens: number) {
    const res = await client.completions.create({ model: 'stories260K', prompt: '', max_tokens: maxTokens, temperature: 0 });
    return res.choices[0]!.text;
  },
  async streamChat(content: string) {
    const stream = await client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content }], max_tokens: 40, temperature: 0, stream: true });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    return chunks;
  },
  async streamCompletion(prompt: string) {
    const stream = await client.completions.create({ model: 'stories260K', prompt, max_tokens: 40, temperature: 0, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.text ?? '';
    return text;
  },
  async abortMidStream() {
    const ac = new AbortController();
    const stream = await client.completions.create({ model: 'stories260K', prompt: '', max_tokens: 400, temperature: 0, stream: true }, { signal: ac.signal });
    let n = 0;
    // The SDK ends the iteration quietly when its own signal aborts; no chunk may follow the abort.
    try {
      for await (const _ of stream) if (++n === 3) ac.abort();
    } catch (e) {
      return { error: (e as Error).name, n };
    }
    return { error: null, n };
  },
  /** Structured output and a tool call through the SDK: xgrammar loads in the worker (dev server). */
  async constrained() {
    const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'pick', parameters: { type: 'object', properties: { n: { type: 'integer', minimum: 1, maximum: 3 } }, required: ['n'], additionalProperties: false } } }];
    const json = await client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'x' }], max_tokens: 30, seed: 1, response_format: { type: 'json_object' } });
    const call = await client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'x' }], max_tokens: 60, seed: 1, tools, tool_choice: 'required', parallel_tool_calls: false });
    const bad = await localFetch('http://webinfer.local/v1/chat/completions', { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }], guided_regex: '[a-' }) });
    return { json: json.choices[0]!, call: call.choices[0]!, bad: { status: bad.status, body: await bad.json() } };
  },
  async badRequest() {
    const res = await localFetch('http://webinfer.local/v1/chat/completions', { method: 'POST', body: '{"messages": ' });
    return { status: res.status, body: await res.json() };
  },
  /** Does WebGPU work in this page and in a worker? (SwiftShader in CI) */
  async webgpu() {
    const adapter = await navigator.gpu?.requestAdapter();
    return { page: !!adapter };
  },
};
(window as unknown as { webinferTest: typeof api }).webinferTest = api;
