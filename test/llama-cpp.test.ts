/**
 * webinfer against llama.cpp itself, on the files people download: random models quantised by
 * llama.cpp's own llama-quantize into every preset (scripts/make-presets.ts), in two shapes (rows
 * of multiples of 256, and SmolLM2-135M's 576/1536 widths, where llama-quantize falls back to
 * Q5_0/Q5_1/Q8_0/IQ4_NL). Every tensor must dequantise bit for bit as llama.cpp's gguf-py does it;
 * 32 greedy steps must agree with native llama.cpp (node-llama-cpp), teacher-forced, on cpu and on
 * wgsl with both kernel families (6 steps on the GPU family, which SwiftShader runs slowly).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePresets, llamaTools, PRESET_MODELS, PRESETS, presetPath, splitGGUF } from '../scripts/make-presets.js';
import { ByteStream } from '../src/formats/byte-stream.js';
import { toFloat32 } from '../src/formats/dtypes.js';
import { readGGUFHeader, readGGUFTensors } from '../src/formats/gguf.js';
import type { LoadOptions, ModelRunner } from '../src/engine/backend.js';
import { loadCpu } from '../src/engine/cpu/backend.js';
import { loadWgsl } from '../src/engine/wgsl/backend.js';
import { logSoftmax } from '../src/engine/logits.js';
import { argmax } from '../src/engine/sampling.js';
import { ggufPyHashes, llamaCppNext, nativeLlama, type TensorHashes } from './helpers/llama-cpp.js';
import { nmse } from './helpers/gpu.js';
import { GENERATED } from './helpers/paths.js';
import { ARCH_FIXTURES } from '../scripts/make-fixtures.js';

const STEPS = 32;
/**
 * Decode steps of the GPU kernel family, fewer than STEPS: SwiftShader runs its kernels' 256-thread
 * workgroups as 64 coroutines of 4 lanes, so a 576 x 576 matvec there takes ~60 ms where the
 * cpu-backed kernels take ~2 (a step of smol576: ~1.7 s against 43 ms). The GPU family's 17 runs
 * here took 612 of this file's 772 s at 12 steps; each of its kernels is also tested alone on odd shapes
 * (kernels-*.test.ts). Six steps still cross the sliding windows of 8 after the 7-token prompt.
 */
const GPU_KERNEL_STEPS = 6;
/**
 * The GPU kernel family runs each preset on one of the two models, not both: on SwiftShader a
 * GPU-family load compiles its pipelines for ~40 s, and the 26 runs took ~20 of CI's 60 minutes.
 * K-quant presets run on wide256 (every width a multiple of 256, so every matrix keeps its
 * K-quant), the others on smol576 (GQA 3, tied and scaled embeddings).
 */
const gpuKernelModel = (preset: string) => (/_K/i.test(preset) ? 'wide256' : 'smol576');
const PROMPT = [1, 300, 17, 259, 450, 88, 12];
/**
 * llama.cpp's CPU kernels round activations to 8 bits per block before the dot products, which
 * moves logits slightly. A step where its greedy token differs from ours only counts as a
 * disagreement when that token is more than this many nats below our top token.
 */
const LOGPROB_MARGIN = 0.1;
/** Share of steps that must agree. */
const AGREEMENT = 0.95;

/** `steps` greedy tokens after PROMPT: the whole sequence, and our log-probabilities at each step. */
async function greedy(runner: ModelRunner, steps: number): Promise<{ tokens: number[]; logprobs: Float32Array[] }> {
  const tokens = [...PROMPT];
  const logprobs: Float32Array[] = [];
  let logits = await runner.forward(PROMPT, 0);
  for (let i = 0; i < steps; i++) {
    logprobs.push(logSoftmax(logits));
    tokens.push(argmax(logits));
    if (i < steps - 1) logits = await runner.forward([tokens.at(-1)!], tokens.length - 1);
  }
  return { tokens, logprobs };
}

let dir: string;
let hashes: TensorHashes;
const files = PRESET_MODELS.flatMap((m) => PRESETS.map((p) => ({ model: m.name, preset: p })));

beforeAll(async () => {
  dir = await generatePresets();
  hashes = ggufPyHashes(llamaTools(), files.map((f) => presetPath(dir, f.model, f.preset)));
}, 1_200_000);

