/**
 * A test app that uses the Service Worker engine: it registers sw.ts and from then on talks to
 * the model with plain `fetch('/v1/...')`. The test drives it through `window.swApp`.
 */
import { registerServiceWorkerEngine } from '../../../../src/index.js';

const hub = new URLSearchParams(location.search).get('hub') ?? '';
const engine = await registerServiceWorkerEngine(`./sw.ts?hub=${encodeURIComponent(hub)}`);
const info = await engine.ready;
document.getElementById('state')!.textContent = `ready: ${info.id} (${info.backend})`;

async function complete(prompt: string, maxTokens = 60): Promise<string> {
  const r = await fetch('/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0 }) });
  const body = (await r.json()) as { choices: { text: string }[] };
  return body.choices[0]!.text;
}

function swInfo(): Promise<unknown> {
  return new Promise((resolve) => {
    const on = (e: MessageEvent) => {
      if (e.data?.type !== 'webinfer:info') return;
      navigator.serviceWorker.removeEventListener('message', on);
      resolve(e.data);
    };
    navigator.serviceWorker.addEventListener('message', on);
    navigator.serviceWorker.controller!.postMessage({ type: 'webinfer:info' });
  });
}

function iframeModels(): Promise<string> {
  const frame = document.createElement('iframe');
  frame.src = './iframe.html';
  document.body.append(frame);
  return new Promise((resolve) => {
    const t = setInterval(() => {
      const text = frame.contentDocument?.body?.dataset.models;
      if (text) {
        clearInterval(t);
        resolve(text);
      }
    }, 50);
  });
}

(window as unknown as { swApp: unknown }).swApp = { info, complete, swInfo, iframeModels, controlled: () => !!navigator.serviceWorker.controller };
