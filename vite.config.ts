/**
 * Two builds from one config:
 *   vite / vite build          the demo (demo/ → dist-demo/), with the embedded stories260K model
 *   vite build --mode lib      the library: dist/webinfer.js and its engine worker dist/worker.js,
 *                              dist/ort.js and dist/ort-worker.js (webinfer/ort), dist/sw.js (the
 *                              Service Worker engine, webinfer/sw), the CLI (dist/cli.js); shared
 *                              code in dist/chunks/, .wasm and xgrammar in dist/assets/
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/**
 * The library build leaves every worker and asset reference as the literal
 * `new URL('./file', import.meta.url)` (inside `new Worker(...)` for workers), relative to the
 * chunk that holds it, so that the app's bundler (Vite, Rollup, webpack, Parcel) follows it and
 * emits the file and everything it imports. Vite's own handling would instead bundle the worker
 * into a closed file behind `new URL(new URL('assets/…', import.meta.url).href, …)`, which no
 * bundler follows (issue 21). So, before Vite's plugins: each `new URL('<relative>', import.meta.url)`
 * in src/ becomes a placeholder; a .ts target must be an entry (the workers), any other file is
 * emitted unhashed under assets/ (the app's bundler hashes it); after bundling each placeholder
 * becomes the literal URL from its chunk to the file.
 */
function literalUrls(): Plugin {
  const srcDir = `${root}src/`;
  const assets = new Map<string, string>(); // absolute path → its file name in dist/
  const name = (abs: string) => (abs.includes('/@mlc-ai/web-xgrammar/') ? 'assets/xgrammar.js' : `assets/${basename(abs)}`);
  return {
    name: 'webinfer-literal-urls',
    apply: 'build',
    enforce: 'pre',
    transform(code, id) {
      if (!id.startsWith(srcDir) || !id.endsWith('.ts')) return;
      let changed = false;
      const out = code.replace(/new URL\(\s*(['"])(\.{1,2}\/[^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g, (_, _q, rel: string) => {
        const abs = resolve(dirname(id), rel);
        if (!abs.endsWith('.ts') && !assets.has(abs)) {
          assets.set(abs, name(abs));
          // A copied script's source-map comment would point at a map that is not copied.
          const source = abs.endsWith('.js') ? readFileSync(abs, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n') : readFileSync(abs);
          this.emitFile({ type: 'asset', fileName: name(abs), source });
        }
        changed = true;
        return `__WEBINFER_URL__(${JSON.stringify(abs)})`;
      });
      return changed ? { code: out, map: null } : undefined;
    },
    generateBundle(_, bundle) {
      const entries = new Map<string, string>();
      for (const c of Object.values(bundle)) if (c.type === 'chunk' && c.isEntry && c.facadeModuleId) entries.set(c.facadeModuleId, c.fileName);
      for (const c of Object.values(bundle)) {
        if (c.type !== 'chunk') continue;
        c.code = c.code.replace(/__WEBINFER_URL__\("([^"]+)"\)/g, (_, abs: string) => {
          const target = abs.endsWith('.ts') ? entries.get(abs) : assets.get(abs);
          if (!target) this.error(`${c.fileName}: new URL('${abs}') points at a module that is not an entry of the library build`);
          const rel = relative(dirname(c.fileName), target);
          return `new URL(${JSON.stringify(rel.startsWith('.') ? rel : `./${rel}`)}, import.meta.url)`;
        });
      }
    },
  };
}

/** The demo's Service Worker (demo/sw.js) must sit at the site's root to control every page of it. */
function demoServiceWorker(): Plugin {
  return {
    name: 'webinfer-demo-sw',
    apply: 'build',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: readFileSync(`${root}demo/sw.js`) });
    },
  };
}

export default defineConfig(({ mode }) => {
  if (mode === 'lib') {
    return {
      publicDir: false,
      plugins: [literalUrls()],
      build: {
        outDir: 'dist',
        emptyOutDir: true,
        sourcemap: true,
        target: 'es2022',
        // The app's bundler minifies; readable output keeps the literal URLs and stack traces plain.
        minify: false,
        lib: { entry: { webinfer: 'src/index.ts', ort: 'src/ort.ts', worker: 'src/worker/worker.ts', 'ort-worker': 'src/worker/ort-worker.ts', sw: 'src/sw/index.ts', cli: 'src/cli/main.ts' }, formats: ['es'] },
        rollupOptions: {
          // onnxruntime-web is an optional peer: the app's bundler resolves it, for `webinfer/ort` only.
          external: [/^node:/, /^onnxruntime-web(\/|$)/],
          output: { entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
        },
      },
    };
  }
  return {
    root: 'demo',
    base: './',
    publicDir: false,
    plugins: [demoServiceWorker()],
    assetsInclude: ['**/*.gguf'],
    // Cross-origin isolated, so the wasm backend can run threads (SharedArrayBuffer).
    server: { fs: { allow: [root] }, headers: ISOLATION_HEADERS },
    preview: { headers: ISOLATION_HEADERS },
    build: { outDir: '../dist-demo', emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0 },
    worker: { format: 'es' },
  };
});
