/**
 * The chat demo as a user gets it: `vite build` output served as static files, opened in headless
 * Chromium. A story streams from the embedded model with its speed shown; a GGUF dropped onto the page is kept in the cache and chatted with — its answer
 * holds markup that must show as text and never run; one opened with the file picker that never
 * stops by itself is stopped with the Stop button; a Hub model downloads with its progress, speed
 * and time left; a safetensors folder loads from the folder picker; after a reload the conversations and the
 * cached model are still listed; with the server gone, the app opens and answers offline.
 * Screenshots of each step go to test/.generated/demo-*.png (not committed).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { scriptedModel } from '../../scripts/make-scripted-model.js';
import { launchBrowser, serveStatic, watchPage } from '../helpers/browser.js';
import type { FakeHub } from '../helpers/fake-hub.js';
import { startFakeHub } from '../helpers/hub-repos.js';
import { GENERATED, ROOT, storiesReference } from '../helpers/paths.js';

const XSS = 'Hi! <img src onerror=pwn()> ok';
let browser: Browser;
let context: BrowserContext;
let server: { url: string; close(): Promise<void> };
let page: Page;
let log: string[];
let hub: FakeHub;
const shot = (name: string) => page.screenshot({ path: join(GENERATED, `demo-${name}.png`), fullPage: true });
const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
const done = (n: number) => page.waitForSelector(`body[data-done="${n}"]`, { timeout: 90_000 });
const lastAssistant = () => page.locator('.message.assistant').last();
/** Story mode, greedy, from "Once upon a time": stories260K's published continuation. */
async function startStory(maxTokens: number): Promise<void> {
  await page.click('#settings summary');
  await page.selectOption('#mode', 'story');
  await page.fill('#temperature', '0');
  await page.fill('#max-tokens', String(maxTokens));
  await page.fill('#prompt', 'Once upon a time');
  await page.click('#send');
}

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'error'], { cwd: ROOT, stdio: 'inherit' });
  writeFileSync(join(ROOT, 'dist-demo', 'scripted.gguf'), await scriptedModel(XSS));
  writeFileSync(join(GENERATED, 'looping.gguf'), await scriptedModel('Sing a song! ', { loop: true }));
  server = await serveStatic(join(ROOT, 'dist-demo'));
  hub = await startFakeHub();
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  // A model's markup that ran would call this.
  await context.addInitScript(() => ((window as any).pwn = () => ((window as any).pwned = true)));
  page = await context.newPage();
  log = watchPage(page);
  await page.goto(`${server.url}/index.html`);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await hub?.close();
});

it('loads the embedded model and streams a story with tokens per second', async () => {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  expect(await page.textContent('#model-status')).toBe('ready: stories260K');
  expect(await page.textContent('#load-text')).toMatch(/^wasm backend: WebAssembly/);
  await startStory(120);
  await page.waitForFunction(() => (document.querySelector('.message.assistant .content')?.textContent ?? '').length > 30);
  await done(1);
  const story = squash((await lastAssistant().locator('.content').innerText())!);
  expect(story.length).toBeGreaterThan(200);
  expect(story).toBe(squash(storiesReference()).slice(0, story.length));
  const stats = (await lastAssistant().locator('.stats').textContent())!;
  expect(stats).toMatch(/^\d+ tokens · [\d.]+ tokens\/s · first token \d+ ms$/);
  expect(Number(/· ([\d.]+) tokens\/s/.exec(stats)![1])).toBeGreaterThan(0);
  await shot('1-story');
}, 120_000);

it('a dropped GGUF is kept in the cache and chatted with; markup in its answer is shown as text, never run', async () => {
  await page.evaluate(async () => {
    const bytes = await (await fetch('/scripted.gguf')).blob();
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'scripted.gguf'));
    document.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => document.getElementById('model-status')!.textContent === 'ready: scripted.gguf', null, { timeout: 60_000 });
  await page.click('#new-chat');
  await page.selectOption('#mode', 'chat');
  await page.fill('#prompt', 'hello');
  await page.click('#send');
  await done(2);
  const answer = lastAssistant().locator('.content');
  expect(squash((await answer.textContent())!)).toBe(XSS);
  expect(await answer.locator('img').count()).toBe(0);
  expect(await page.evaluate(() => (window as any).pwned)).toBeUndefined();
  await page.waitForFunction(() => /local:scripted\.gguf — 6\.\d+ MB/.test(document.getElementById('cache-list')!.textContent ?? ''));
  await shot('2-dropped-gguf');
}, 120_000);

