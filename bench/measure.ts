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
  prompt: string;
  decodeTokens: number;
  /** Stored weight bytes read per decoded token (the file's tensor data). */
  weightBytes: number;
  /** KV-cache bytes per position (all layers, keys and values, float32). */
  kvBytesPerPos: number;
}

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

export async function measure(c: BenchCase): Promise<BenchResult> {
  const t0 = performance.now();
  const f = createFetch({ model: c.model, backend: c.backend, maxModelLen: 512, executionProvider: c.executionProvider, onnxVariant: c.onnxVariant });
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
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let first = 0;
  let buffer = '';
  let text = '';
  let promptTokens = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (!first) first = performance.now();
    buffer += decoder.decode(value, { stream: true });
    for (let i = buffer.indexOf('\n\n'); i !== -1; i = buffer.indexOf('\n\n')) {
      const event = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      if (!event.startsWith('data: {')) continue;
      const chunk = JSON.parse(event.slice(6));
      if (chunk.usage) promptTokens = chunk.usage.prompt_tokens;
      text += chunk.choices[0]?.text ?? '';
    }
  }
  const end = performance.now();
  await f.dispose();
  return summarise(c, {
    engine: 'webinfer',
    backend: c.backend === 'ort' ? `ort (${c.executionProvider ?? 'auto'} EP)` : c.backend,
    device: info.description,
    loadMs,
    promptTokens,
    start: s,
    first,
    end,
    text,
  });
}
