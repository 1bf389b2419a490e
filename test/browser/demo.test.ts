/**
 * The chat demo as a user gets it: `vite build` output served as static files, opened in headless
 * Chromium. A story streams from the embedded model with its speed shown; a GGUF dropped onto the page is kept in the cache and chatted with — its answer
 * holds markup that must show as text and never run; one opened with the file picker that never
 * stops by itself is stopped with the Stop button; a Hub model downloads with its progress, speed
 * and time left; a safetensors folder loads from the folder picker; after a reload the conversations and the
 * cached model are still listed; with the server gone, the app opens and answers offline.
 * The product: a 20-turn chat that outgrows the embedded model's context (oldest turns dropped,
 * the user told), each conversation's mode kept across a reload, a failed load that keeps the
 * model in use, a message longer than the context answered with a way on, and offline under the
 * dev server too. Screenshots of each step go to test/.generated/demo-*.png (not committed); the
 * chat at 390 and 1280 px, light and dark, to demo-chat-<width>-<scheme>.png.
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
  // stories260K has no chat template: the model chooses story mode for a new conversation.
  expect(await page.inputValue('#mode')).toBe('story');
  expect(await page.textContent('#empty-hint')).toMatch(/has no chat template/);
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
  expect(await page.textContent('#chat-title')).toBe('Once upon a time');
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

/** Sends a message and waits for its answer; returns the answer's element. */
async function turn(text: string, n: number) {
  await page.fill('#prompt', text);
  await page.click('#send');
  await done(n);
  return lastAssistant();
}

it('a 20-turn chat with the embedded model never errors: the oldest turns are dropped to fit its 512-token context, and the user is told', async () => {
  await page.click('#load-embedded');
  await page.waitForFunction(() => document.getElementById('model-status')!.textContent === 'ready: stories260K', null, { timeout: 60_000 });
  await page.click('#new-chat');
  expect(await page.inputValue('#mode')).toBe('story');
  await page.selectOption('#mode', 'chat');
  await page.fill('#temperature', '0.7');
  await page.fill('#max-tokens', '256');
  const before = Number(await page.evaluate(() => document.body.dataset.done));
  const topics = ['the dog', 'a red ball', 'the big tree', 'a little bird', 'the sun'];
  for (let i = 1; i <= 20; i++) {
    const answer = await turn(`Tell me a story about ${topics[i % topics.length]}, please. This is turn ${i}.`, before + i);
    expect(await answer.locator('.failure').count(), `turn ${i}: ${await answer.textContent()}`).toBe(0);
    expect(await answer.locator('.stats').textContent(), `turn ${i}`).toMatch(/^[1-9]\d* tokens · /);
  }
  expect(await page.locator('.message.failed').count()).toBe(0);
  expect(await page.locator('.message.user').count()).toBe(20);
  // Told: a note where the model's view begins, and the turns it no longer sees dimmed.
  const note = (await page.textContent('.context-note'))!;
  expect(note).toMatch(/^The \d+ earlier messages above no longer fit stories260K's 512-token context/);
  const hidden = Number(/^The (\d+)/.exec(note)![1]);
  expect(await page.locator('.message.forgotten').count()).toBe(hidden);
  expect(hidden).toBeGreaterThanOrEqual(20);
  expect(hidden % 2).toBe(0); // whole turns
  expect(await page.textContent('#chat-title')).toBe('Tell me a story about a red ball, please. This…');
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width > 800 ? 800 : 844 });
      await page.locator('#messages').evaluate((m) => (m.scrollTop = m.scrollHeight));
      await page.screenshot({ path: join(GENERATED, `demo-chat-${width}-${scheme}.png`) });
    }
    // The phone's sidebar is a drawer over the chat, not a column beside it.
    expect(await page.isVisible('#open-sidebar')).toBe(true);
    const chatWidth = await page.locator('#messages').evaluate((m) => m.getBoundingClientRect().width);
    expect(chatWidth).toBe(390);
    await page.click('#open-sidebar');
    await page.locator('#sidebar').evaluate((el) => (el.scrollTop = 0));
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(GENERATED, `demo-menu-390-${scheme}.png`) });
    await page.click('#close-sidebar');
    await page.setViewportSize({ width: 1200, height: 800 });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}, 600_000);

