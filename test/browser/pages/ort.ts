/** Test page: the ort backend on an exported ONNX directory, in the Web Worker, WebGPU or WASM EP. */
import '../../../src/ort.js';
import { createFetch } from '../../../src/index.js';

function start(variant: string, executionProvider?: 'webgpu' | 'wasm', load: object = {}) {
  return createFetch({ model: '/test/.generated/onnx/stories260K/', onnxVariant: variant, ...(executionProvider ? { executionProvider } : {}), enableLogprob: true, ...load });
}

(window as unknown as { ortTest: unknown }).ortTest = {
  /** `extra`: request fields; `load`: createFetch options (e.g. gpuSampling). */
  async greedy(variant: string, executionProvider?: 'webgpu' | 'wasm', extra: object = {}, load: object = {}) {
    const f = start(variant, executionProvider, load);
    try {
      const info = await f.ready;
      const res = await (await f('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 256, temperature: 0, ...extra }) })).json();
      return { info, text: res.choices[0].text as string, res };
    } finally {
      await f.dispose();
    }
  },
  /** A load that fails: the `ready` rejection's message, and a request's HTTP status and body. */
  async loadFailure(variant: string, executionProvider: 'webgpu' | 'wasm') {
    const f = start(variant, executionProvider);
    try {
      const message = await f.ready.then(() => 'loaded', (e: Error) => e.message);
      const res = await f('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 4 }) });
      return { message, status: res.status, body: await res.json() };
    } finally {
      await f.dispose();
    }
  },
};

/**
 * A GroupQueryAttention export (onnxruntime-genai style) on ORT's WebGPU provider against the CPU
 * reference backend on the same weights: token ids of greedy runs, the second sharing a prefix
 * with the first (the runner rewinds the GPU cache to it).
 */
(window as unknown as { ortGenai: unknown }).ortGenai = {
  async compare(ortWebgpu: 'native' | 'jsep') {
    const requests = [
      { prompt: [1, 300, 17, 259, 450, 88, 12], max_tokens: 40 },
      { prompt: [1, 300, 17, 259, 9, 8, 7, 6], max_tokens: 30 },
    ];
    const run = async (f: ReturnType<typeof createFetch>) => {
      const out: number[][] = [];
      for (const r of requests) {
        const res = await (await f('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ ...r, temperature: 0, ignore_eos: true, return_token_ids: true }) })).json();
        if (!res.choices) throw new Error(JSON.stringify(res));
        out.push(res.choices[0].completion_token_ids);
      }
      return out;
    };
    const ort = createFetch({ model: '/test/.generated/onnx/llama-genai/', onnxVariant: 'fp32', executionProvider: 'webgpu', ortWebgpu });
    const cpu = createFetch({ model: '/test/.generated/llama-hf/', backend: 'cpu' });
    try {
      const info = await ort.ready;
      await cpu.ready;
      return { info, ort: await run(ort), cpu: await run(cpu) };
    } finally {
      await ort.dispose();
      await cpu.dispose();
    }
  },
};
