/** The wgsl backend in headless Chromium (SwiftShader WebGPU), inside the Web Worker, chosen by `auto`. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { storiesReference } from '../helpers/paths.js';
import { openTestPage } from '../helpers/browser.js';
import type { Page } from 'playwright-core';

let page: Page;
let log: string[];
let close: () => Promise<void>;

beforeAll(async () => {
  ({ page, log, close } = await openTestPage('/test/browser/pages/wgsl.html', 'wgslTest'));
});
afterAll(() => close?.());

it('auto picks wgsl, and it reproduces the stories260K reference text token for token', async () => {
  const info = await page.evaluate(() => (window as any).wgslTest.ready());
  expect(info.backend).toBe('wgsl');
  const text = await page.evaluate(() => (window as any).wgslTest.greedy(256));
  if (text !== storiesReference()) console.log(log.join('\n'));
  expect(text).toBe(storiesReference());
}, 180_000);
