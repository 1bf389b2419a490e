/**
 * Native llama.cpp as a benchmark row: node-llama-cpp's prebuilt CPU build (pinned 3.21.1), or its
 * prebuilt Vulkan build with every layer offloaded (`gpu: 'vulkan'`), on the same GGUF file,
 * prompt and token counts as webinfer's rows, greedy, with its own tokenizer.
 */
import { getLlama } from 'node-llama-cpp';
import { summarise, WARMUP_MS, WARMUP_TOKENS, type BenchCase, type BenchResult } from './measure.js';

/** Thrown where the Vulkan build cannot run on a GPU here: the caller skips the row with this message. */
export class NativeUnavailableError extends Error {}

export async function measureLlamaCpp(c: BenchCase, threads: number, gpu: false | 'vulkan' = false): Promise<BenchResult> {
  let llama;
  try {
    llama = await getLlama({ gpu, build: 'never', logLevel: 'error' as never });
  } catch (e) {
    if (gpu) throw new NativeUnavailableError(`node-llama-cpp's ${gpu} build did not load: ${(e as Error).message}`);
    throw e;
  }
  // The Vulkan build falls back to the CPU when Vulkan lists no GPU (SwiftShader is not one): no row then.
  const devices = gpu ? await llama.getGpuDeviceNames() : [];
  if (gpu && (llama.gpu !== gpu || devices.length === 0)) {
    await llama.dispose();
    throw new NativeUnavailableError(`node-llama-cpp's ${gpu} build found no GPU device (backend ${llama.gpu || 'cpu'})`);
  }
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: c.model, ...(gpu ? { gpuLayers: 'max' as const } : {}) });
  const context = await model.createContext({ contextSize: c.maxModelLen ?? 512, threads });
  const loadMs = performance.now() - t0;
  const sequence = context.getSequence();
  /** Greedy tokens after `prompt` from an empty cache; the time the first one and the last one arrived. */
  const run = async (prompt: string, n: number) => {
    await sequence.clearHistory();
    // BOS as the model asks for it, as webinfer's tokenizer adds it
    const bos = model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? [model.tokens.bos] : [];
    const tokens = [...bos, ...model.tokenize(prompt)];
    const start = performance.now();
    let first = 0;
    const out = [];
    for await (const t of sequence.evaluate(tokens, { temperature: 0 })) {
      if (!first) first = performance.now();
      out.push(t);
      if (out.length >= n) break;
    }
    // the prompt as context, so the first piece keeps its leading space as webinfer streams it
    return { promptTokens: tokens.length, start, first, end: performance.now(), text: model.detokenize(out, false, tokens) };
  };
  try {
    const w0 = performance.now();
    do await run(c.prompt, WARMUP_TOKENS);
    while (performance.now() - w0 < WARMUP_MS);
    const r = await run('\n' + c.prompt, c.decodeTokens);
    const backend = gpu ? `${gpu}, ${devices.join(', ')}, ${model.gpuLayers}/${model.fileInsights.totalLayers} layers` : `cpu, ${threads} thread${threads > 1 ? 's' : ''}`;
    return summarise(c, { engine: 'llama.cpp (native)', backend, loadMs, ...r });
  } finally {
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  }
}
