/** models/stories260K.gguf is a standard GGUF: llama.cpp (wllama) loads it and prints the reference text. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { storiesReference } from '../helpers/paths.js';
import { openTestPage } from '../helpers/browser.js';
import type { Page } from 'playwright-core';

let page: Page;
let log: string[];
let close: () => Promise<void>;

beforeAll(async () => {
  ({ page, log, close } = await openTestPage('/test/browser/pages/wllama.html', 'wllamaTest'));
});
afterAll(() => close?.());

it('llama.cpp decodes the stories260K reference text greedily from our GGUF', async () => {
  const text = await page.evaluate(() => (window as any).wllamaTest.greedy(256));
  if (text !== storiesReference()) console.log(log.join('\n'));
  // llama.cpp keeps the leading space of the first SentencePiece word; webinfer strips it after BOS, as llama2.c does.
  expect(text.replace(/^ /, '')).toBe(storiesReference());
}, 180_000);
