/**
 * Continuous batching on the wgsl backend (Node, Dawn, SwiftShader), stories260K: batched steps
 * of several sequences through their block tables (prompt chunks beside decode rows, a shared
 * prefix block, a copied partly-filled block, block tables out of order) against each sequence
 * run alone by `forward` over blocks 0, 1, 2, …; and device sampling in per-sequence slots
 * against the same requests sampled one at a time.
 *
 * What is bit-identical and what is not: a row's matrices, norms and RoPE are computed alone
 * whatever rows it is packed with, but which kernel runs depends on the step's row count (CPU-
 * backed: the 1-token matvec or the 4-token gemm; GPU family: plain or folded matvecs, or the
 * tiled gemm) and attention's chunking on the step's kind (a decode step chunks by 64 positions,
 * others by 256; several sequences take the flash kernel's one-row tiles). So batched decode
 * rows, run by the multi-token kernels, are compared with a tight NMSE and the same argmax; rows
 * of a batched prompt run by the same kernels as alone must agree exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRunner, SeqStep, StepSampling } from '../src/engine/backend.js';
import { argmax } from '../src/engine/sampling.js';
import { loadWgsl } from '../src/engine/wgsl/backend.js';
import { nmse } from './helpers/gpu.js';
import { STORIES_GGUF } from './helpers/paths.js';

const V = 512; // stories260K's vocabulary
/** Float32 kernels over a different grouping of the same rows (matvec vs gemm kernels). */
const NMSE = 1e-10;

const runners: ModelRunner[] = [];
afterAll(() => runners.forEach((r) => r.dispose()));

const seq = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 37 + seed * 11 + 1) % 500);
const row = (all: Float32Array, i: number) => all.subarray(i * V, (i + 1) * V);

function close(got: Float32Array | undefined, want: Float32Array, what: string, exact: boolean) {
  expect(got, what).toBeDefined();
  expect(got!.length, what).toBe(want.length);
  for (let i = 0; i < want.length / V; i++) expect(argmax(row(got!, i)), `${what}: argmax of row ${i}`).toBe(argmax(row(want, i)));
  if (exact) expect(Array.from(got!), what).toEqual(Array.from(want));
  else expect(nmse(got!, want), what).toBeLessThan(NMSE);
}

describe.each(['cpu-backed', 'gpu'] as const)('kernels %s', (kernels) => {
  let runner: ModelRunner;
  beforeAll(async () => {
    runner = (await loadWgsl(STORIES_GGUF, { maxModelLen: 256, maxBatch: 8, kernels })).runner;
    runners.push(runner);
  });

  it('reports the paged cache; a step of several sequences (prompt chunks, decode rows, a shared prefix block, a copied block, tables out of order) agrees with each sequence alone', async () => {
    // CPU-backed: prompt rows take the same kernels (gemm_rows, attn_rows) alone and batched. GPU
    // family: 7- and 20-token prompts alone run the matvecs (up to 32 rows), batched the gemm,
    // and their attention the flash kernel's multi-row tiles, batched its one-row ones.
    const samePromptKernels = kernels === 'cpu-backed';
    expect(runner.maxBatch).toBe(8);
    expect(runner.kv).toMatchObject({ blockSize: 16, numBlocks: (256 + 7 * 256) / 16, dtype: 'f32' });
    expect(runner.description).toContain(`KV cache ${runner.kv!.numBlocks} blocks`);

    // A: a 20-token prompt, then decode. B: a 37-token prompt in a 30-token chunk, then 7 with all
    // logits, then decode. C: A's first 16 tokens (one shared block) and 9 of its own. D: A's first
    // 20 (block 0 shared, block 1 copied: positions 16..19 written by A) and one of its own.
    const A = seq(20, 1), B = seq(37, 2), C = [...A.slice(0, 16), ...seq(9, 3)], D = [...A, 7];
    const [a1, a2, b1, c1] = [11, 12, 13, 14];

    // Alone, over blocks 0, 1, 2, … (each run overwrites the previous sequence's).
    const soloA0 = await runner.forward(A, 0);
    const soloA1 = await runner.forward([a1], 20);
    const soloA2 = await runner.forward([a2], 21);
    await runner.forward(B.slice(0, 30), 0);
    const soloBall = await runner.forward(B.slice(30), 30, true);
    const soloB1 = await runner.forward([b1], 37);
    const soloC0 = await runner.forward(C, 0);
    const soloC1 = await runner.forward([c1], 25);
    await runner.forward(D.slice(0, 20), 0);
    const soloD = await runner.forward(D.slice(20), 20);

    // Batched, in blocks far from 0..3 and out of order.
    const tA = [40, 33], tB = [90, 17, 51], tC = [40, 60], tD = [40, 70];
    const step = (batch: SeqStep[]) => runner.step!(batch);
    const r1 = await step([
      { tokens: A, pos: 0, blocks: tA, logits: 'last' },
      { tokens: B.slice(0, 30), pos: 0, blocks: tB, logits: 'none' },
    ]);
    expect(r1[1]).toEqual({});
    close(r1[0]!.logits, soloA0, 'A prompt', samePromptKernels);

    const r2 = await step([
      { tokens: B.slice(30), pos: 30, blocks: tB, logits: 'all' },
      { tokens: [a1], pos: 20, blocks: tA, logits: 'last' },
      { tokens: C.slice(16), pos: 16, blocks: tC, logits: 'last' },
    ]);
    close(r2[0]!.logits, soloBall, 'B rest, all logits', samePromptKernels);
    close(r2[1]!.logits, soloA1, 'A decode beside prompt rows', false);
    close(r2[2]!.logits, soloC0, 'C after a shared prefix block', samePromptKernels);

    await runner.copyBlock!(33, 70);
    const r3 = await step([
      { tokens: [a2], pos: 21, blocks: tA, logits: 'last' },
      { tokens: [b1], pos: 37, blocks: tB, logits: 'last' },
      { tokens: [c1], pos: 25, blocks: tC, logits: 'last' },
      { tokens: D.slice(20), pos: 20, blocks: tD, logits: 'last' },
    ]);
    close(r3[0]!.logits, soloA2, 'A decode row', false);
    close(r3[1]!.logits, soloB1, 'B decode row', false);
    close(r3[2]!.logits, soloC1, 'C decode row', false);
    close(r3[3]!.logits, soloD, 'D after a copied block', false);
  }, 300_000);

  it('a batch larger than one sub-step (70 prompt rows and 9 decode rows) matches the same sequences in small steps', async () => {
    const P = seq(70, 5);
    const small = [await runner.step!([{ tokens: P, pos: 0, blocks: [100, 101, 102, 103, 104], logits: 'all' }])];
    const decode = Array.from({ length: 9 }, (_, i): SeqStep => ({ tokens: [i + 3], pos: 3 + i, blocks: [110 + i], logits: 'last' }));
    for (const d of decode) await runner.step!([{ tokens: seq(d.pos, 6 + d.pos), pos: 0, blocks: d.blocks, logits: 'none' }]);
    const alone: Float32Array[] = [];
    for (const d of decode) alone.push((await runner.step!([d]))[0]!.logits!);
    const big = await runner.step!([{ tokens: P, pos: 0, blocks: [120, 121, 122, 123, 124], logits: 'all' }, ...decode]);
    close(big[0]!.logits, small[0]![0]!.logits!, 'prompt over two sub-steps', false);
    decode.forEach((_, i) => close(big[1 + i]!.logits, alone[i]!, `decode row ${i}`, false));
  }, 300_000);
});

