/**
 * Every supported architecture and weight format, loaded by webinfer's CPU reference engine, is
 * checked against an independent float64 implementation (test/helpers/reference.ts) on generated
 * models with seeded random weights.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, GGUF_TYPES, K_FIXTURE, K_TYPES, makeWeights, type HFWeights } from '../scripts/make-fixtures.js';
import { fromFloat32, type DType } from '../src/formats/dtypes.js';
import { decodeWeights } from './helpers/decode.js';
import { loadCpu } from '../src/engine/cpu/backend.js';
import { GENERATED } from './helpers/paths.js';
import { nmse, referenceLogits } from './helpers/reference.js';

const TOKENS = [1, 300, 17, 259, 450, 88, 511, 2, 42, 260, 301];
/** The engine computes in float32, the reference in float64: only rounding separates them. */
const NMSE = 1e-9;
/** How far the stored (rounded/quantised) model may drift from the float32 original. */
const STORAGE_DRIFT: Record<string, number> = { F32: 1e-9, F16: 1e-5, BF16: 1e-3, Q8_0: 1e-3, Q4_0: 0.25, Q4_K: 0.25, Q6_K: 0.02 };

/** The weights as stored in `dtype` (matrices only, like the generator), decoded independently. */
function asStored(w: HFWeights, dtype: DType): HFWeights {
  return new Map([...w].map(([k, t]) => [k, t.shape.length === 2 ? { shape: t.shape, data: decodeWeights(dtype, fromFloat32(dtype, t.data), t.data.length) } : t]));
}

async function engineLogits(path: string): Promise<Float32Array[]> {
  const { runner } = await loadCpu(path, {});
  const out: Float32Array[] = [];
  for (let i = 0; i < TOKENS.length; i++) out.push((await runner.forward([TOKENS[i]!], i)).slice());
  return out;
}

describe.each(FIXTURES)('fixture model $name ($arch)', (spec) => {
  const weights = makeWeights(spec, 512);
  const expected = referenceLogits(spec, weights, TOKENS);

  it('Hugging Face safetensors directory matches the independent reference', async () => {
    const got = await engineLogits(join(GENERATED, `${spec.name}-hf`));
    for (let i = 0; i < TOKENS.length; i++) expect(nmse(got[i]!, expected[i]!)).toBeLessThan(NMSE);
  });

  it.each(GGUF_TYPES)('GGUF %s matches the independent reference', async (dtype) => {
    const got = await engineLogits(join(GENERATED, `${spec.name}-${dtype.toLowerCase()}.gguf`));
    const exact = referenceLogits(spec, asStored(weights, dtype), TOKENS);
    const argmax = (v: ArrayLike<number>) => Array.prototype.indexOf.call(v, Math.max(...Array.from(v)));
    for (let i = 0; i < TOKENS.length; i++) {
      expect(nmse(got[i]!, exact[i]!)).toBeLessThan(NMSE);
      expect(nmse(got[i]!, expected[i]!)).toBeLessThan(STORAGE_DRIFT[dtype]!);
    }
    expect(got.map(argmax)).toEqual(exact.map(argmax));
  });
});

describe('K-quant GGUF (llama, 256-wide rows)', () => {
  const weights = makeWeights(K_FIXTURE, 512);
  const expected = referenceLogits(K_FIXTURE, weights, TOKENS);
  it.each(K_TYPES)('%s matches the independent reference on independently decoded weights', async (dtype) => {
    const got = await engineLogits(join(GENERATED, `${K_FIXTURE.name}-${dtype.toLowerCase()}.gguf`));
    const exact = referenceLogits(K_FIXTURE, asStored(weights, dtype), TOKENS);
    for (let i = 0; i < TOKENS.length; i++) {
      expect(nmse(got[i]!, exact[i]!)).toBeLessThan(NMSE);
      expect(nmse(got[i]!, expected[i]!)).toBeLessThan(STORAGE_DRIFT[dtype]!);
    }
  });
});

describe('other safetensors layouts', () => {
  const spec = FIXTURES[0]!;
  const weights = makeWeights(spec, 512);
  // safetensors stores every tensor (norms too) in the file's dtype
  const all = (dtype: DType): HFWeights => new Map([...weights].map(([k, t]) => [k, { shape: t.shape, data: decodeWeights(dtype, fromFloat32(dtype, t.data), t.data.length) }]));
  it.each([
    ['sharded F16 with model.safetensors.index.json', 'llama-hf-sharded-f16', 'F16'],
    ['BF16', 'llama-hf-bf16', 'BF16'],
  ] as const)('%s', async (_, dir, dtype) => {
    const got = await engineLogits(join(GENERATED, dir));
    const exact = referenceLogits(spec, all(dtype), TOKENS);
    for (let i = 0; i < TOKENS.length; i++) expect(nmse(got[i]!, exact[i]!)).toBeLessThan(NMSE);
  });
});
