/**
 * Benchmark page: webinfer's backends next to wllama (llama.cpp in WebAssembly) on the same GGUF
 * files, and next to transformers.js on the same exported ONNX directories.
 */
import { Wllama } from '@wllama/wllama';
import { measure, measureConstrained, summarise, WARMUP_MS, WARMUP_TOKENS, type BenchCase, type BenchResult } from './measure.js';
import { measureKernels } from './wasm-kernels.js';
import { measureBatch } from './batch-measure.js';

/** Repeats a warm-up until WARMUP_MS have passed (see measure.ts): the same for every engine. */
async function warmUp(once: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  do await once();
  while (performance.now() - t0 < WARMUP_MS);
}

async function wllama(c: BenchCase): Promise<BenchResult> {
  const t0 = performance.now();
  const w = new Wllama({ default: '/node_modules/@wllama/wllama/esm/wasm/wllama.wasm' }, { suppressNativeLog: true });
  const blob = await (await fetch(c.model)).blob();
  await w.loadModel([blob], { n_ctx: 512, n_threads: 1, n_gpu_layers: 0, seed: 1 });
  const loadMs = performance.now() - t0;
  await warmUp(() => w.createCompletion({ prompt: c.prompt, max_tokens: WARMUP_TOKENS, temperature: 0, ignore_eos: true }));
  const s = performance.now();
  let first = 0;
  let text = '';
  let promptTokens = 0;
  const stream = await w.createCompletion({ prompt: '\n' + c.prompt, max_tokens: c.decodeTokens, temperature: 0, ignore_eos: true, stream: true });
  for await (const chunk of stream) {
    if (!first) first = performance.now();
    text += chunk.choices[0]?.text ?? '';
    if (chunk.usage) promptTokens = chunk.usage.prompt_tokens;
  }
  const end = performance.now();
  await w.exit();
  return summarise(c, { engine: 'wllama', backend: 'wasm', device: 'CPU (WebAssembly, 1 thread)', loadMs, promptTokens, start: s, first, end, text });
}

/** transformers.js on the same exported ONNX directory, greedy, streamed token by token. */
async function transformersjs(c: BenchCase & { device: 'webgpu' | 'wasm'; dtype: string }): Promise<BenchResult> {
  const { env, AutoTokenizer, AutoModelForCausalLM } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  const dir = c.model.replace(/\/$/, '');
  env.localModelPath = dir.slice(0, dir.lastIndexOf('/') + 1);
  const name = dir.slice(dir.lastIndexOf('/') + 1);
  (env.backends.onnx as { wasm?: { wasmPaths?: string } }).wasm!.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  const t0 = performance.now();
  const tokenizer = await AutoTokenizer.from_pretrained(name);
  const model = await AutoModelForCausalLM.from_pretrained(name, { device: c.device, dtype: c.dtype as 'fp32' });
  const loadMs = performance.now() - t0;
  const generate = async (prompt: string, n: number, onToken?: () => void) => {
    const inputs = tokenizer(prompt);
    let puts = 0;
    const streamer = {
      put() {
        if (puts++ > 0) onToken?.(); // the first put is the prompt
      },
      end() {},
    };
    const out = (await model.generate({ ...inputs, max_new_tokens: n, min_new_tokens: n, do_sample: false, streamer } as never)) as { tolist(): bigint[][] };
    const ids = out.tolist()[0]!.map(Number);
    const promptLen = (inputs.input_ids as { dims: number[] }).dims[1]!;
    return { text: tokenizer.decode(ids.slice(promptLen), { skip_special_tokens: true }), promptLen };
  };
  await warmUp(() => generate(c.prompt, WARMUP_TOKENS));
  const s = performance.now();
  let first = 0;
  const { text, promptLen } = await generate('\n' + c.prompt, c.decodeTokens, () => {
    if (!first) first = performance.now();
  });
  const end = performance.now();
  await model.dispose();
  return summarise(c, { engine: 'transformers.js', backend: `onnxruntime-web (${c.device} EP)`, loadMs, promptTokens: promptLen, start: s, first, end, text });
}

async function adapter(): Promise<string> {
  const a = await navigator.gpu?.requestAdapter();
  const i = a?.info;
  return i ? [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') : 'no WebGPU';
}

(window as unknown as { bench: unknown }).bench = { measure, constrained: measureConstrained, wllama, transformersjs, adapter, kernels: () => measureKernels(), batch: measureBatch };
