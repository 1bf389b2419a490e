/**
 * Benchmark models: SmolLM2-135M's real configuration (test/fixtures/real/smollm2-135m-instruct)
 * and real tokenizer, with seeded random weights, as GGUF in Q4_0 and Q8_0. Random weights make
 * the kernels do a 135M model's work; the text they write is noise. Generated on demand into
 * bench/.models (not committed), deterministic.
 *
 *   npx tsx scripts/make-bench-models.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DType } from '../src/formats/dtypes.js';
import type { GGUFTypedValue } from '../src/formats/gguf.js';
import { makeWeights, writeFixtureGGUF, type FixtureSpec } from './make-fixtures.js';
import { llamaTools } from './make-presets.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SMOLLM = join(ROOT, 'test', 'fixtures', 'real', 'smollm2-135m-instruct');

export const BENCH_TYPES: DType[] = ['Q4_0', 'Q8_0'];

export function benchModelPath(dtype: DType, dir = join(ROOT, 'bench', '.models')): string {
  return join(dir, `smollm2-135m-${dtype.toLowerCase()}.gguf`);
}

function spec(): FixtureSpec {
  const c = JSON.parse(readFileSync(join(SMOLLM, 'config.json'), 'utf8'));
  return {
    name: 'smollm2-135m',
    arch: 'llama',
    dim: c.hidden_size,
    hiddenDim: c.intermediate_size,
    nLayers: c.num_hidden_layers,
    nHeads: c.num_attention_heads,
    nKvHeads: c.num_key_value_heads,
    headDim: c.hidden_size / c.num_attention_heads,
    ropeTheta: c.rope_theta,
    tied: c.tie_word_embeddings,
    seed: 135,
  };
}

/** The real SmolLM2 tokenizer as GGUF metadata (byte-level BPE, llama.cpp's "smollm" pre-tokenizer). */
function tokenizerMeta(): { meta: Record<string, GGUFTypedValue>; vocab: number } {
  const json = JSON.parse(readFileSync(join(SMOLLM, 'tokenizer.json'), 'utf8'));
  const ids = [...Object.values<number>(json.model.vocab), ...json.added_tokens.map((t: { id: number }) => t.id)];
  const size = ids.reduce((a, b) => Math.max(a, b), 0) + 1;
  const tokens: string[] = new Array(size).fill('');
  const types = new Int32Array(size).fill(1);
  for (const [t, id] of Object.entries<number>(json.model.vocab)) tokens[id] = t;
  for (const t of json.added_tokens) [tokens[t.id], types[t.id]] = [t.content, t.special ? 3 : 4];
  const merges = json.model.merges.map((m: string | string[]) => (Array.isArray(m) ? m.join(' ') : m));
  return {
    vocab: size,
    meta: {
      'tokenizer.ggml.model': { type: 'string', value: 'gpt2' },
      'tokenizer.ggml.pre': { type: 'string', value: 'smollm' },
      'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: tokens },
      'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', value: types },
      'tokenizer.ggml.merges': { type: 'array', itemType: 'string', value: merges },
      'tokenizer.ggml.bos_token_id': { type: 'u32', value: 1 },
      'tokenizer.ggml.eos_token_id': { type: 'u32', value: 2 },
      'tokenizer.ggml.add_bos_token': { type: 'bool', value: false },
      'tokenizer.chat_template': { type: 'string', value: readFileSync(join(SMOLLM, 'chat_template.jinja'), 'utf8') },
    },
  };
}

/** The models: BENCH_TYPES written by our generator, then Q4_K_M as llama.cpp's llama-quantize writes it (from an F16 file, removed after). */
export function ensureBenchModels(dir = join(ROOT, 'bench', '.models')): string[] {
  const paths = BENCH_TYPES.map((t) => benchModelPath(t, dir));
  const q4km = join(dir, 'smollm2-135m-q4_k_m-llama-quantize.gguf');
  if ([...paths, q4km].every((p) => existsSync(p))) return [...paths, q4km];
  mkdirSync(dir, { recursive: true });
  const s = spec();
  const tok = tokenizerMeta();
  const weights = makeWeights(s, tok.vocab);
  for (const [i, dtype] of BENCH_TYPES.entries()) {
    if (!existsSync(paths[i]!)) writeFileSync(paths[i]!, writeFixtureGGUF(s, weights, tok.meta, dtype, 8192));
  }
  if (!existsSync(q4km)) {
    const f16 = join(dir, 'smollm2-135m-f16.tmp.gguf');
    writeFileSync(f16, writeFixtureGGUF(s, weights, tok.meta, 'F16', 8192));
    execFileSync(join(llamaTools(), 'bin', 'llama-quantize'), [f16, `${q4km}.tmp`, 'Q4_K_M', String(cpus().length)], { stdio: 'ignore' });
    renameSync(`${q4km}.tmp`, q4km);
    rmSync(f16);
  }
  return [...paths, q4km];
}

if (process.argv[1] && basename(process.argv[1]).startsWith('make-bench-models')) {
  console.log(ensureBenchModels().join('\n'));
}
