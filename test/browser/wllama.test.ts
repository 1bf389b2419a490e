/** models/stories260K.gguf is a standard GGUF: llama.cpp (wllama) loads it and prints the reference text. */
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
  await page.goto(`${server.url}/test/browser/pages/wllama.html`);
  await page.waitForFunction(() => (window as any).wllamaTest, null, { timeout: 60_000 });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it('llama.cpp decodes the stories260K reference text greedily from our GGUF', async () => {
  const text = await page.evaluate(() => (window as any).wllamaTest.greedy(256));
  if (text !== storiesReference()) console.log(log.join('\n'));
  // llama.cpp keeps the leading space of the first SentencePiece word; webinfer strips it after BOS, as llama2.c does.
  expect(text.replace(/^ /, '')).toBe(storiesReference());
}, 180_000);
