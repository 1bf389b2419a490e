/**
 * Two builds from one config:
 *   vite / vite build          the demo (demo/ → dist-demo/), with the embedded stories260K model
 *   vite build --mode lib      the library (src/index.ts → dist/webinfer.js, its worker beside it)
 *                              and the CLI (src/cli/main.ts → dist/cli.js)
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig(({ mode }) => {
  if (mode === 'lib') {
    return {
      publicDir: false,
      build: {
        outDir: 'dist',
        emptyOutDir: true,
        sourcemap: true,
        target: 'es2022',
        lib: { entry: { webinfer: 'src/index.ts', cli: 'src/cli/main.ts' }, formats: ['es'] },
        rollupOptions: { external: [/^node:/, 'comlink', '@huggingface/jinja', '@huggingface/tokenizers', 'onnxruntime-web'] },
      },
      worker: { format: 'es' },
    };
  }
  return {
    root: 'demo',
    base: './',
    publicDir: false,
    assetsInclude: ['**/*.gguf'],
    server: { fs: { allow: [root] } },
    build: { outDir: '../dist-demo', emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0 },
    worker: { format: 'es' },
  };
});
