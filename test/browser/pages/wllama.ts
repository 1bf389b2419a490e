/**
 * Test page: llama.cpp itself (compiled to WebAssembly by @wllama/wllama) loads our converted
 * models/stories260K.gguf and decodes greedily, proving the file is a standard GGUF.
 */
import { Wllama } from '@wllama/wllama';

async function greedy(maxTokens: number): Promise<string> {
  const wllama = new Wllama({ default: '/node_modules/@wllama/wllama/esm/wasm/wllama.wasm' }, { suppressNativeLog: true });
  const blob = await (await fetch('/models/stories260K.gguf')).blob();
  await wllama.loadModel([blob], { n_ctx: 512, n_threads: 1, n_gpu_layers: 0, seed: 1 });
  const res = await wllama.createCompletion({ prompt: '', max_tokens: maxTokens, temperature: 0 });
  await wllama.exit();
  return res.choices[0]!.text;
}

(window as unknown as { wllamaTest: unknown }).wllamaTest = { greedy };