/** Agreement per file and backend, written to test/.generated/llama-cpp-agreement.md for the record. */
const agreement: string[] = [];
afterAll(async () => {
  await (await nativeLlama()).dispose();
  if (agreement.length) writeFileSync(join(GENERATED, 'llama-cpp-agreement.md'), ['| file | backend | same token | counted disagreements | steps |', '| --- | --- | ---: | ---: | ---: |', ...agreement].join('\n') + '\n');
});

describe.each(files)('$model $preset', ({ model, preset }) => {
  it("dequantises every tensor bit for bit as llama.cpp's gguf-py", async () => {
    const path = presetPath(dir, model, preset);
    const want = hashes[path]!;
    const stream = ByteStream.fromBytes(readFileSync(path));
    const header = await readGGUFHeader(stream);
    const got: TensorHashes[string] = {};
    await readGGUFTensors(stream, header, (info, bytes) => {
      const f = toFloat32(info.dtype, bytes, info.elements);
      got[info.name] = { type: info.dtype, sha256: createHash('sha256').update(new Uint8Array(f.buffer)).digest('hex') };
    });
    expect(got).toEqual(want);
  });

  type Backend = [string, (path: string, o: LoadOptions) => Promise<{ runner: ModelRunner }>, LoadOptions, number];
  const gpuKernels: Backend = ['wgsl (GPU kernels)', loadWgsl, { kernels: 'gpu' }, GPU_KERNEL_STEPS];
  const backends: Backend[] = [
    ['cpu', loadCpu, {}, STEPS],
    ['wgsl (CPU-backed kernels)', loadWgsl, { kernels: 'cpu-backed' }, STEPS],
    ...(gpuKernelModel(preset) === model ? [gpuKernels] : []),
  ];
  it.each(backends)('%s: greedy steps agree with native llama.cpp, teacher-forced', async (backend, load, options, steps) => {
    const path = presetPath(dir, model, preset);
    const { runner } = await load(path, { maxModelLen: 256, ...options });
    try {
      const { tokens, logprobs } = await greedy(runner, steps);
      const theirs = (await llamaCppNext(path, tokens.slice(0, -1), PROMPT.length - 1)).map((n) => n.token);
      const ours = tokens.slice(PROMPT.length);
      const disagree = ours.filter((t, i) => t !== theirs[i] && logprobs[i]![t]! - logprobs[i]![theirs[i]!]! > LOGPROB_MARGIN).length;
      agreement.push(`| ${model} ${preset} | ${backend} | ${ours.filter((t, i) => t === theirs[i]).length} | ${disagree} | ${steps} |`);
      expect(1 - disagree / steps, `ours ${ours}\nllama.cpp ${theirs}`).toBeGreaterThanOrEqual(AGREEMENT);
    } finally {
      runner.dispose();
    }
  }, 300_000);
});

describe('a GGUF split into parts by llama.cpp\'s llama-gguf-split', () => {
  const tokensOf = async (source: Parameters<typeof loadCpu>[0]) => {
    const { runner, model } = await loadCpu(source, { maxModelLen: 64 });
    const out: number[] = [];
    let logits = await runner.forward(PROMPT, 0);
    for (let i = 0; i < 8; i++) {
      out.push(argmax(logits));
      logits = await runner.forward([out.at(-1)!], PROMPT.length + i);
    }
    runner.dispose();
    return { id: model.id, out };
  };
  let parts: string[];
  let whole: { id: string; out: number[] };
  beforeAll(async () => {
    const file = presetPath(dir, 'wide256', 'Q4_K_M');
    parts = splitGGUF(file, join(dir, 'split'), 'wide256-q4_k_m', 7);
    whole = await tokensOf(file);
  });

  it('has several parts, each a GGUF of its own', () => {
    expect(parts.length).toBeGreaterThan(2);
    expect(parts[0]).toMatch(/wide256-q4_k_m-00001-of-0000\d\.gguf$/);
  });

  it('loads from the first part\'s path, the others found beside it: the same tokens as the single file', async () => {
    expect(await tokensOf(parts[0]!)).toEqual({ id: 'wide256-q4_k_m', out: whole.out });
  });

  it('loads from the list of parts, as paths and as bytes (ids: the file name, then GGUF general.name)', async () => {
    expect((await tokensOf(parts)).out).toEqual(whole.out);
    const bytes = parts.map((p) => new Uint8Array(readFileSync(p)));
    expect(await tokensOf(bytes)).toEqual({ id: 'fixture-wide256', out: whole.out });
  });

  it('says what is wrong when a part is missing, or a later part is given first', async () => {
    await expect(tokensOf(parts.slice(0, -1))).rejects.toThrow(/part \d of \d+ .* is missing/);
    await expect(tokensOf(parts[1]!)).rejects.toThrow(/is part 2 of a GGUF split into \d+: give the first part/);
  });
});