describe('device sampling in slots', () => {
  it('three requests sampled together, each in its slot, give the tokens they give alone', async () => {
    const runner = (await loadWgsl(STORIES_GGUF, { maxModelLen: 128, maxBatch: 4, gpuSampling: true })).runner;
    runners.push(runner);
    const sampler = runner.sampler!;
    const prompts = [seq(5, 7), seq(9, 8), seq(12, 9)];
    const specs = (k: number, i: number, count?: number): StepSampling => ({
      sampling: { temperature: [0, 0.8, 1.1][k]!, topP: 0.9, topK: k === 2 ? 40 : 0, minP: 0 },
      r: ((k * 7 + i * 13) % 17) / 17,
      bias: k === 1 ? [[5, 2]] : [],
      penalties: { frequency: 0.4, presence: 0.2, repetition: 1.2 },
      logprobs: k === 0 ? 2 : undefined,
      countToken: count,
    });
    const STEPS = 6;
    const alone: number[][] = [];
    for (let k = 0; k < 3; k++) {
      sampler.reset(prompts[k]!, 0);
      let t = (await sampler.step(prompts[k]!, 0, specs(k, 0))).token;
      const out = [t];
      for (let i = 1; i < STEPS; i++) {
        t = (await sampler.step([t], prompts[k]!.length + i - 1, specs(k, i, t))).token;
        out.push(t);
      }
      alone.push(out);
    }
    const tables = [[10, 11], [14, 15], [20, 21]];
    prompts.forEach((p, k) => sampler.reset(p, k + 1));
    let res = await runner.step!(prompts.map((p, k) => ({ tokens: p, pos: 0, blocks: tables[k]!, logits: 'last', sample: { slot: k + 1, spec: specs(k, 0) } })));
    expect(res[0]!.logprob?.top).toHaveLength(2);
    const together = res.map((r) => [r.token!]);
    for (let i = 1; i < STEPS; i++) {
      res = await runner.step!(prompts.map((p, k) => {
        const t = together[k]!.at(-1)!;
        return { tokens: [t], pos: p.length + i - 1, blocks: tables[k]!, logits: 'last', sample: { slot: k + 1, spec: specs(k, i, t) } };
      }));
      res.forEach((r, k) => together[k]!.push(r.token!));
    }
    expect(together).toEqual(alone);
  }, 300_000);
});
