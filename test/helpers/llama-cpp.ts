/**
 * llama.cpp itself as the reference: native llama.cpp through node-llama-cpp's prebuilt build
 * (greedy next tokens, teacher-forced), and llama.cpp's gguf-py (dequantisation, run by Python).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { getLlama, type Llama } from 'node-llama-cpp';
import { ROOT } from './paths.js';

/** A Python 3 that imports numpy: WEBINFER_PYTHON, python3, or Debian's (which .ci/run gives python3-numpy). */
export function python(): string {
  for (const p of [process.env.WEBINFER_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!p) continue;
    try {
      execFileSync(p, ['-c', 'import numpy'], { stdio: 'ignore' });
      return p;
    } catch {
      // next candidate
    }
  }
  throw new Error('no Python 3 with numpy found (set WEBINFER_PYTHON, or apt-get install python3-numpy)');
}

export type TensorHashes = Record<string, Record<string, { type: string; sha256: string }>>;

/** gguf-py's dequantisation of every tensor of `files`: ggml type and sha256 of the float32 values. */
export function ggufPyHashes(tools: string, files: string[]): TensorHashes {
  const out = execFileSync(python(), [join(ROOT, 'scripts', 'gguf-dequant.py'), join(tools, 'gguf-py'), ...files], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return JSON.parse(out);
}

let llama: Promise<Llama> | undefined;

/** The CPU build of native llama.cpp that node-llama-cpp ships (no download, no compilation). */
export function nativeLlama(): Promise<Llama> {
  llama ??= getLlama({ gpu: false, build: 'never', logLevel: (process.env.WEBINFER_LLAMA_LOG ?? 'error') as never });
  return llama;
}

/**
 * llama.cpp's next-token distribution after every prefix tokens[0..i], i from `from` on (teacher
 * forcing: the sequence is given, only the predictions are llama.cpp's): its most likely token and
 * its `top` most likely tokens with their probabilities (temperature 1, no truncation).
 */
export async function llamaCppNext(path: string, tokens: number[], from: number, top = 5): Promise<{ token: number; probs: [number, number][] }[]> {
  const model = await (await nativeLlama()).loadModel({ modelPath: path });
  // A float32 KV cache (llama.cpp's default is float16), so that the reference rounds only what its kernels must.
  const context = await model.createContext({ contextSize: 256, threads: 2, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
  try {
    const next = { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } };
    const items = tokens.map((t, i) => (i >= from ? ([t, { generateNext: next }] as const) : t));
    const out = await context.getSequence().controlledEvaluate(items as never);
    return out.slice(from).map((o, i) => {
      const p = o?.next?.probabilities;
      if (!p) throw new Error(`llama.cpp gave no distribution at position ${from + i}`);
      const probs = [...p.entries()].map(([t, v]) => [Number(t), v] as [number, number]).sort((a, b) => b[1] - a[1]).slice(0, top);
      return { token: probs[0]![0], probs };
    });
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