/**
 * Gemma 2, Gemma 3 and Phi-3 (scripts/make-fixtures.ts ARCH_FIXTURES: small widths, the models'
 * real hyper-parameters, sliding windows of 8 so that the tests cross them, weights that make the
 * soft-caps bind) against native llama.cpp: greedy tokens, and the next-token distribution, which
 * the final soft-cap and LongRoPE's attention factor shape even where the argmax stays.
 */
describe.each(ARCH_FIXTURES)('$name ($arch)', (spec) => {
  /**
   * Probability gaps allowed: float32 softmax and GELU implementations differ in the last bits;
   * with Q8_0, llama.cpp's own int8 rounding of activations (ours rounds alike, but ties and
   * reciprocals can land on neighbouring integers) is magnified by the gains that make the caps
   * bind. A missing soft-cap or attention factor moves them by 0.3 or more.
   */
  const PROB_ABS: Record<string, number> = { f32: 0.03, q8_0: 0.06 };
  const LONG = Array.from({ length: 40 }, (_, i) => (i * 37 + 5) % 500);

  it.each(['f32', 'q8_0'])('GGUF %s on cpu: greedy tokens and next-token probabilities agree with native llama.cpp', async (type) => {
    const path = join(GENERATED, `${spec.name}-${type}.gguf`);
    // Q8_0: inputs rounded to int8 per block as llama.cpp's CPU kernels round them (the gains
    // that make the soft-caps bind also magnify that rounding)
    const { runner } = await loadCpu(path, { maxModelLen: 256, intActivations: type === 'q8_0' });
    try {
      const { tokens, logprobs } = await greedy(runner, STEPS);
      const theirs = await llamaCppNext(path, tokens.slice(0, -1), PROMPT.length - 1);
      const ours = tokens.slice(PROMPT.length);
      const disagree = ours.filter((t, i) => t !== theirs[i]!.token && logprobs[i]![t]! - logprobs[i]![theirs[i]!.token]! > LOGPROB_MARGIN).length;
      agreement.push(`| ${spec.name} ${type} | cpu | ${ours.filter((t, i) => t === theirs[i]!.token).length} | ${disagree} | ${STEPS} |`);
      expect(1 - disagree / STEPS, `ours ${ours}\nllama.cpp ${theirs.map((n) => n.token)}`).toBeGreaterThanOrEqual(AGREEMENT);
      for (const [i, n] of theirs.entries()) for (const [t, p] of n.probs) expect(Math.abs(Math.exp(logprobs[i]![t]!) - p), `step ${i} token ${t}`).toBeLessThan(PROB_ABS[type]!);
    } finally {
      runner.dispose();
    }
  }, 120_000);

  it.each([
    ['cpu-backed', 24],
    ['gpu', GPU_KERNEL_STEPS],
  ] as const)('wgsl (%s kernels) gives the cpu logits, on a 7-token and a 40-token prompt and %i steps after each', async (kernels, steps) => {
    const path = join(GENERATED, `${spec.name}-f32.gguf`);
    const cpu = (await loadCpu(path, { maxModelLen: 128 })).runner;
    const gpu = (await loadWgsl(path, { maxModelLen: 128, kernels })).runner;
    try {
      for (const prompt of [PROMPT, LONG]) {
        let [a, b] = [await cpu.forward(prompt, 0), await gpu.forward(prompt, 0)];
        for (let i = 0; i < steps; i++) {
          expect(nmse(b, a)).toBeLessThan(1e-8);
          expect(argmax(b)).toBe(argmax(a));
          const t = argmax(a);
          [a, b] = [await cpu.forward([t], prompt.length + i), await gpu.forward([t], prompt.length + i)];
        }
      }
    } finally {
      gpu.dispose();
    }
  }, 300_000);

  it('its safetensors directory (Hugging Face names, fused or (1 + w) norms as HF stores them) gives the GGUF logits', async () => {
    const gguf = (await loadCpu(join(GENERATED, `${spec.name}-f32.gguf`), { maxModelLen: 64 })).runner;
    const hf = (await loadCpu(join(GENERATED, `${spec.name}-hf`), { maxModelLen: 64 })).runner;
    expect(nmse(await hf.forward(LONG, 0, true), await gguf.forward(LONG, 0, true))).toBeLessThan(1e-12);
  });
});
