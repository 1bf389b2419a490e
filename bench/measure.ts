/**
 * One benchmark measurement through the OpenAI API, used both in the browser page and in Node:
 * load time, time to first token with a fixed prompt (prefill), and streamed decode speed.
 */
import { createFetch } from '../src/index.js';
import type { BackendName } from '../src/engine/backend.js';

/** Tokens per warm-up request. */
export const WARMUP_TOKENS = 8;
/**
 * Warm-up requests go on for at least this long: V8 compiles big WebAssembly modules (ORT,
 * llama.cpp) to their optimised tier in the background, and a fast model measured before that
 * ends runs several times slower than it will (stories260K on ORT's WASM: 3.7 → 0.8 ms/token).
 */
export const WARMUP_MS = 4000;

export interface BenchCase {
  model: string; // URL or path of the GGUF, or of the ONNX directory for `ort`
  name: string;
  backend: Exclude<BackendName, 'auto'>;
  executionProvider?: 'webgpu' | 'wasm';
  onnxVariant?: string;
  /** wasm: threads in all. */
  threads?: number;
  prompt: string;
  decodeTokens: number;
  /** Stored weight bytes read per decoded token (the file's tensor data). */
  weightBytes: number;
  /** KV-cache bytes per position (all layers, keys and values, float32). */
  kvBytesPerPos: number;
  /** Context the engine is created with (default 512; the long-context rows need the prompt + decode). */
  maxModelLen?: number;
  /** wgsl: createFetch's gpuSampling (default: the adapter's). */
  gpuSampling?: boolean;
  /** wgsl with GPU sampling: false runs the steps one at a time (createFetch's chainSteps). */
  chainSteps?: boolean;
  /** createFetch's kvDtype (default: the backend's). */
  kvDtype?: 'f16' | 'f32';
}

/** ~113 tokens with SmolLM2's tokenizer: the prefill the benchmark's targets name. */
export const BENCH_TEXT = [
  'The quick brown fox jumps over the lazy dog near the river bank, where the water runs cold and clear over smooth grey stones.',
  'Every morning the old miller opens the wooden gate, counts the sacks of grain, and listens to the wheel turning slowly in the current.',
  'Children from the village come to watch the ducks, throw bread into the reeds, and ask him about the storm that broke the bridge long ago.',
  'He tells them the same story each time, and each time they laugh at the part where the goat climbed onto the roof of the mill.',
].join(' ');

export interface BenchResult {
  engine: string;
  backend: string;
  model: string;
  device?: string;
  loadMs: number;
  promptTokens: number;
  ttftMs: number;
  prefillTokPerS: number;
  decodeTokPerS: number;
  decodeGBPerS: number;
  text: string;
}

/** Derived figures from the raw timings of one streamed run. */
export function summarise(c: BenchCase, r: { engine: string; backend: string; device?: string; loadMs: number; promptTokens: number; start: number; first: number; end: number; text: string }): BenchResult {
  const decodeTokPerS = (c.decodeTokens - 1) / ((r.end - r.first) / 1000);
  const avgPos = r.promptTokens + c.decodeTokens / 2;
  const round1 = (v: number) => Math.round(v * 10) / 10;
  return {
    engine: r.engine,
    backend: r.backend,
    model: c.name,
    device: r.device,
    loadMs: Math.round(r.loadMs),
    promptTokens: r.promptTokens,
    ttftMs: Math.round(r.first - r.start),
    prefillTokPerS: round1((r.promptTokens / (r.first - r.start)) * 1000),
    decodeTokPerS: round1(decodeTokPerS),
    decodeGBPerS: Math.round(((c.weightBytes + c.kvBytesPerPos * avgPos) * decodeTokPerS) / 1e7) / 100,
    text: r.text,
  };
}

/** Calls `onChunk` with each SSE `data:` object of a streamed response, as it arrives. */
async function readEvents(res: Response, onChunk: (chunk: any) => void): Promise<void> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    for (let i = buffer.indexOf('\n\n'); i !== -1; i = buffer.indexOf('\n\n')) {
      const event = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      if (event.startsWith('data: {')) onChunk(JSON.parse(event.slice(6)));
    }
  }
}

