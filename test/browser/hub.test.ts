/**
 * Hub models in headless Chromium against the fake Hub (another origin, CORS): download with
 * progress into OPFS, a reload that loads with the Hub unreachable, a tab closed mid-download and
 * resumed, a cut connection, a corrupted byte, a quota too small, and the Cache API fallback.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchBrowser, startVite, watchPage } from '../helpers/browser.js';
import type { FakeHub } from '../helpers/fake-hub.js';
import { startFakeHub } from '../helpers/hub-repos.js';
import { storiesReference } from '../helpers/paths.js';

const SIZE = 1054464;
const STORIES = 'hf:webinfer/stories260K-GGUF';
let hub: FakeHub;
let vite: { url: string; close(): Promise<void> };
let browser: Browser;
let context: BrowserContext;
let page: Page;
let log: string[];

async function openPage(): Promise<Page> {
  const p = await context.newPage();
  log = watchPage(p);
  await p.goto(`${vite.url}/test/browser/pages/hub.html?hub=${encodeURIComponent(hub.url)}`);
  await p.waitForFunction(() => (window as any).hubTest, null, { timeout: 60_000 });
  return p;
}
const call = (p: Page, name: string, ...args: unknown[]) =>
  p.evaluate(([n, a]) => (window as any).hubTest[n as string](...(a as unknown[])), [name, args] as const).catch((e: Error) => {
    throw new Error(`${e.message}\n${log.join('\n')}`);
  });
/**
 * The Hub and its CDN unreachable: their server drops every connection (and counts them). The
 * page's own scripts still come from the dev server: a page that is offline as a whole is the
 * Service Worker's case (sw.test.ts), where the app itself is cached.
 */
async function withHubBlocked<T>(fn: () => Promise<T>): Promise<T> {
  hub.down = true;
  hub.refused = 0;
  try {
    return await fn();
  } finally {
    hub.down = false;
  }
}
const cdnBytes = () => hub.requests.filter((r) => r.server === 'cdn').reduce((a, r) => a + r.sent, 0);

beforeAll(async () => {
  hub = await startFakeHub();
  vite = await startVite({ isolated: true });
  browser = await launchBrowser();
  context = await browser.newContext();
  page = await openPage();
});
afterAll(async () => {
  await browser?.close();
  await vite?.close();
  await hub?.close();
});
beforeEach(async () => {
  hub.requests.length = 0;
  hub.down = false;
  hub.bytesPerSecond = 0;
  await call(page, 'clear');
  await call(page, 'clear', 'cache-api');
});

