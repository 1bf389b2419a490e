/**
 * Two builds from one config:
 *   vite / vite build          the demo (demo/ → dist-demo/), with the embedded stories260K model
 *   vite build --mode lib      the library (src/index.ts → dist/webinfer.js, its worker beside it;
 *                              src/sw/index.ts → dist/sw.js, the Service Worker engine)
 *                              and the CLI (src/cli/main.ts → dist/cli.js)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/**
 * onnxruntime-web's default browser entry inlines its WebAssembly (tens of MB of JavaScript). The
 * builds use the entry that fetches the .wasm instead, and this plugin ships those files in
 * assets/ort/, where the ort backend points onnxruntime-web (`__WEBINFER_ORT_WASM__`).
 */
function ortWasmAssets(): Plugin {
  // jsep: the default build's WebGPU; plain: its WASM; asyncify/jspi: the native WebGPU build (onnxruntime-web/webgpu).
  const files = ['jsep.', '', 'asyncify.', 'jspi.'].flatMap((v) => [`ort-wasm-simd-threaded.${v}wasm`, `ort-wasm-simd-threaded.${v}mjs`]);
  return {
    name: 'webinfer-ort-wasm-assets',
    apply: 'build',
    generateBundle() {
      for (const f of files) this.emitFile({ type: 'asset', fileName: `assets/ort/${f}`, source: readFileSync(`${root}node_modules/onnxruntime-web/dist/${f}`) });
    },
  };
}

/**
 * xgrammar (structured output) is loaded on first use as a script of its own, imported afresh when
 * an instance has to be replaced (src/engine/grammar/xgrammar.ts): the builds ship it unbundled
 * in assets/xgrammar/, where `__WEBINFER_XGRAMMAR__` points.
 */
function xgrammarAsset(): Plugin {
  return {
    name: 'webinfer-xgrammar-asset',
    apply: 'build',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'assets/xgrammar/xgrammar.js', source: readFileSync(`${root}node_modules/@mlc-ai/web-xgrammar/lib/index.js`) });
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

const ortBuild = {
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', 'module', 'browser', 'development|production'] },
  define: { __WEBINFER_ORT_WASM__: JSON.stringify('./ort/'), __WEBINFER_XGRAMMAR__: JSON.stringify('./xgrammar/xgrammar.js') },
};

export default defineConfig(({ mode, command }) => {
  if (mode === 'lib') {
    return {
      ...ortBuild,
      // Relative URLs: the worker and wasm files are found next to the chunks wherever dist/ is served.
      base: './',
      publicDir: false,
      plugins: [ortWasmAssets(), xgrammarAsset()],
      build: {
        outDir: 'dist',
        emptyOutDir: true,
        sourcemap: true,
        target: 'es2022',
        lib: { entry: { webinfer: 'src/index.ts', sw: 'src/sw/index.ts', cli: 'src/cli/main.ts' }, formats: ['es'] },
        rollupOptions: { external: [/^node:/, 'comlink', '@huggingface/jinja', '@huggingface/tokenizers', /^onnxruntime-web(\/|$)/, /^@mlc-ai\/web-xgrammar/] },
      },
      worker: { format: 'es', plugins: () => [ortWasmAssets(), xgrammarAsset()] },
    };
  }
  return {
    ...(command === 'build' ? ortBuild : {}),
    root: 'demo',
    base: './',
    publicDir: false,
    plugins: [demoServiceWorker()],
    assetsInclude: ['**/*.gguf'],
    // Cross-origin isolated, so the wasm backend can run threads (SharedArrayBuffer).
    server: { fs: { allow: [root] }, headers: ISOLATION_HEADERS },
    preview: { headers: ISOLATION_HEADERS },
    build: { outDir: '../dist-demo', emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0 },
    worker: { format: 'es', plugins: () => [ortWasmAssets(), xgrammarAsset()] },
  };
});
