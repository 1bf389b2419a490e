/**
 * npm run bench — load time, time to first token, prefill and decode speed of each available
 * backend on each benchmark model, through the same createFetch path an application uses.
 * Results go to bench/results/<date>.json and .md.
 *
 * Today: the CPU reference backend in Node on stories260K. The wgsl and ort backends, the browser
 * runner and the wllama / transformers.js peers join as those issues land.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFetch } from '../src/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Result {
  backend: string;
  model: string;
  loadMs: number;
  promptTokens: number;
  ttftMs: number;
  prefillTokPerS: number;
  decodeTokPerS: number;
  decodeTokens: number;
}

async function measure(model: string, modelPath: string, backend: 'cpu'): Promise<Result> {
  const t0 = performance.now();
  const f = createFetch({ model: modelPath, backend });
  const info = await f.ready;
  const loadMs = performance.now() - t0;
  const post = (body: unknown) => f('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify(body) });

  // Prefill: a long prompt, one generated token; repeated with a changed first token so no prefix is reused.
  const promptTokens = Math.min(200, info.maxModelLen - 64);
  const prompt = (first: number) => [1, first, ...Array.from({ length: promptTokens - 2 }, (_, i) => 260 + (i % 200))];
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const s = performance.now();
    await (await post({ prompt: prompt(300 + r), max_tokens: 1, temperature: 0 })).json();
    best = Math.min(best, performance.now() - s);
  }

  // Decode: stream from BOS and time the tokens after the first.
  const decodeTokens = Math.min(256, info.maxModelLen - 2);
  const s = performance.now();
  const res = await post({ prompt: [1], max_tokens: decodeTokens, temperature: 0, stream: true, ignore_eos: true });
  const reader = res.body!.getReader();
  let first = 0;
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
    if (!first) first = performance.now();
  }
  const end = performance.now();
  await f.dispose();
  return {
    backend,
    model,
    loadMs: Math.round(loadMs),
    promptTokens,
    ttftMs: Math.round(first - s),
    prefillTokPerS: Math.round(promptTokens / (best / 1000)),
    decodeTokPerS: Math.round((decodeTokens - 1) / ((end - first) / 1000)),
    decodeTokens,
  };
}

const results = [await measure('stories260K', join(ROOT, 'models', 'stories260K.gguf'), 'cpu')];
const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}`;
const table = [
  `Machine: ${machine}`,
  '',
  '| backend | model | load ms | prompt tokens | TTFT ms | prefill tok/s | decode tok/s |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...results.map((r) => `| ${r.backend} | ${r.model} | ${r.loadMs} | ${r.promptTokens} | ${r.ttftMs} | ${r.prefillTokPerS} | ${r.decodeTokPerS} |`),
].join('\n');
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(join(dir, `${stamp}.json`), JSON.stringify({ machine, results }, null, 2));
writeFileSync(join(dir, `${stamp}.md`), table + '\n');
console.log(table);
