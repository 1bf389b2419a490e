/**
 * The demo as a user gets it: `vite build` output served as static files, opened in headless
 * Chromium; a prompt is sent and streamed text plus the tokens-per-second figure appear.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, serveStatic, watchPage } from '../helpers/browser.js';
import { ROOT, storiesReference } from '../helpers/paths.js';

let browser: Browser;
let server: { url: string; close(): Promise<void> };
let page: Page;
let log: string[];

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'error'], { cwd: ROOT, stdio: 'inherit' });
  server = await serveStatic(join(ROOT, 'dist-demo'));
  browser = await launchBrowser();
  page = await browser.newPage();
  log = watchPage(page);
  await page.goto(`${server.url}/index.html`);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it('loads the embedded model, streams a story and shows tokens per second', async () => {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  expect(await page.textContent('#load-text')).toMatch(/ready: stories260K/);
  await page.fill('#prompt', 'Once upon a time');
  await page.fill('#max-tokens', '120');
  await page.click('#send');
  // streamed: the output grows while generation is still running
  await page.waitForFunction(() => (document.getElementById('output')!.textContent ?? '').length > 'Once upon a time'.length + 5);
  await page.waitForSelector('body[data-done="1"]', { timeout: 60_000 });
  const output = (await page.textContent('#output'))!;
  expect(storiesReference().startsWith(output)).toBe(true);
  expect(output.length).toBeGreaterThan(200);
  expect(Number(await page.textContent('#tps'))).toBeGreaterThan(0);
  expect(Number(await page.textContent('#token-count'))).toBeGreaterThan(50);
  expect(log.filter((l) => l.startsWith('[pageerror]'))).toEqual([]);
  await page.screenshot({ path: join(ROOT, 'test', '.generated', 'demo.png') });
}, 120_000);
