/** Benchmark page: webinfer's backends and wllama (llama.cpp in WebAssembly) on the same GGUF files. */
import { Wllama } from '@wllama/wllama';
import { measure, type BenchCase, type BenchResult } from './measure.js';

async function wllama(c: BenchCase): Promise<BenchResult> {
  const t0 = performance.now();
  const w = new Wllama({ default: '/node_modules/@wllama/wllama/esm/wasm/wllama.wasm' }, { suppressNativeLog: true });
  const blob = await (await fetch(c.model)).blob();
  await w.loadModel([blob], { n_ctx: 512, n_threads: 1, n_gpu_layers: 0, seed: 1 });
  const loadMs = performance.now() - t0;
  await w.createCompletion({ prompt: c.prompt, max_tokens: 2, temperature: 0 });
  const s = performance.now();
  let first = 0;
  let text = '';
  let promptTokens = 0;
  const stream = await w.createCompletion({ prompt: '\n' + c.prompt, max_tokens: c.decodeTokens, temperature: 0, ignore_eos: true, stream: true });
  for await (const chunk of stream) {
    if (!first) first = performance.now();
    text += chunk.choices[0]?.text ?? '';
    if (chunk.usage) promptTokens = chunk.usage.prompt_tokens;
  }
  const end = performance.now();
  await w.exit();
  const decodeTokPerS = (c.decodeTokens - 1) / ((end - first) / 1000);
  const avgPos = promptTokens + c.decodeTokens / 2;
  return {
    engine: 'wllama',
    backend: 'wasm',
    model: c.name,
    device: 'CPU (WebAssembly, 1 thread)',
    loadMs: Math.round(loadMs),
    promptTokens,
    ttftMs: Math.round(first - s),
    prefillTokPerS: Math.round((promptTokens / (first - s)) * 1000 * 10) / 10,
    decodeTokPerS: Math.round(decodeTokPerS * 10) / 10,
    decodeGBPerS: Math.round(((c.weightBytes + c.kvBytesPerPos * avgPos) * decodeTokPerS) / 1e7) / 100,
    text,
  };
}

async function adapter(): Promise<string> {
  const a = await navigator.gpu?.requestAdapter();
  const i = a?.info;
  return i ? [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') : 'no WebGPU';
}

(window as unknown as { bench: unknown }).bench = { measure, wllama, adapter };
