/**
 * Headless Debian Chromium (SwiftShader WebGPU) driven by playwright-core, with pages served by a
 * Vite dev server rooted at the repository, or by a static server over a built folder.
 */
import { afterAll, beforeAll } from 'vitest';
import { createServer as createHttpServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { ROOT } from './paths.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

/** Headers that make a page cross-origin isolated (SharedArrayBuffer, WebAssembly threads). */
export const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** A Vite dev server over the whole repository (test pages import src/ directly). */
export async function startVite(options: { isolated?: boolean } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const server: ViteDevServer = await createServer({
    root: ROOT,
    configFile: false,
    logLevel: 'error',
    // No file watching: edits made while a page runs must not reload it mid-measurement.
    server: { port: 0, host: '127.0.0.1', fs: { allow: [ROOT] }, hmr: false, watch: null, headers: options.isolated ? ISOLATION_HEADERS : {} },
    optimizeDeps: { noDiscovery: true, include: [] },
    worker: { format: 'es' },
  });
  await server.listen();
  const address = server.httpServer!.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, close: () => server.close() };
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.wgsl': 'text/plain' };

/** Serves a folder as plain static files (the built demo, as any web host would). */
export async function serveStatic(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createHttpServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url!, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path.endsWith('/') ? path + 'index.html' : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** Collects console errors and page errors, so a failing page explains itself. */
export function watchPage(page: Page): string[] {
  const log: string[] = [];
  page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  return log;
}

/**
 * A page of the repository served by Vite in headless Chromium, waited on until the test global
 * it defines (e.g. `window.wgslTest`) exists.
 */
export async function openTestPage(path: string, global: string, options: { isolated?: boolean } = {}): Promise<{ page: Page; log: string[]; close(): Promise<void> }> {
  const server = await startVite(options);
  const browser = await launchBrowser();
  const page = await browser.newPage();
  const log = watchPage(page);
  await page.goto(`${server.url}${path}`);
  await page.waitForFunction((g) => (window as unknown as Record<string, unknown>)[g], global, { timeout: 60_000 });
  return {
    page,
    log,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** Opens a test page before the file's tests and closes it after them; `page` and `log` are set once it is open. */
export function useTestPage(path: string, global: string, options: { isolated?: boolean } = {}): { page: Page; log: string[] } {
  const handle = {} as { page: Page; log: string[]; close?: () => Promise<void> };
  beforeAll(async () => {
    Object.assign(handle, await openTestPage(path, global, options));
  });
  afterAll(() => handle.close?.());
  return handle;
}
