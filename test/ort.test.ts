/**
 * The ort backend (onnxruntime-web, WASM execution provider, in Node) on ONNX exports made by
 * scripts/export-onnx.ts: the stories260K reference text through the API, and generated fixtures
 * in fp32, fp16 and q4 / q4f16 (MatMulNBits; the fp16 and q4f16 variants compute in float16, with
 * a float16 KV cache and logits), with and without position_ids, and in the model-builder style
 * (com.microsoft GroupQueryAttention and fused norms), against the independent float64 reference
 * for a 32-step greedy run; the KV-cached run equals a full recomputation.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, makeWeights, type FixtureSpec, type HFWeights } from '../scripts/make-fixtures.js';
import { isHalf, quantizeNBits, type OnnxWeights } from '../scripts/export-onnx.js';
import type { ModelRunner } from '../src/engine/backend.js';
import { loadOrt } from '../src/engine/ort/backend.js';
import { argmax } from '../src/engine/sampling.js';
import { f16ToF32, f32ToF16 } from '../src/formats/dtypes.js';
import { createFetch } from '../src/index.js';
import { KINDS, sample } from './helpers/constraints.js';
import { client } from './helpers/openai.js';
import { GENERATED, storiesReference } from './helpers/paths.js';
import { nmse, referenceLogits } from './helpers/reference.js';

const ONNX = join(GENERATED, 'onnx');
/** The runtime vs the float64 reference on the same (exported) weights. */
const NMSE: Record<OnnxWeights, number> = {
  fp32: 1e-8,
  // float16 activations, KV cache and logits (measured up to 1.2e-6)
  fp16: 1e-5,
  // MatMulNBits on the CPU may quantise activations to int8 blocks (MLAS), a small extra error.
  q4: 1e-6,
  q4f16: 1e-5,
};

const STEPS = 32;
const PROMPT = [1, 300, 17];
const runners: ModelRunner[] = [];
afterAll(() => runners.forEach((r) => r.dispose()));

/** The weights as the exporter stores them for `kind`, so the reference computes what ORT computes. */
function exported(spec: FixtureSpec, w: HFWeights, kind: OnnxWeights): { spec: FixtureSpec; weights: HFWeights } {
  const f16 = (a: Float32Array) => a.map((v) => f16ToF32(f32ToF16(v)));
  const matrix = (t: { shape: number[]; data: Float32Array }) =>
    kind === 'fp16' ? f16(t.data) : kind === 'q4' || kind === 'q4f16' ? quantizeNBits(t.data, t.shape[0]!, t.shape[1]!, kind === 'q4f16').dequantized : t.data;
  const out: HFWeights = new Map();
  for (const [k, t] of w) {
    // the embedding table is float32 but in the float16 variants; vectors are stored as float16 but in fp32
    if (k === 'model.embed_tokens.weight') out.set(k, isHalf(kind) ? { shape: t.shape, data: f16(t.data) } : t);
    else out.set(k, { shape: t.shape, data: t.shape.length === 2 ? matrix(t) : kind === 'fp32' ? t.data : f16(t.data) });
  }
  if (!spec.tied || kind === 'fp32') return { spec, weights: out };
  // a tied head is exported as its own (rounded or quantised) matrix
  const e = w.get('model.embed_tokens.weight')!;
  out.set('lm_head.weight', { shape: e.shape, data: matrix(e) });
  return { spec: { ...spec, tied: false }, weights: out };
}

async function greedy(runner: ModelRunner): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  const tokens = [...PROMPT];
  const logits: Float32Array[] = [];
  let l = await runner.forward(PROMPT, 0);
  for (let i = 0; i < STEPS; i++) {
    logits.push(l.slice());
    tokens.push(argmax(l));
    l = await runner.forward([tokens.at(-1)!], tokens.length - 1);
  }
  return { tokens, logits };
}

