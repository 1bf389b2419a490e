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
 * llama.cpp's greedy next token after every prefix tokens[0..i], i from `from` on (teacher
 * forcing: the sequence is given, only the predictions are llama.cpp's).
 */
export async function llamaCppNextTokens(path: string, tokens: number[], from: number): Promise<number[]> {
  const model = await (await nativeLlama()).loadModel({ modelPath: path });
  const context = await model.createContext({ contextSize: 256, threads: 2 });
  try {
    const items = tokens.map((t, i) => (i >= from ? ([t, { generateNext: { token: true, options: { temperature: 0 } } }] as const) : t));
    const out = await context.getSequence().controlledEvaluate(items as never);
    return out.slice(from).map((o, i) => {
      const t = o?.next?.token;
      if (t === undefined || t === null) throw new Error(`llama.cpp gave no token at position ${from + i}`);
      return Number(t);
    });
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
