/**
 * webinfer as a user gets it: `npm run build`, `npm pack`, the tarball installed into fresh Vite
 * apps (as npm would: the packed files under node_modules/webinfer; vite, openai and the optional
 * peer onnxruntime-web linked from this repository's node_modules, since the registry is slow and
 * the versions are the same), built by `vite build` with the config the README gives, served as
 * static files with COOP/COEP, and run in headless Chromium. Also Vite's dev server, the Service
 * Worker engine (sw.js bundled as its own entry), a missing worker, and a webpack 5 app (webpack
 * is no dependency of this repository: installed from the registry once into ~/.cache/webinfer,
 * about 40 s).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, watchPage, ISOLATION_HEADERS } from './helpers/browser.js';
import { GENERATED, ROOT, STORIES_GGUF, storiesReference } from './helpers/paths.js';

const MB = 1e6;
/** The budget for an app that runs GGUF models: webinfer's JavaScript + WebAssembly, structured output included. */
const GGUF_APP_BUDGET = 6 * MB;

let work: string;
let browser: Browser;

/** The main page: createFetch and the openai SDK, the way the README shows. */
const MAIN_JS = `
import OpenAI from 'openai';
import { createFetch } from 'webinfer';

const SCHEMA = { type: 'object', properties: { ok: { type: 'boolean' }, n: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['ok', 'n'], additionalProperties: false };
const TOOLS = [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Rome'] } }, required: ['city'], additionalProperties: false } } }];

window.app = {
  /** Greedy text, and each structured-output kind, on one engine. */
  async run(options) {
    const fetch = createFetch({ model: '/stories260K.gguf', ...options });
    try {
      const info = await fetch.ready;
      const client = new OpenAI({ baseURL: 'http://webinfer.local/v1', apiKey: 'none', fetch, dangerouslyAllowBrowser: true });
      const text = (await client.completions.create({ model: info.id, prompt: '', max_tokens: 48, temperature: 0 })).choices[0].text;
      const chat = (extra) => client.chat.completions.create({ model: info.id, messages: [{ role: 'user', content: 'x' }], max_tokens: 60, temperature: 1, seed: 3, ...extra });
      const json = (await chat({ response_format: { type: 'json_schema', json_schema: { name: 's', schema: SCHEMA } } })).choices[0].message.content;
      const choice = (await chat({ guided_choice: ['yes', 'no'] })).choices[0].message.content;
      const call = (await chat({ tools: TOOLS, tool_choice: 'required' })).choices[0].message.tool_calls?.[0]?.function;
      return { info, text, json, choice, call, stats: await fetch.stats() };
    } finally {
      await fetch.dispose();
    }
  },
  /** What a failing start looks like from the page: ready's error, and whether dispose() settles. */
  async failure(options) {
    const fetch = createFetch({ model: '/stories260K.gguf', ...options });
    const error = await fetch.ready.then(() => null, (e) => e.message);
    const res = await fetch('http://webinfer.local/v1/models');
    const body = await res.json();
    await fetch.dispose();
    return { error, status: res.status, body, disposed: true };
  },
};
window.appReady = true;
`;

const ORT_JS = `
import 'webinfer/ort';
import { createFetch } from 'webinfer';

window.app = {
  async run(options) {
    const fetch = createFetch({ model: '/onnx/stories260K/', onnxVariant: 'fp32', ...options });
    try {
      const info = await fetch.ready;
      const post = async (path, body) => (await fetch('http://webinfer.local/v1/' + path, { method: 'POST', body: JSON.stringify(body) })).json();
      const text = (await post('completions', { prompt: '', max_tokens: 48, temperature: 0 })).choices[0].text;
      const schema = { type: 'object', properties: { ok: { type: 'boolean' }, n: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['ok', 'n'], additionalProperties: false };
      const json = (await post('chat/completions', { messages: [{ role: 'user', content: 'x' }], max_tokens: 60, temperature: 1, seed: 3, response_format: { type: 'json_schema', json_schema: { name: 's', schema } } })).choices[0].message.content;
      return { info, text, json };
    } finally {
      await fetch.dispose();
    }
  },
};
window.appReady = true;
`;