describe('OPFS', () => {
  it('downloads with progress, then a reload loads from the cache with the Hub unreachable', async () => {
    hub.bytesPerSecond = 4_000_000;
    const r = await call(page, 'load', STORIES);
    expect(r.ok, r.error).toBe(true);
    expect(r.info).toMatchObject({ id: 'webinfer/stories260K-GGUF', fromCache: false, backend: 'wasm' });
    expect(storiesReference().startsWith(r.text)).toBe(true);
    expect(r.events.withSpeed).toBeGreaterThan(1);
    expect(r.events.last).toMatchObject({ loadedBytes: SIZE, totalBytes: SIZE, fetchedBytes: SIZE });
    expect(await call(page, 'list')).toEqual([expect.objectContaining({ id: STORIES, size: SIZE, storedBytes: SIZE, complete: true, storage: 'opfs' })]);

    await page.reload();
    await page.waitForFunction(() => (window as any).hubTest);
    hub.requests.length = 0;
    const again = await withHubBlocked(() => call(page, 'load', STORIES));
    expect(again.ok, again.error).toBe(true);
    expect(again.info.fromCache).toBe(true);
    expect(again.text).toBe(r.text);
    expect(hub.requests).toEqual([]);
    expect(hub.refused).toBe(0);
  }, 120_000);

  it('a tab closed mid-download: the next visit fetches only the pieces not yet stored', async () => {
    hub.bytesPerSecond = 600_000;
    const tab = await openPage();
    await call(tab, 'start', STORIES, { download: { pieceBytes: 128 * 1024, parallel: 2 } });
    await tab.waitForFunction(() => ((window as any).loaded ?? 0) > 500_000, null, { timeout: 60_000 });
    await tab.close();
    await new Promise((r) => setTimeout(r, 1500)); // the closed tab's last requests end
    const [partial] = await call(page, 'list');
    expect(partial).toMatchObject({ id: STORIES, complete: false });
    expect(partial.storedBytes).toBeGreaterThanOrEqual(2 * 128 * 1024);
    expect(partial.storedBytes % (128 * 1024)).toBe(0);
    hub.bytesPerSecond = 0;
    hub.requests.length = 0;
    const r = await call(page, 'load', STORIES);
    expect(r.ok, r.error).toBe(true);
    expect(storiesReference().startsWith(r.text)).toBe(true);
    expect(r.events.last.fetchedBytes).toBe(SIZE - partial.storedBytes);
    expect(cdnBytes()).toBe(SIZE - partial.storedBytes);
  }, 120_000);

  it('a connection cut mid-file resumes with a Range request from where it stopped', async () => {
    // Delivered over ~0.15 s before the cut: with everything in one burst, Chromium may drop what
    // it had buffered when the connection resets, and resume (correctly) from byte 0.
    hub.bytesPerSecond = 2_000_000;
    hub.cutAfter.set('stories260K.gguf', 300_000);
    const r = await call(page, 'load', STORIES, { download: { pieceBytes: 4 << 20, retryDelayMs: 20 } });
    expect(r.ok, r.error).toBe(true);
    expect(storiesReference().startsWith(r.text)).toBe(true);
    const ranges = hub.requests.filter((q) => q.server === 'cdn').map((q) => q.range);
    expect(ranges.length).toBe(2);
    const from = Number(/^bytes=(\d+)-/.exec(ranges[1]!)![1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(300_000);
    expect(cdnBytes()).toBeLessThan(SIZE + 300_000);
  }, 120_000);

  it('a corrupted byte fails the load and leaves nothing usable', async () => {
    hub.corrupt.add('stories260K.gguf');
    try {
      const r = await call(page, 'load', STORIES);
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/corrupt: its SHA-256 is/);
    } finally {
      hub.corrupt.delete('stories260K.gguf');
    }
    const list = await call(page, 'list');
    expect(list.every((m: { complete: boolean; storedBytes: number }) => !m.complete && m.storedBytes === 0)).toBe(true);
  }, 120_000);

  // Chromium applies the overridden quota to writes but not to navigator.storage.estimate(), so
  // what is tested here is the quota error in the middle of a download; the check before one
  // (estimate) is tested in Node (test/hub.test.ts).
  it('a quota too small: a clear error naming the sizes, and nothing stored', async () => {
    const cdp = await context.newCDPSession(page);
    const origin = new URL(vite.url).origin;
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 400_000 });
    try {
      const r = await call(page, 'load', STORIES);
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/not enough storage for this model: the opfs storage refused more data after 0\.\d+ MB of the 1\.05 MB it needs .*the partial files were removed/);
      expect(await call(page, 'list')).toEqual([]);
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    }
  }, 120_000);
});

describe('Cache API (where OPFS is missing)', () => {
  it('stores the model there and loads it again offline', async () => {
    const r = await call(page, 'load', STORIES, { cache: 'cache-api' });
    expect(r.ok, r.error).toBe(true);
    expect(await call(page, 'list', 'cache-api')).toEqual([expect.objectContaining({ id: STORIES, complete: true, storage: 'cache-api', size: SIZE })]);
    const again = await withHubBlocked(() => call(page, 'load', STORIES, { cache: 'cache-api' }));
    expect(again.ok, again.error).toBe(true);
    expect(again.info.fromCache).toBe(true);
    expect(again.text).toBe(r.text);
    expect(await call(page, 'remove', STORIES, 'cache-api')).toBe(true);
    expect(await call(page, 'list', 'cache-api')).toEqual([]);
  }, 120_000);
});
