/**
 * The demo: the embedded stories260K model behind createFetch, used through the official openai SDK
 * exactly as a page would use a remote OpenAI-compatible server.
 */
import OpenAI from 'openai';
import { createFetch } from '../src/index.js';
import modelUrl from '../models/stories260K.gguf?url';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const progress = $<HTMLProgressElement>('load-progress');
const loadText = $('load-text');
const output = $('output');
const send = $<HTMLButtonElement>('send');
const stop = $<HTMLButtonElement>('stop');

let loaded = false;
const localFetch = createFetch({
  model: modelUrl,
  modelId: 'stories260K',
  onProgress: (p) => {
    if (loaded) return; // progress messages may still be in flight after `ready`
    if (p.progress !== undefined) progress.value = p.progress;
    loadText.textContent = `${p.text} (${(p.loadedBytes / 1e6).toFixed(2)} MB)`;
  },
});
const client = new OpenAI({ baseURL: 'http://webinfer.local/v1', apiKey: 'unused', dangerouslyAllowBrowser: true, fetch: localFetch, maxRetries: 0 });

localFetch.ready.then(
  (info) => {
    loaded = true;
    progress.value = 1;
    loadText.textContent = `ready: ${info.id} (${info.backend} backend${info.description ? `: ${info.description}` : ''}, context ${info.maxModelLen})`;
    send.disabled = false;
    document.body.dataset.ready = 'true';
  },
  (e: Error) => {
    loadText.textContent = `failed to load the model: ${e.message}`;
  },
);

let abort: AbortController | undefined;

async function* textStream(prompt: string, signal: AbortSignal): AsyncGenerator<string> {
  const mode = $<HTMLSelectElement>('mode').value;
  const common = { model: 'stories260K', temperature: Number($<HTMLInputElement>('temperature').value), max_tokens: Number($<HTMLInputElement>('max-tokens').value), stream: true as const };
  if (mode === 'chat') {
    const stream = await client.chat.completions.create({ ...common, messages: [{ role: 'user', content: prompt }] }, { signal });
    for await (const chunk of stream) yield chunk.choices[0]?.delta.content ?? '';
  } else {
    const stream = await client.completions.create({ ...common, prompt }, { signal });
    for await (const chunk of stream) yield chunk.choices[0]?.text ?? '';
  }
}

$<HTMLFormElement>('prompt-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const prompt = $<HTMLTextAreaElement>('prompt').value;
  abort = new AbortController();
  send.disabled = true;
  stop.disabled = false;
  output.textContent = $<HTMLSelectElement>('mode').value === 'completions' ? prompt : '';
  let tokens = 0;
  const t0 = performance.now();
  let tFirst = 0;
  try {
    for await (const piece of textStream(prompt, abort.signal)) {
      if (!piece) continue;
      if (!tFirst) {
        tFirst = performance.now();
        $('ttft').textContent = (tFirst - t0).toFixed(0);
      }
      tokens++;
      output.textContent += piece;
      const seconds = (performance.now() - tFirst) / 1000;
      $('token-count').textContent = String(tokens);
      if (tokens > 1 && seconds > 0) $('tps').textContent = ((tokens - 1) / seconds).toFixed(1);
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError' && !abort.signal.aborted) output.textContent += `\n[error: ${(err as Error).message}]`;
  } finally {
    send.disabled = false;
    stop.disabled = true;
    document.body.dataset.done = String(Number(document.body.dataset.done ?? 0) + 1);
  }
});

stop.addEventListener('click', () => abort?.abort());
