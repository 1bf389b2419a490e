/** The wgsl backend in headless Chromium (SwiftShader WebGPU), inside the Web Worker, chosen by `auto`. */
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
  await page.goto(`${server.url}/test/browser/pages/wgsl.html`);
  await page.waitForFunction(() => (window as any).wgslTest, null, { timeout: 60_000 });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it('auto picks wgsl, and it reproduces the stories260K reference text token for token', async () => {
  const info = await page.evaluate(() => (window as any).wgslTest.ready());
  expect(info.backend).toBe('wgsl');
  const text = await page.evaluate(() => (window as any).wgslTest.greedy(256));
  if (text !== storiesReference()) console.log(log.join('\n'));
  expect(text).toBe(storiesReference());
}, 180_000);
