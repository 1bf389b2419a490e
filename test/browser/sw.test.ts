/**
 * The Service Worker engine (webinfer/sw) in headless Chromium: a test app registers it and uses
 * plain fetch('/v1/...'); a second tab shares the same loaded model; an iframe that never imported
 * webinfer is answered; and with the app's server and the Hub both gone, a reload still opens
 * the app and the model answers from the cache.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, startVite, watchPage } from '../helpers/browser.js';
import type { FakeHub } from '../helpers/fake-hub.js';
import { startFakeHub } from '../helpers/hub-repos.js';
import { storiesReference } from '../helpers/paths.js';

let hub: FakeHub;
let vite: { url: string; close(): Promise<void> };
let browser: Browser;
let context: BrowserContext;
const logs: string[] = [];

async function openApp(): Promise<Page> {
  const p = await context.newPage();
  logs.push(...watchPage(p));
  await p.goto(`${vite.url}/test/browser/pages/sw/index.html?hub=${encodeURIComponent(hub.url)}`);
  await p.waitForFunction(() => (window as any).swApp, null, { timeout: 90_000 }).catch((e: Error) => {
    throw new Error(`${e.message}\n${logs.join('\n')}`);
  });
  return p;
}
const app = (p: Page, name: string, ...args: unknown[]) => p.evaluate(([n, a]) => (window as any).swApp[n as string](...(a as unknown[])), [name, args] as const);

beforeAll(async () => {
  hub = await startFakeHub();
  vite = await startVite();
  browser = await launchBrowser();
  context = await browser.newContext();
  context.on('serviceworker', (w) => w.on('console', (m) => logs.push(`[sw] ${m.text()}`)));
});
afterAll(async () => {
  await browser?.close();
  await vite?.close();
  await hub?.close();
});

let first: Page;
let text: string;

it('registers, loads the model in the Service Worker, and answers plain fetches', async () => {
  first = await openApp();
  const info = await first.evaluate(() => (window as any).swApp.info);
  expect(info).toMatchObject({ id: 'webinfer/stories260K-GGUF', backend: 'wasm' });
  // No WebGPU adapter worth using here (SwiftShader) and no threads in a Service Worker.
  expect(info.description).toMatch(/1 thread/);
  text = await app(first, 'complete', '', 80);
  expect(storiesReference().startsWith(text)).toBe(true);
  expect(text.length).toBeGreaterThan(100);
}, 180_000);

it('an iframe that never imported webinfer gets /v1/models answered', async () => {
  const models = JSON.parse(await app(first, 'iframeModels'));
  expect(models.data[0].id).toBe('webinfer/stories260K-GGUF');
}, 60_000);

it('a second tab shares the one loaded engine', async () => {
  const second = await openApp();
  expect(await app(second, 'complete', '', 80)).toBe(text);
  const info = await app(second, 'swInfo');
  expect(info).toMatchObject({ loads: 1, info: { id: 'webinfer/stories260K-GGUF' } });
  await second.close();
}, 120_000);

it('offline (the app server and the Hub both gone): a reload opens the app and the model answers', async () => {
  await vite.close();
  hub.down = true;
  await context.setOffline(true);
  try {
    await first.reload();
    await first.waitForFunction(() => (window as any).swApp, null, { timeout: 60_000 });
    expect(await app(first, 'complete', '', 80)).toBe(text);
  } finally {
    await context.setOffline(false);
  }
  expect(logs.filter((l) => l.startsWith('[pageerror]'))).toEqual([]);
}, 120_000);
