/**
 * `npm run bench -- --node --cpu-1b`: the wasm backend on a 1B-class model (Llama-3.2-1B's shape,
 * random weights, SmolLM2's tokenizer; Q4_0 and Q4_K_M as llama-quantize writes them, made on
 * first use by scripts/make-bench-models.ts, the same files as `--gpu`) at one thread and at every
 * core, beside native llama.cpp's CPU build (node-llama-cpp 3.21.1) at the same thread counts, in
 * one process: a ~113-token prompt and a ~1,000-token one. The wasm rows' device column carries
 * the memory the engine states at load. Prints the rows and the ratios, writes them to bench/results/.
 *
 * Options: --models=1b-q4_0,1b-q4_k_m (and 135m-q4_0, 135m-q4_k_m), --decode=N (default 16),
 * --no-long, --no-native, --threads=1,2, --repeat=N (each row N times, webinfer and llama.cpp
 * alternating, keeping each one's fastest prefill and decode: on a shared machine whose speed
 * changes for seconds at a time, one run each can land in different phases).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ensureGpuBenchModels, LLAMA_1B, SMOLLM_135M } from '../scripts/make-bench-models.js';
import { describe, NAMES, type ModelKey } from './gpu-bench.js';
import { BENCH_TEXT, measure, type BenchResult } from './measure.js';

/** ~1,000 tokens: the 113-token text nine times. */
const LONG_PROMPT = Array(9).fill(BENCH_TEXT).join(' ');
/** Room for the long prompt and its decode. */
const CONTEXT = 1152;

interface Row {
  key: ModelKey;
  context: 'short' | 'long';
  threads: number;
  webinfer?: BenchResult;
  native?: BenchResult;
}

export async function cpu1bCli(argv: string[], resultsDir: string): Promise<void> {
  const log = (line: string) => process.stderr.write(line + '\n');
  const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const decode = Number(opt('decode')) || 16;
  const keys = (opt('models')?.split(',') ?? ['1b-q4_0', '1b-q4_k_m']) as ModelKey[];
  for (const k of keys) if (!(k in NAMES)) throw new Error(`--models: unknown model ${k} (one of ${Object.keys(NAMES).join(', ')})`);
  const threadCounts = opt('threads')?.split(',').map(Number) ?? [...new Set([1, cpus().length])];
  const native = !argv.includes('--no-native');
  const repeat = Math.max(1, Number(opt('repeat')) || 1);
  const prompts: [Row['context'], string][] = [['short', BENCH_TEXT], ...(argv.includes('--no-long') ? [] : [['long', LONG_PROMPT] as [Row['context'], string]])];

  const paths: Partial<Record<ModelKey, string>> = {};
  if (keys.some((k) => k.startsWith('1b'))) {
    const [q4, q4km] = ensureGpuBenchModels(LLAMA_1B, undefined, log);
    Object.assign(paths, { '1b-q4_0': q4, '1b-q4_k_m': q4km });
  }
  if (keys.some((k) => k.startsWith('135m'))) {
    const [q4, q4km] = ensureGpuBenchModels(SMOLLM_135M, undefined, log);
    Object.assign(paths, { '135m-q4_0': q4, '135m-q4_k_m': q4km });
  }

  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const key of keys) {
    for (const [context, prompt] of prompts) {
      const c = await describe(paths[key]!, NAMES[key], prompt, decode, CONTEXT);
      for (const threads of threadCounts) {
        const row: Row = { key, context, threads };
        rows.push(row);
        for (let run = 0; run < repeat; run++) {
          const of = repeat > 1 ? ` (run ${run + 1} of ${repeat})` : '';
          log(`${c.name}, ${context} prompt, ${threads} thread(s): webinfer wasm…${of}`);
          try {
            row.webinfer = fastest(row.webinfer, await measure({ ...c, backend: 'wasm', threads }));
          } catch (e) {
            skipped.push(`webinfer wasm, ${c.name}, ${context}, ${threads} threads: ${(e as Error).message}`);
          }
          if (!native) continue;
          log(`${c.name}, ${context} prompt, ${threads} thread(s): llama.cpp…${of}`);
          const { measureLlamaCpp } = await import('./llama-cpp.js');
          try {
            row.native = fastest(row.native, await measureLlamaCpp({ ...c, backend: 'wasm' }, threads));
          } catch (e) {
            skipped.push(`llama.cpp, ${c.name}, ${context}, ${threads} threads: ${(e as Error).message}`);
          }
        }
      }
    }
  }

  const f = (r: BenchResult | undefined, k: 'decodeTokPerS' | 'prefillTokPerS') => (r ? String(r[k]) : '—');
  const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : '—');
  const device = rows.find((r) => r.webinfer)?.webinfer?.device ?? '';
  const lines = [
    `wasm beside native llama.cpp on the CPU: Node ${process.version}; ${cpus()[0]?.model ?? 'CPU'} × ${cpus().length}; ${decode} tokens decoded, context ${CONTEXT}${repeat > 1 ? `; fastest of ${repeat} alternating runs each` : ''}; llama.cpp = node-llama-cpp 3.21.1 CPU build. webinfer at load: ${device}`,
    '',
    '| model | prompt | threads | prefill tok/s webinfer | llama.cpp | ratio | decode tok/s webinfer | llama.cpp | ratio |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${NAMES[r.key]} | ${r.context} (${r.webinfer?.promptTokens ?? r.native?.promptTokens ?? '?'} tok) | ${r.threads} | ${f(r.webinfer, 'prefillTokPerS')} | ${f(r.native, 'prefillTokPerS')} | ${ratio(r.webinfer?.prefillTokPerS, r.native?.prefillTokPerS)} | ${f(r.webinfer, 'decodeTokPerS')} | ${f(r.native, 'decodeTokPerS')} | ${ratio(r.webinfer?.decodeTokPerS, r.native?.decodeTokPerS)} |`),
  ];
  if (skipped.length) lines.push('', 'Skipped:', ...skipped.map((s) => `- ${s}`));
  const table = lines.join('\n');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = `${new Date().toISOString().replace(/[:.]/g, '-')}-cpu-1b`;
  writeFileSync(join(resultsDir, `${stamp}.json`), JSON.stringify({ decode, context: CONTEXT, rows, skipped }, null, 2));
  writeFileSync(join(resultsDir, `${stamp}.md`), table + '\n');
  console.log(table);
}

/** The better of two runs of one row, prefill and decode each (one run's text and load time). */
function fastest(a: BenchResult | undefined, b: BenchResult): BenchResult {
  if (!a) return b;
  return { ...a, prefillTokPerS: Math.max(a.prefillTokPerS, b.prefillTokPerS), ttftMs: Math.min(a.ttftMs, b.ttftMs), decodeTokPerS: Math.max(a.decodeTokPerS, b.decodeTokPerS), decodeGBPerS: Math.max(a.decodeGBPerS, b.decodeGBPerS) };
}
