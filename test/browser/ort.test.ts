/**
 * The ort backend in headless Chromium, inside the Web Worker: the exported stories260K reproduces
 * the reference text on the WebGPU execution provider (SwiftShader here; KV cache on the GPU,
 * sampling by webinfer's WGSL sampler on ORT's device) and on the WASM execution provider.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, startVite, watchPage } from '../helpers/browser.js';
import { storiesReference } from '../helpers/paths.js';

let browser: Browser;
let server: { url: string; close(): Promise<void> };
let page: Page;
let log: string[];

beforeAll(async () => {
  server = await startVite();
  browser = await launchBrowser();
  page = await browser.newPage();
  log = watchPage(page);
  await page.goto(`${server.url}/test/browser/pages/ort.html`);
  await page.waitForFunction(() => (window as any).ortTest, null, { timeout: 60_000 });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it.each([
  ['fp32', 'webgpu'],
  ['fp32', 'wasm'],
])('%s on the %s execution provider reproduces the reference text', async (variant, ep) => {
  const r = await page.evaluate(([v, e]) => (window as any).ortTest.greedy(v, e), [variant, ep]);
  if (r.text !== storiesReference()) console.log(log.join('\n'));
  expect(r.info.backend).toBe('ort');
  expect(r.info.description).toContain(`${ep} execution provider`);
  expect(r.text).toBe(storiesReference());
}, 180_000);

it('seeded sampling with penalties: the WGSL sampler on ORT WebGPU gives the CPU sampler answer on WASM', async () => {
  const params = { max_tokens: 40, temperature: 0.9, top_p: 0.9, seed: 3, frequency_penalty: 0.5, return_token_ids: true, logprobs: 2 };
  const [gpu, cpu] = await page.evaluate(async (p) => [await (window as any).ortTest.greedy('fp32', 'webgpu', p), await (window as any).ortTest.greedy('fp32', 'wasm', p)], params);
  expect(gpu.res.choices[0].completion_token_ids).toEqual(cpu.res.choices[0].completion_token_ids);
  gpu.res.choices[0].logprobs.token_logprobs.forEach((v: number, i: number) => expect(v).toBeCloseTo(cpu.res.choices[0].logprobs.token_logprobs[i], 3));
}, 180_000);