/** The Service Worker, bundled by the app as an entry of its own, unhashed at the root. */
const SW_JS = `
import { installServiceWorker } from 'webinfer/sw';
installServiceWorker({ model: '/stories260K.gguf' });
`;

/** A page that registers the Service Worker engine and waits for `ready`. */
const SW_PAGE_JS = `
import { registerServiceWorkerEngine } from 'webinfer';
const engine = await registerServiceWorkerEngine('/sw.js');
window.swReady = engine.ready.then((info) => info, (e) => ({ error: e.message }));
window.appReady = true;
`;

/** A page that never imports webinfer: plain fetch against /v1 of its origin, once the worker controls it. */
const PLAIN_HTML = `<!doctype html><meta charset="utf-8"><title>plain</title>
<script>
  window.complete = async () => {
    const r = await fetch('/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: '', max_tokens: 40, temperature: 0 }) });
    return (await r.json()).choices[0].text;
  };
</script>`;

const html = (script: string) => `<!doctype html><meta charset="utf-8"><title>app</title><script type="module" src="./${script}"></script>`;

/** The Vite config the README gives: sw.js its own unhashed entry; webinfer left out of the dev server's dependency optimizer. */
const VITE_CONFIG = `
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
const here = (f) => fileURLToPath(new URL(f, import.meta.url));
export default defineConfig({
  optimizeDeps: { exclude: ['webinfer'] },
  build: {
    rollupOptions: {
      input: { main: here('index.html'), swpage: here('sw.html'), plain: here('plain.html'), sw: here('sw.js') },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
  worker: { format: 'es' },
});
`;

function link(app: string, name: string, from = join(ROOT, 'node_modules')): void {
  const to = join(app, 'node_modules', name);
  mkdirSync(join(to, '..'), { recursive: true });
  symlinkSync(join(from, name), to, 'dir');
}

const WEBPACK_VERSION = '5.113.0';