describe('stories260K exported to ONNX, through the API (auto picks ort for an ONNX directory)', () => {
  it.each(['fp32', 'fp16'])('%s reproduces the reference text token for token', async (variant) => {
    const f = createFetch({ model: join(ONNX, 'stories260K'), onnxVariant: variant });
    try {
      const info = await f.ready;
      expect([info.backend, info.format]).toEqual(['ort', 'onnx']);
      const res = await (await f('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 256, temperature: 0 }) })).json();
      expect(res.choices[0].text).toBe(storiesReference());
    } finally {
      await f.dispose();
    }
  }, 60_000);
});

describe('constraints on the ort backend', () => {
  it('the random llama export (fp32, WASM): 30 samples per kind, each valid, as the cpu backend answers', async () => {
    const ort = createFetch({ model: join(ONNX, 'llama'), onnxVariant: 'fp32', executionProvider: 'wasm' });
    const cpu = createFetch({ model: join(GENERATED, 'llama-f32.gguf'), backend: 'cpu' });
    try {
      expect((await ort.ready).backend).toBe('ort');
      for (const kind of KINDS.filter((k) => k.name !== 'json object')) {
        const [a, b] = [await sample(client(ort), kind, 30, 11), await sample(client(cpu), kind, 30, 11)];
        for (const x of a) if (x.finish === 'stop') expect(kind.valid(x.text), `${kind.name}: ${JSON.stringify(x.text)}`).toBe(true);
        // Same weights, same seeds: the same answers, but for the rare near-tie the two runtimes round apart.
        expect(a.filter((x, i) => x.text === b[i]!.text).length).toBeGreaterThanOrEqual(27);
      }
    } finally {
      await ort.dispose();
      await cpu.dispose();
    }
  }, 300_000);
});

const byName = (n: string) => FIXTURES.find((f) => f.name === n)!;
const cases: [string, string, OnnxWeights][] = [
  ...['llama', 'llama3', 'qwen2', 'qwen3'].flatMap((n) => (['fp32', 'fp16', 'q4', 'q4f16'] as OnnxWeights[]).map((k): [string, string, OnnxWeights] => [n, n, k])),
  ['llama', 'llama-no-position-ids', 'fp32'],
  ['llama', 'llama-no-position-ids', 'fp16'],
  ['llama', 'llama-no-position-ids', 'q4'],
  ['llama', 'llama-from-gguf', 'fp32'],
  // weights in onnx/model.onnx_data, as large exports ship
  ['llama', 'llama-external-data', 'fp32'],
  ['llama', 'llama-external-data', 'q4'],
  // onnxruntime-genai model-builder style: GroupQueryAttention, SkipSimplifiedLayerNormalization, no position_ids
  ['llama', 'llama-genai', 'fp32'],
  ['llama', 'llama-genai', 'q4'],
  ['llama', 'llama-genai', 'q4f16'],
  ['qwen3', 'qwen3-genai', 'fp32'],
  // ... with int32 input_ids and attention_mask, fed as the session declares them
  ['llama', 'llama-genai-int32', 'fp32'],
  ['llama', 'llama-genai-int32', 'q4'],
];

describe.each(cases)('fixture %s as %s, %s', (fixture, dir, kind) => {
  it(`${STEPS} greedy steps match the float64 reference; the KV cache equals recomputation`, async () => {
    const { runner } = await loadOrt(join(ONNX, dir), { onnxVariant: kind });
    runners.push(runner);
    const spec = byName(fixture);
    const ref = exported(spec, makeWeights(spec, 512), kind);
    const got = await greedy(runner);
    const want = referenceLogits(ref.spec, ref.weights, got.tokens);
    for (let i = 0; i < STEPS; i++) {
      const w = Float32Array.from(want[PROMPT.length - 1 + i]!);
      expect(nmse(got.logits[i]!, w)).toBeLessThan(NMSE[kind]);
      expect(got.tokens[PROMPT.length + i]).toBe(argmax(w));
    }
    // no cache: the whole sequence in one run, every position's logits (float16 rounds differently
    // when the same sums are computed in other shapes)
    const vocab = 512;
    const all = await runner.forward(got.tokens.slice(0, -1), 0, true);
    for (let i = 0; i < STEPS; i++) expect(nmse(all.subarray((PROMPT.length - 1 + i) * vocab, (PROMPT.length + i) * vocab), got.logits[i]!)).toBeLessThan(isHalf(kind) ? 1e-6 : 1e-10);
  }, 60_000);
});

it('the int32 model-builder export really declares int32 input_ids and attention_mask', async () => {
  const ort = await import('onnxruntime-web');
  const session = await ort.InferenceSession.create(join(ONNX, 'llama-genai-int32', 'onnx', 'model.onnx'));
  const types = Object.fromEntries(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : '?']));
  expect([types.input_ids, types.attention_mask]).toEqual(['int32', 'int32']);
  await session.release();
});
