/** Test page: the ort backend on an exported ONNX directory, in the Web Worker, WebGPU or WASM EP. */
import { createFetch } from '../../../src/index.js';

function start(variant: string, executionProvider?: 'webgpu' | 'wasm') {
  return createFetch({ model: '/test/.generated/onnx/stories260K/', onnxVariant: variant, ...(executionProvider ? { executionProvider } : {}), enableLogprob: true });
}

(window as unknown as { ortTest: unknown }).ortTest = {
  async greedy(variant: string, executionProvider?: 'webgpu' | 'wasm', extra: object = {}) {
    const f = start(variant, executionProvider);
    try {
      const info = await f.ready;
      const res = await (await f('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 256, temperature: 0, ...extra }) })).json();
      return { info, text: res.choices[0].text as string, res };
    } finally {
      await f.dispose();
    }
  },
};