/** webpack 5, installed once from the registry into the cache (not a dependency of this repository). */
function installWebpack(): string {
  const dir = join(process.env.WEBINFER_CACHE ?? join(homedir(), '.cache', 'webinfer'), `webpack-${WEBPACK_VERSION}`);
  if (existsSync(join(dir, 'node_modules', 'webpack', 'package.json'))) return join(dir, 'node_modules');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'webpack-for-webinfer-tests', private: true }));
  execFileSync('npm', ['install', `webpack@${WEBPACK_VERSION}`, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel', 'error'], { cwd: dir, stdio: 'inherit' });
  return join(dir, 'node_modules');
}

/** A fresh app: the packed webinfer unpacked where npm would put it, its files, the model in public/. */
function makeApp(name: string, tarball: string, files: Record<string, string>, links: string[]): string {
  const app = join(work, name);
  mkdirSync(join(app, 'node_modules', 'webinfer'), { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', join(app, 'node_modules', 'webinfer'), '--strip-components=1']);
  for (const l of ['vite', ...links]) link(app, l);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(app, f), text);
  mkdirSync(join(app, 'public'), { recursive: true });
  cpSync(STORIES_GGUF, join(app, 'public', 'stories260K.gguf'));
  return app;
}

function viteBuild(app: string): void {
  execFileSync(process.execPath, [join(app, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: app, stdio: 'inherit' });
}

/** Bytes of the emitted app by kind; `webinfer` counts the files that came from the package (or its worker). */
function emitted(dir: string): Record<string, number> {
  const sizes: Record<string, number> = { js: 0, wasm: 0, other: 0 };
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const kind = f.endsWith('.js') || f.endsWith('.mjs') ? 'js' : f.endsWith('.wasm') ? 'wasm' : 'other';
        sizes[kind]! += statSync(p).size;
      }
    }
  };
  walk(dir);
  return sizes;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/** A static host with COOP/COEP (threads), as the README asks; `mounts` serve other folders under a path prefix (a CDN stand-in). */
async function serve(dir: string, mounts: Record<string, string> = {}): Promise<{ url: string; requested: string[]; close(): Promise<void> }> {
  const requested: string[] = [];
  const server: Server = createHttpServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url!, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    requested.push(path);
    const mount = Object.keys(mounts).find((m) => path.startsWith(m));
    const file = mount ? join(mounts[mount]!, path.slice(mount.length)) : join(dir, path.endsWith('/') ? path + 'index.html' : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...ISOLATION_HEADERS, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requested,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function open(context: BrowserContext, url: string): Promise<{ page: Page; log: string[] }> {
  const page = await context.newPage();
  const log = watchPage(page);
  await page.goto(url);
  await page.waitForFunction(() => (window as any).appReady, null, { timeout: 60_000 });
  return { page, log };
}

const isAnswer = (text: string) => /^\{"ok": (true|false), "n": [0-9]\}$/.test(text);
const reference = storiesReference();

let gguf: string;
let tarballPath: string;

beforeAll(async () => {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  work = mkdtempSync(join(tmpdir(), 'webinfer-app-'));
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
  const tarball = join(work, packed);
  console.log(`packed: ${packed}, ${(statSync(tarball).size / MB).toFixed(2)} MB`);
  tarballPath = tarball;
  gguf = makeApp('gguf-app', tarball, { 'index.html': html('main.js'), 'main.js': MAIN_JS, 'sw.html': html('sw-page.js'), 'sw-page.js': SW_PAGE_JS, 'plain.html': PLAIN_HTML, 'sw.js': SW_JS, 'vite.config.js': VITE_CONFIG }, ['openai']);
  viteBuild(gguf);
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a Vite app built with the packed library (GGUF)', () => {
  let server: { url: string; close(): Promise<void> };
  let context: BrowserContext;
  beforeAll(async () => {
    server = await serve(join(gguf, 'dist'));
    context = await browser.newContext();
  });
  afterAll(async () => {
    await context?.close();
    await server?.close();
  });

  it('emits at most 6 MB of JavaScript and WebAssembly from webinfer, structured output included', () => {
    const all = emitted(join(gguf, 'dist'));
    const model = statSync(join(gguf, 'dist', 'stories260K.gguf')).size;
    // Everything but the model came from webinfer and the openai SDK (the app's own code is a few lines).
    console.log(`GGUF app dist/: js ${(all.js! / MB).toFixed(2)} MB, wasm ${(all.wasm! / MB).toFixed(2)} MB, other ${((all.other! - model) / MB).toFixed(2)} MB (+ the ${(model / MB).toFixed(2)} MB model)`);
    expect(all.js! + all.wasm!).toBeLessThanOrEqual(GGUF_APP_BUDGET);
    expect(readdirSync(join(gguf, 'dist', 'assets')).some((f) => f.startsWith('ort-wasm'))).toBe(false);
  });

  it.each([
    ['wasm', { backend: 'wasm' }],
    ['wgsl', { backend: 'wgsl' }],
    ['wgsl with GPU sampling (decode steps chained)', { backend: 'wgsl', gpuSampling: true }],
    ['wasm without a worker (worker: false)', { backend: 'wasm', worker: false }],
  ])('%s: generation, json_schema, guided_choice and tools through the openai SDK', async (_, options) => {
    const { page, log } = await open(context, `${server.url}/`);
    const r = await page.evaluate((o) => (window as any).app.run(o), options).catch((e: Error) => {
      throw new Error(`${e.message}\n${log.join('\n')}`);
    });
    await page.close();
    expect(r.info.backend).toBe(options.backend);
    expect(reference.startsWith(r.text) && r.text.length > 100, r.text).toBe(true);
    expect(r.json).toSatisfy(isAnswer);
    expect(['yes', 'no']).toContain(r.choice);
    expect(r.call?.name).toBe('get_weather');
    expect(['Paris', 'Rome']).toContain(JSON.parse(r.call.arguments).city);
    if ('gpuSampling' in options) expect(r.stats.chained).toBeGreaterThan(0);
  }, 120_000);

  it('a missing worker script rejects ready, naming the file looked for; requests fail with 503; dispose() settles', async () => {
    const page = await context.newPage();
    await page.route(/\/worker-[^/]*\.js$/, (route) => route.fulfill({ status: 404, body: 'not here' }));
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => (window as any).appReady);
    const r = await page.evaluate(() => (window as any).app.failure({}));
    await page.close();
    expect(r.error).toMatch(/Web Worker did not start.*Looked for: http:\/\/127\.0\.0\.1:\d+\/assets\/worker-[^ ]+\.js/);
    expect(r.status).toBe(503);
    expect(r.body.error.message).toContain('Web Worker did not start');
    expect(r.disposed).toBe(true);
  }, 60_000);

  it('the Service Worker engine: a page that never imports webinfer, ready after the worker was stopped, an offline reload', async () => {
    const swContext = await browser.newContext();
    try {
      const { page, log } = await open(swContext, `${server.url}/sw.html`);
      const first = await page.evaluate(() => (window as any).swReady);
      expect(first, log.join('\n')).toMatchObject({ backend: 'wasm' });
      const plain = await swContext.newPage();
      await plain.goto(`${server.url}/plain.html`);
      const text = await plain.evaluate(() => (window as any).complete());
      expect(reference.startsWith(text) && text.length > 80, text).toBe(true);
      // The browser stops an idle Service Worker; a return visit must still get `ready`.
      const cdp = await swContext.newCDPSession(page);
      await cdp.send('ServiceWorker.enable');
      await cdp.send('ServiceWorker.stopAllWorkers');
      await page.reload();
      await page.waitForFunction(() => (window as any).appReady);
      const again = await Promise.race([page.evaluate(() => (window as any).swReady), new Promise((r) => setTimeout(() => r('timed out'), 30_000))]);
      expect(again, log.join('\n')).toMatchObject({ backend: 'wasm' });
      // Offline: the app's files come from the worker's copy, the model from its cache.
      await swContext.setOffline(true);
      await plain.reload();
      const offline = await plain.evaluate(() => (window as any).complete());
      expect(offline).toBe(text);
    } finally {
      await swContext.close();
    }
  }, 120_000);
});

describe('a Vite app built with the packed library and webinfer/ort', () => {
  let server: { url: string; requested: string[]; close(): Promise<void> };
  let context: BrowserContext;
  beforeAll(async () => {
    const ort = makeApp('ort-app', tarballPath, { 'index.html': html('main.js'), 'main.js': ORT_JS, 'vite.config.js': "export default { optimizeDeps: { exclude: ['webinfer', 'onnxruntime-web'] }, worker: { format: 'es' } };" }, ['onnxruntime-web']);
    cpSync(join(GENERATED, 'onnx', 'stories260K'), join(ort, 'public', 'onnx', 'stories260K'), { recursive: true });
    viteBuild(ort);
    server = await serve(join(ort, 'dist'), { '/ort-cdn/': join(ROOT, 'node_modules', 'onnxruntime-web', 'dist') });
    context = await browser.newContext();
    const all = emitted(join(ort, 'dist'));
    console.log(`ort app dist/: js ${(all.js! / MB).toFixed(2)} MB, wasm ${(all.wasm! / MB).toFixed(2)} MB, other ${(all.other! / MB).toFixed(2)} MB`);
  });
  afterAll(async () => {
    await context?.close();
    await server?.close();
  });

  // ORT's .wasm: on WebGPU where the app's bundler emitted it; on wasm from `ortWasmPaths` (a CDN stand-in).
  it.each([
    ['wasm (its .wasm from ortWasmPaths)', { executionProvider: 'wasm', ortWasmPaths: '/ort-cdn/' }],
    ['webgpu (the WGSL sampler on its device)', { executionProvider: 'webgpu', gpuSampling: true }],
  ])('ort on the %s execution provider: the reference text, and json_schema', async (_, options) => {
    const { page, log } = await open(context, `${server.url}/`);
    const before = server.requested.length;
    const r = await page.evaluate((o) => (window as any).app.run(o), options).catch((e: Error) => {
      throw new Error(`${e.message}\n${log.join('\n')}`);
    });
    await page.close();
    expect(r.info.backend).toBe('ort');
    expect(reference.startsWith(r.text) && r.text.length > 100, r.text).toBe(true);
    expect(r.json).toSatisfy(isAnswer);
    const wasm = server.requested.slice(before).filter((p) => p.endsWith('.wasm'));
    expect(wasm.some((p) => p.startsWith('/ort-cdn/ort-wasm-simd-threaded')), wasm.join(' ')).toBe('ortWasmPaths' in options);
    expect(wasm.some((p) => p.startsWith('/assets/ort-wasm-simd-threaded')), wasm.join(' ')).toBe(!('ortWasmPaths' in options));
  }, 120_000);

});

describe("Vite's dev server over the packed library", () => {
  async function dev(config: Record<string, unknown>): Promise<{ url: string; close(): Promise<void> }> {
    const { createServer } = await import('vite');
    const server = await createServer({ root: gguf, logLevel: 'error', ...config, server: { port: 0, host: '127.0.0.1', headers: ISOLATION_HEADERS, fs: { allow: [gguf, ROOT] } } });
    await server.listen();
    const { port } = server.httpServer!.address() as { port: number };
    return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
  }

  it('with the README config (optimizeDeps.exclude webinfer): generation and structured output in the worker', async () => {
    const server = await dev({});
    const context = await browser.newContext();
    try {
      const { page, log } = await open(context, `${server.url}/`);
      const r = await page.evaluate(() => (window as any).app.run({ backend: 'wasm' })).catch((e: Error) => {
        throw new Error(`${e.message}\n${log.join('\n')}`);
      });
      expect(reference.startsWith(r.text) && r.text.length > 100, r.text).toBe(true);
      expect(r.json).toSatisfy(isAnswer);
      expect(['yes', 'no']).toContain(r.choice);
    } finally {
      await context.close();
      await server.close();
    }
  }, 120_000);

  it('without it (webinfer pre-bundled, its worker not emitted): ready rejects, naming the worker URL, and dispose() settles', async () => {
    const server = await dev({ configFile: false, worker: { format: 'es' } });
    const context = await browser.newContext();
    try {
      const { page } = await open(context, `${server.url}/`);
      const r = await page.evaluate(() => (window as any).app.failure({ backend: 'wasm' }));
      expect(r.error).toMatch(/Web Worker did not start.*Looked for: http:\/\/127\.0\.0\.1:\d+\/node_modules\/\.vite\/.*optimizeDeps\.exclude/);
      expect(r.status).toBe(503);
    } finally {
      await context.close();
      await server.close();
    }
  }, 60_000);
});

describe('a webpack 5 app with the packed library', () => {
  let server: { url: string; close(): Promise<void> };
  let context: BrowserContext;
  beforeAll(async () => {
    const modules = installWebpack();
    const app = makeApp('webpack-app', tarballPath, { 'main.js': MAIN_JS }, ['openai']);
    link(app, 'webpack', modules);
    const { default: webpack } = (await import(join(modules, 'webpack', 'lib', 'index.js'))) as { default: (c: object, cb: (e: Error | null, s?: { hasErrors(): boolean; toString(o: object): string }) => void) => void };
    // webpack's defaults: no loader or rule for webinfer; it follows new Worker(new URL(...)) and new URL('*.wasm') itself.
    await new Promise<void>((resolve, reject) =>
      webpack({ mode: 'production', context: app, entry: './main.js', output: { path: join(app, 'dist'), filename: '[name].js' }, performance: { hints: false } }, (e, stats) => {
        if (e || stats?.hasErrors()) reject(e ?? new Error(stats!.toString({ all: false, errors: true })));
        else resolve();
      }),
    );
    writeFileSync(join(app, 'dist', 'index.html'), html('main.js'));
    cpSync(STORIES_GGUF, join(app, 'dist', 'stories260K.gguf'));
    const all = emitted(join(app, 'dist'));
    console.log(`webpack app dist/: js ${(all.js! / MB).toFixed(2)} MB, wasm ${(all.wasm! / MB).toFixed(2)} MB`);
    server = await serve(join(app, 'dist'));
    context = await browser.newContext();
  }, 180_000);
  afterAll(async () => {
    await context?.close();
    await server?.close();
  });

  it('wasm: generation, json_schema, guided_choice and tools', async () => {
    const { page, log } = await open(context, `${server.url}/`);
    const r = await page.evaluate(() => (window as any).app.run({ backend: 'wasm' })).catch((e: Error) => {
      throw new Error(`${e.message}\n${log.join('\n')}`);
    });
    await page.close();
    expect(reference.startsWith(r.text) && r.text.length > 100, r.text).toBe(true);
    expect(r.json).toSatisfy(isAnswer);
    expect(['yes', 'no']).toContain(r.choice);
    expect(r.call?.name).toBe('get_weather');
  }, 120_000);
});
