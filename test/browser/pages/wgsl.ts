/** Test page: the wgsl backend (asked for: `auto` picks wasm over SwiftShader), in the Web Worker. */
import { createFetch } from '../../../src/index.js';

const localFetch = createFetch({ model: '/models/stories260K.gguf', maxModelLen: 512, backend: 'wgsl' });

(window as unknown as { wgslTest: unknown }).wgslTest = {
  ready: () => localFetch.ready,
  async greedy(maxTokens: number) {
    const res = await localFetch('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: maxTokens, temperature: 0 }) });
    return (await res.json()).choices[0].text as string;
  },
};