export async function measure(c: BenchCase): Promise<BenchResult> {
  const t0 = performance.now();
  const f = createFetch({ model: c.model, backend: c.backend, maxModelLen: c.maxModelLen ?? 512, executionProvider: c.executionProvider, onnxVariant: c.onnxVariant, threads: c.threads, gpuSampling: c.gpuSampling, chainSteps: c.chainSteps, kvDtype: c.kvDtype });
  const info = await f.ready;
  const loadMs = performance.now() - t0;
  const post = (body: object) => f('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ model: 'default', prompt: c.prompt, temperature: 0, ...body }) });
  // Warm-up, the same for every engine: compiles GPU pipelines, and runs enough steps for the
  // WebAssembly engines' code to reach its optimised tier.
  const w0 = performance.now();
  do await (await post({ max_tokens: WARMUP_TOKENS, ignore_eos: true })).json();
  while (performance.now() - w0 < WARMUP_MS);
  // A different first character defeats prefix reuse, so the whole prompt is prefilled.
  const s = performance.now();
  const res = await post({ prompt: '\n' + c.prompt, max_tokens: c.decodeTokens, ignore_eos: true, stream: true, stream_options: { include_usage: true } });
  let first = 0;
  let text = '';
  let promptTokens = 0;
  await readEvents(res, (chunk) => {
    first ||= performance.now();
    if (chunk.usage) promptTokens = chunk.usage.prompt_tokens;
    text += chunk.choices[0]?.text ?? '';
  });
  const end = performance.now();
  await f.dispose();
  return summarise(c, {
    engine: 'webinfer',
    backend: c.backend === 'ort' ? `ort (${c.executionProvider ?? 'auto'} EP)` : c.backend === 'wasm' ? `wasm, ${c.threads ?? 'all'} thread${c.threads === 1 ? '' : 's'}` : c.backend,
    device: info.description,
    loadMs,
    promptTokens,
    start: s,
    first,
    end,
    text,
  });
}

/**
 * Sampling's and structured output's cost: a nested JSON schema too long to finish in
 * `decodeTokens`, decoded at temperature 1 with and without the constraint (the same request
 * otherwise), and with the constraint but jump-forward off (every token sampled through the
 * mask); and the free request with top_p 0.95 (nucleus: the kept set found every token). The first constrained
 * request also loads xgrammar and compiles the schema against the vocabulary: its extra time to
 * first token is the setup cost; later requests find the grammar cached.
 */
export const CONSTRAINED_SCHEMA = {
  type: 'object',
  properties: {
    order: { type: 'integer', minimum: 1, maximum: 99999 },
    customer: { type: 'object', properties: { name: { type: 'string', maxLength: 24 }, email: { type: 'string', format: 'email' }, vip: { type: 'boolean' } }, required: ['name', 'email', 'vip'], additionalProperties: false },
    items: {
      type: 'array',
      minItems: 50,
      items: { type: 'object', properties: { sku: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{4}$' }, qty: { type: 'integer', minimum: 1, maximum: 99 }, note: { type: 'string', maxLength: 16 } }, required: ['sku', 'qty', 'note'], additionalProperties: false },
    },
  },
  required: ['order', 'customer', 'items'],
  additionalProperties: false,
};

export interface ConstrainedResult {
  backend: string;
  model: string;
  freeTokPerS: number;
  /** The free request with top_p 0.95. */
  nucleusTokPerS: number;
  constrainedTokPerS: number;
  sampledOnlyTokPerS: number;
  setupMs: number;
  valid: boolean;
}

export async function measureConstrained(c: BenchCase & { gpuSampling?: boolean }): Promise<ConstrainedResult> {
  const make = (jumpForward: boolean) => createFetch({ model: c.model, backend: c.backend, maxModelLen: 512, gpuSampling: c.gpuSampling, jumpForward, threads: c.threads });
  const run = async (f: ReturnType<typeof createFetch>, constrained: boolean, topP = 1) => {
    const s = performance.now();
    const body = { model: 'default', messages: [{ role: 'user', content: 'The order as JSON.' }], temperature: 1, top_p: topP, seed: 7, max_tokens: c.decodeTokens, stream: true, stream_options: { include_usage: true }, ...(constrained ? { response_format: { type: 'json_schema', json_schema: { name: 'order', schema: CONSTRAINED_SCHEMA } } } : { ignore_eos: true }) };
    const res = await f('http://webinfer.local/v1/chat/completions', { method: 'POST', body: JSON.stringify(body) });
    let first = 0;
    let text = '';
    let tokens = 0;
    await readEvents(res, (chunk) => {
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
      const piece = chunk.choices[0]?.delta?.content;
      if (piece && !first) first = performance.now();
      text += piece ?? '';
    });
    return { ttft: first - s, tokPerS: (tokens - 1) / ((performance.now() - first) / 1000), text };
  };
  const f = make(true);
  await f.ready;
  const w0 = performance.now();
  do await run(f, false);
  while (performance.now() - w0 < WARMUP_MS);
  const free = await run(f, false);
  const nucleus = await run(f, false, 0.95);
  const cold = await run(f, true);
  const constrained = await run(f, true);
  await f.dispose();
  const g = make(false);
  await g.ready;
  await run(g, true); // compiles again: another engine
  const sampled = await run(g, true);
  await g.dispose();
  // The answer is cut by max_tokens: it must be a prefix of the schema's JSON layout.
  const valid = /^\{"order": [0-9]+, "customer": \{/.test(constrained.text) || constrained.text.length < 20;
  const round1 = (v: number) => Math.round(v * 10) / 10;
  return {
    backend: c.backend + (c.gpuSampling ? ' (GPU sampling)' : ''),
    model: c.name,
    freeTokPerS: round1(free.tokPerS),
    nucleusTokPerS: round1(nucleus.tokPerS),
    constrainedTokPerS: round1(constrained.tokPerS),
    sampledOnlyTokPerS: round1(sampled.tokPerS),
    setupMs: Math.round(cold.ttft - free.ttft),
    valid,
  };
}
