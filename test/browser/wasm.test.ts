/**
 * The wasm backend in headless Chromium: its kernels in both builds (relaxed SIMD is there in
 * Chromium) at one and two threads on a cross-origin isolated page, the engine in its Web Worker
 * with threads of its own, `auto` choosing wasm over SwiftShader's WebGPU, and one thread (said in
 * the load info) where the page is not isolated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestPage, useTestPage } from '../helpers/browser.js';
import { storiesReference } from '../helpers/paths.js';

describe('cross-origin isolated page', () => {
  const t = useTestPage('/test/browser/pages/wasm.html', 'wasmTest', { isolated: true });
  const api = (name: string, ...args: unknown[]) =>
    t.page.evaluate(([n, a]) => (window as any).wasmTest[n as string](...(a as unknown[])), [name, args] as const).catch((e: Error) => {
      throw new Error(`${e.message}\n${t.log.join('\n')}`);
    });

  it('is isolated, and has a working relaxed SIMD', async () => {
    expect(await api('isolated')).toBe(true);
    expect(await api('hasRelaxed')).toBe(true);
  });

  it.each([
    ['simd', 1, undefined],
    ['simd', 2, undefined],
    ['relaxed', 1, false],
    ['relaxed', 2, false],
    ['relaxed', 2, true],
  ] as const)('every kernel case, %s build, %i threads, four-way dots %s', async (simd, threads, fourWay) => {
    const r = await api('kernels', simd, threads, fourWay);
    expect(r.simd).toBe(simd);
    expect(r.threads).toBe(threads);
    expect(r.fourWay).toBe(fourWay ?? false);
    expect(r.cases).toBeGreaterThan(40);
    expect(r.failures).toEqual([]);
  }, 120_000);

  it('the engine in its worker, two threads: the stories260K reference text', async () => {
    const r = await api('greedy', { backend: 'wasm', threads: 2 }, 256);
    expect(r.info.backend).toBe('wasm');
    expect(r.info.description).toMatch(/relaxed SIMD( \(four-way dots\))?, 2 threads/);
    expect(r.text).toBe(storiesReference());
  }, 120_000);

  it('auto picks wasm over a software WebGPU adapter (SwiftShader)', async () => {
    const r = await api('greedy', {}, 40);
    expect(r.info.backend).toBe('wasm');
    expect(storiesReference().startsWith(r.text)).toBe(true);
  }, 120_000);
});

describe('page that is not cross-origin isolated', () => {
  let t: Awaited<ReturnType<typeof openTestPage>>;
  beforeAll(async () => {
    t = await openTestPage('/test/browser/pages/wasm.html', 'wasmTest');
  });
  afterAll(() => t?.close());

  it('runs one thread and says why', async () => {
    expect(await t.page.evaluate(() => (window as any).wasmTest.isolated())).toBe(false);
    const r = await t.page.evaluate(() => (window as any).wasmTest.greedy({ backend: 'wasm', threads: 4 }, 64));
    expect(r.info.description).toMatch(/1 thread, one thread: the page is not cross-origin isolated/);
    expect(storiesReference().startsWith(r.text) && r.text.length > 100).toBe(true);
  }, 120_000);
});
