/**
 * The built library (`npm run build` → dist/), imported straight from dist/ with no bundler: the
 * GGUF backends in its Web Worker in Chromium, and the same package in Node (ort too). The ort
 * backend in browsers needs a bundler (onnxruntime-web is a peer the app resolves): the packed-app
 * test (test/packed-app.test.ts) runs it, and everything here, in apps built by Vite.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, serveStatic, watchPage } from '../helpers/browser.js';
import { GENERATED, ROOT, STORIES_GGUF, storiesReference } from '../helpers/paths.js';

let page: Page;
let log: string[];
let close: () => Promise<void>;

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--mode', 'lib', '--logLevel', 'error'], { cwd: ROOT, stdio: 'inherit' });
  // Plain static files, no dev server: what the build emitted must be enough.
  const server = await serveStatic(ROOT);
  const browser = await launchBrowser();
  page = await browser.newPage();
  log = watchPage(page);
  await page.goto(`${server.url}/test/browser/pages/dist.html`);
  await page.waitForFunction(() => (window as any).distTest, null, { timeout: 60_000 });
  close = async () => {
    await browser.close();
    await server.close();
  };
}, 180_000);
afterAll(() => close?.());

const reference = (n: number) => storiesReference().slice(0, n);

it.each([
  ['wasm (auto, GGUF: SwiftShader is a software adapter)', '/models/stories260K.gguf', {}, 'wasm'],
  ['wgsl', '/models/stories260K.gguf', { backend: 'wgsl' }, 'wgsl'],
  ['cpu', '/models/stories260K.gguf', { backend: 'cpu' }, 'cpu'],
])('%s in the browser', async (_, model, options, backend) => {
  const r = await page.evaluate(([m, o]) => (window as any).distTest.greedy(m, o, 48), [model, options] as const).catch((e) => {
    throw new Error(`${e.message}\n${log.join('\n')}`);
  });
  expect(r.info.backend).toBe(backend);
  expect(storiesReference().startsWith(r.text) && r.text.length > 100).toBe(true);
}, 120_000);

const SCHEMA = { type: 'object', properties: { ok: { type: 'boolean' }, n: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['ok', 'n'], additionalProperties: false };
const isAnswer = (text: string) => /^\{"ok": (true|false), "n": [0-9]\}$/.test(text);

it.each([
  ['wgsl, GPU sampling', '/models/stories260K.gguf', { backend: 'wgsl', gpuSampling: true }],
  ['cpu', '/models/stories260K.gguf', { backend: 'cpu' }],
  ['wasm', '/models/stories260K.gguf', { backend: 'wasm' }],
])('structured output in the browser (%s): xgrammar from the built assets, in the worker', async (_, model, options) => {
  const r = await page.evaluate(([m, o, s]) => (window as any).distTest.constrained(m, o, s), [model, options, SCHEMA] as const).catch((e) => {
    throw new Error(`${e.message}\n${log.join('\n')}`);
  });
  expect(r.res.choices?.[0]?.message?.content, JSON.stringify(r.res)).toSatisfy(isAnswer);
}, 120_000);

it('in Node: the wasm (auto) and ort backends of the built package', async () => {
  const { createFetch } = await import(join(ROOT, 'dist', 'webinfer.js'));
  for (const model of [STORIES_GGUF, join(GENERATED, 'onnx', 'stories260K')]) {
    const f = createFetch({ model, onnxVariant: 'fp32' });
    const res = await (await f('http://local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 40, temperature: 0 }) })).json();
    expect(reference(res.choices[0].text.length)).toBe(res.choices[0].text);
    await f.dispose();
  }
  const f = createFetch({ model: STORIES_GGUF });
  const body = { messages: [{ role: 'user', content: 'x' }], max_tokens: 60, seed: 3, response_format: { type: 'json_schema', json_schema: { name: 's', schema: SCHEMA } } };
  const res = await (await f('http://local/v1/chat/completions', { method: 'POST', body: JSON.stringify(body) })).json();
  expect(res.choices?.[0]?.message?.content, JSON.stringify(res)).toSatisfy(isAnswer);
  await f.dispose();
}, 60_000);

it('in Node, a Web Worker asked for where there is none: ready rejects saying so, requests get 503, dispose() settles', async () => {
  const { createFetch } = await import(join(ROOT, 'dist', 'webinfer.js'));
  const f = createFetch({ model: STORIES_GGUF, worker: true });
  // (Node has no Web Worker; after onnxruntime-web ran, globalThis.Worker may be worker_threads' one, which is no Web Worker either.)
  await expect(f.ready).rejects.toThrow(/could not start the webinfer engine's Web Worker/);
  const res = await f('http://local/v1/models');
  expect(res.status).toBe(503);
  expect((await res.json()).error.message).toMatch(/Web Worker/);
  await f.dispose();
});