it('a GGUF opened with the file picker that never stops by itself: the Stop button ends its answer', async () => {
  await page.setInputFiles('#file-input', join(GENERATED, 'looping.gguf'));
  await page.waitForFunction(() => document.getElementById('model-status')!.textContent === 'ready: looping.gguf', null, { timeout: 60_000 });
  await page.click('#new-chat');
  await page.selectOption('#mode', 'chat');
  await page.fill('#max-tokens', '2000');
  await page.fill('#prompt', 'Sing!');
  await page.click('#send');
  await page.waitForFunction(() => (document.querySelector('.message.assistant:last-child .content')?.textContent ?? '').length > 20);
  await page.click('#stop');
  await done(3);
  expect(await lastAssistant().locator('.stats').textContent()).toMatch(/^\d+ tokens · .* · stopped$/);
  const tokens = Number(/^(\d+)/.exec((await lastAssistant().locator('.stats').textContent())!)![1]);
  expect(tokens).toBeLessThan(2000);
  expect(await page.isDisabled('#send')).toBe(false);
  await shot('3-stopped');
}, 120_000);

it('a Hub model by name: a progress bar with speed and time left, then listed in the cache', async () => {
  hub.bytesPerSecond = 400_000;
  await page.fill('#hub-url', hub.url);
  await page.fill('#hub-id', 'hf:webinfer/stories260K-GGUF');
  await page.click('#hub-form button');
  await page.waitForFunction(() => /^downloading [\d.]+ MB of 1\.05 MB · [\d.]+ MB\/s · \d+ s left$/.test(document.getElementById('load-text')!.textContent ?? ''), null, { timeout: 30_000 });
  expect(await page.evaluate(() => (document.getElementById('load-progress') as HTMLProgressElement).value)).toBeGreaterThan(0);
  await shot('4-downloading');
  await page.waitForFunction(() => document.getElementById('model-status')!.textContent === 'ready: webinfer/stories260K-GGUF', null, { timeout: 60_000 });
  hub.bytesPerSecond = 0;
  await page.waitForFunction(() => /hf:webinfer\/stories260K-GGUF — 1\.05 MB/.test(document.getElementById('cache-list')!.textContent ?? ''));
}, 120_000);

it('a model folder (safetensors) opened with the folder picker loads and is kept', async () => {
  await page.setInputFiles('#folder-input', join(GENERATED, 'llama-hf'));
  await page.waitForFunction(() => document.getElementById('model-status')!.textContent === 'ready: llama-hf', null, { timeout: 60_000 });
  await page.waitForFunction(() => /local:llama-hf — /.test(document.getElementById('cache-list')!.textContent ?? ''));
  await shot('5-folder');
}, 120_000);

it('after a reload: the conversations and the cached model are still there, and the cached model loads from the list', async () => {
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  await page.waitForFunction(() => Number(document.body.dataset.cached) >= 4);
  expect(await page.locator('#conversations li').count()).toBe(3);
  const cached = (await page.textContent('#cache-list'))!;
  for (const id of ['local:scripted.gguf', 'local:looping.gguf', 'hf:webinfer/stories260K-GGUF', 'local:llama-hf']) expect(cached).toContain(id);
  await page.click('#cache-list li:has-text("local:scripted.gguf") button:has-text("Load")');
  await page.waitForFunction(() => document.getElementById('model-status')!.textContent === 'ready: scripted.gguf', null, { timeout: 60_000 });
  expect(await page.textContent('#load-text')).toMatch(/from the cache/);
  await shot('6-after-reload');
}, 120_000);

it('offline: with the server gone the app opens and the embedded model answers', async () => {
  await page.waitForSelector('body[data-offline-ready="true"]', { timeout: 30_000 });
  await server.close();
  await context.setOffline(true);
  try {
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    await startStory(40);
    await page.waitForSelector('body[data-done="1"]', { timeout: 60_000 });
    expect(squash(storiesReference()).startsWith(squash((await lastAssistant().locator('.content').innerText())!))).toBe(true);
    await shot('7-offline');
  } finally {
    await context.setOffline(false);
  }
  expect(log.filter((l) => l.startsWith('[pageerror]'))).toEqual([]);
}, 120_000);