it('a failed load (an unknown Hub model) keeps the loaded model answering, and Send enabled', async () => {
  await page.fill('#hub-url', hub.url);
  await page.fill('#hub-id', 'hf:nobody/no-such-model-GGUF');
  await page.click('#hub-form button');
  await page.waitForSelector('body[data-load-failed="1"]', { timeout: 60_000 });
  expect(await page.textContent('#load-error')).toMatch(/^Could not load hf:nobody\/no-such-model-GGUF: .+ · still using stories260K$/);
  expect(await page.textContent('#model-status')).toBe('ready: stories260K');
  expect(await page.isDisabled('#send')).toBe(false);
  const n = Number(await page.evaluate(() => document.body.dataset.done));
  await page.click('#new-chat');
  await page.selectOption('#mode', 'story');
  const answer = await turn('Once upon a time', n + 1);
  expect((await answer.locator('.content').innerText()).length).toBeGreaterThan(20);
  await shot('failed-load');
}, 120_000);

it('an error shows where the answer would be, with a way on: a message longer than the context can be edited', async () => {
  const n = Number(await page.evaluate(() => document.body.dataset.done));
  await page.click('#new-chat');
  await page.selectOption('#mode', 'chat');
  const long = 'the dog ran and the cat sat. '.repeat(60);
  const answer = await turn(long, n + 1);
  expect(await answer.locator('.failure p').textContent()).toMatch(/^This message is \d+ tokens with the system prompt, and stories260K reads at most 512 at once/);
  for (const label of ['Edit message', 'Retry', 'New chat']) expect(await answer.locator(`.failure button:has-text("${label}")`).count()).toBe(1);
  await shot('too-long');
  await answer.locator('.failure button:has-text("Edit message")').click();
  expect(await page.inputValue('#prompt')).toBe(long);
  expect(await page.locator('.message').count()).toBe(0);
  await page.fill('#prompt', '');
}, 120_000);

it('after a reload: the conversations and the cached model are still there, and the cached model loads from the list', async () => {
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  await page.waitForFunction(() => Number(document.body.dataset.cached) >= 4);
  // The story, the two chats with dropped and picked models, the 20-turn chat, the story after a failed load.
  expect(await page.locator('#conversations li').count()).toBe(5);
  // Each keeps its mode: the last one (a story) reopens in story mode; the 20-turn chat in chat mode, though the model suits stories.
  expect(await page.inputValue('#mode')).toBe('story');
  await page.click('#conversations li:has-text("about a red ball") .open');
  expect(await page.inputValue('#mode')).toBe('chat');
  expect(await page.locator('.context-note').count()).toBe(1);
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

it('offline under the dev server (`npm run demo`): after one visit, a reload with the server gone opens the app and the model answers', async () => {
  const { createServer } = await import('vite');
  const dev = await createServer({ configFile: join(ROOT, 'vite.config.ts'), root: join(ROOT, 'demo'), logLevel: 'error', server: { port: 0, host: '127.0.0.1', hmr: false, watch: null } });
  await dev.listen();
  const devContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const devPage = await devContext.newPage();
    const devLog = watchPage(devPage);
    await devPage.goto(`http://127.0.0.1:${(dev.httpServer!.address() as { port: number }).port}/`);
    await devPage.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
    await devPage.waitForSelector('body[data-offline-ready="true"]', { timeout: 30_000 });
    await dev.close();
    await devContext.setOffline(true);
    await devPage.reload();
    await devPage.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    expect(await devPage.inputValue('#mode')).toBe('story');
    await devPage.click('#settings summary');
    await devPage.fill('#temperature', '0');
    await devPage.fill('#max-tokens', '40');
    await devPage.fill('#prompt', 'Once upon a time');
    await devPage.click('#send');
    await devPage.waitForSelector('body[data-done="1"]', { timeout: 60_000 });
    const story = (await devPage.locator('.message.assistant').last().locator('.content').innerText())!;
    expect(story.length).toBeGreaterThan(40);
    expect(squash(storiesReference()).startsWith(squash(story))).toBe(true);
    expect(devLog.filter((l) => l.startsWith('[pageerror]'))).toEqual([]);
  } finally {
    await devContext.close();
    await dev.close().catch(() => {});
  }
}, 240_000);
