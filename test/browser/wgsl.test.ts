/** The wgsl backend in headless Chromium (SwiftShader WebGPU), inside the Web Worker. */
import { expect, it } from 'vitest';
import { storiesReference } from '../helpers/paths.js';
import { useTestPage } from '../helpers/browser.js';

const t = useTestPage('/test/browser/pages/wgsl.html', 'wgslTest');


it('wgsl reproduces the stories260K reference text token for token', async () => {
  const info = await t.page.evaluate(() => (window as any).wgslTest.ready());
  expect(info.backend).toBe('wgsl');
  const text = await t.page.evaluate(() => (window as any).wgslTest.greedy(256));
  if (text !== storiesReference()) console.log(t.log.join('\n'));
  expect(text).toBe(storiesReference());
}, 180_000);
