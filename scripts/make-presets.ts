/**
 * GGUF files as llama.cpp's own `llama-quantize` writes them: seeded random F16 models from our
 * generator, quantised into every preset people download. Two shapes: one whose rows are
 * multiples of 256 (K-quants apply everywhere), one with SmolLM2-135M's widths (576/1536), where
 * llama-quantize falls back to Q5_0/Q5_1/Q8_0/IQ4_NL for rows that are not. Deterministic; written
 * on demand into test/.generated/presets (not committed). The tools come from
 * scripts/llama-tools.sh (llama.cpp's source shipped in node-llama-cpp, built once per machine).
 *
 *   npx tsx scripts/make-presets.ts [outDir]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeWeights, storiesTokenizer, writeFixtureGGUF, type FixtureSpec } from './make-fixtures.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** llama-quantize's preset names (its `ftype` argument). */
export const PRESETS = ['Q2_K', 'Q3_K_M', 'Q4_0', 'Q4_1', 'Q4_K_M', 'Q4_K_S', 'Q5_0', 'Q5_1', 'Q5_K_M', 'Q6_K', 'Q8_0', 'IQ4_NL', 'IQ4_XS'] as const;
export type Preset = (typeof PRESETS)[number];

export const PRESET_MODELS: FixtureSpec[] = [
  { name: 'wide256', arch: 'llama', dim: 512, hiddenDim: 1024, nLayers: 2, nHeads: 8, nKvHeads: 4, headDim: 64, ropeTheta: 10000, tied: false, seed: 21 },
  // SmolLM2-135M's widths (hidden 576, FFN 1536, 9 query and 3 kv heads of 64), two of its 30 layers, tied embeddings
  { name: 'smol576', arch: 'llama', dim: 576, hiddenDim: 1536, nLayers: 2, nHeads: 9, nKvHeads: 3, headDim: 64, ropeTheta: 100000, tied: true, embedScale: 0.05, seed: 22 },
];

/** The folder of llama-quantize and llama-gguf-split (built on first use) and of gguf-py. */
export function llamaTools(): string {
  return execFileSync('bash', [join(ROOT, 'scripts', 'llama-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export function presetPath(dir: string, model: string, preset: Preset | 'F16'): string {
  return join(dir, `${model}-${preset.toLowerCase()}.gguf`);
}

export async function generatePresets(dir = join(ROOT, 'test', '.generated', 'presets')): Promise<string> {
  const want = PRESET_MODELS.flatMap((m) => PRESETS.map((p) => presetPath(dir, m.name, p)));
  if (want.every((p) => existsSync(p))) return dir;
  const tools = llamaTools();
  mkdirSync(dir, { recursive: true });
  const tok = await storiesTokenizer();
  for (const spec of PRESET_MODELS) {
    const f16 = presetPath(dir, spec.name, 'F16');
    if (!existsSync(f16)) writeFileSync(f16, writeFixtureGGUF(spec, makeWeights(spec, tok.vocab), tok.meta, 'F16'));
    for (const preset of PRESETS) {
      const out = presetPath(dir, spec.name, preset);
      if (existsSync(out)) continue;
      // Written beside, then renamed: an interrupted run never leaves a half file under the final name.
      execFileSync(join(tools, 'bin', 'llama-quantize'), [f16, `${out}.tmp`, preset, '2'], { stdio: 'ignore' });
      renameSync(`${out}.tmp`, out);
    }
  }
  return dir;
}

/**
 * `file` split by llama.cpp's llama-gguf-split into parts of at most `maxTensors` tensors, named
 * `<prefix>-00001-of-0000n.gguf`; returns the parts' paths in order.
 */
export function splitGGUF(file: string, dir: string, prefix: string, maxTensors: number): string[] {
  const done = join(dir, `${prefix}.done`);
  if (!existsSync(done)) {
    mkdirSync(dir, { recursive: true });
    execFileSync(join(llamaTools(), 'bin', 'llama-gguf-split'), ['--split', '--split-max-tensors', String(maxTensors), file, join(dir, prefix)], { stdio: 'ignore' });
    writeFileSync(done, '');
  }
  const parts = readdirSync(dir).filter((f) => f.startsWith(`${prefix}-`) && f.endsWith('.gguf')).sort();
  return parts.map((f) => join(dir, f));
}

if (process.argv[1] && basename(process.argv[1]).startsWith('make-presets')) {
  console.log(await generatePresets(process.argv[2]));
}
