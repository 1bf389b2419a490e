/**
 * `npm run bench -- --node --gpu`: webinfer's wgsl backend (Dawn in Node) beside native llama.cpp's
 * Vulkan build (node-llama-cpp 3.21.1 prebuilt, every layer offloaded), in one process, on the same
 * GGUF files: a 1B-class model (Llama-3.2-1B's shape, random weights, SmolLM2's tokenizer) and
 * SmolLM2-135M's shape, each in Q4_0 and Q4_K_M as llama-quantize writes them
 * (scripts/make-bench-models.ts, written on first use into bench/.models); then
 * decode after a ~4,000-token prompt against decode after the ~113-token one, for both engines;
 * and the 135M Q4_0 model's short prompt (or the first model's) with GPU sampling, chained steps on
 * and off (off: each decode step submitted only after the last one's token came back), to show
 * what chaining gives here (most where the CPU's recording of a step is as long as the GPU's run).
 * Prints the rows, the ratios webinfer / llama.cpp, and writes them to bench/results/.
 *
 * Options: --quick (the 135M Q4_0 only, 16 tokens, a ~230-token "long" prompt: checks the mode
 * end to end on a software adapter), --decode=N, --models=1b-q4_0,1b-q4_k_m,135m-q4_0,135m-q4_k_m,
 * --no-native, --no-long, --profile (bench/profile.ts on the first model afterwards),
 * --profile-only (only that).
 * Where the Vulkan build finds no GPU (no driver, SwiftShader), the llama.cpp rows are skipped with
 * the reason printed.
 */
import { closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ByteStream } from '../src/formats/byte-stream.js';
import { readGGUFHeader } from '../src/formats/gguf.js';
import { configFromGGUF } from '../src/model/config.js';
import { ensureGpuBenchModels, LLAMA_1B, SMOLLM_135M } from '../scripts/make-bench-models.js';
import { BENCH_TEXT, measure, type BenchCase, type BenchResult } from './measure.js';

/** Context of every row: room for the long prompt and its decode, so short and long rows share a cache size. */
const LONG_CONTEXT = 4352;
/** The long prompt: the 113-token text repeated (~3,950 tokens; ~230 with --quick). */
const LONG_REPEATS = { full: 35, quick: 2 };

export type ModelKey = '1b-q4_0' | '1b-q4_k_m' | '135m-q4_0' | '135m-q4_k_m';
export const NAMES: Record<ModelKey, string> = {
  '1b-q4_0': 'Llama-3.2-1B shape Q4_0 (llama-quantize)',
  '1b-q4_k_m': 'Llama-3.2-1B shape Q4_K_M (llama-quantize)',
  '135m-q4_0': 'SmolLM2-135M shape Q4_0 (llama-quantize)',
  '135m-q4_k_m': 'SmolLM2-135M shape Q4_K_M (llama-quantize)',
};

export async function describe(path: string, name: string, prompt: string, decodeTokens: number, maxModelLen: number): Promise<Omit<BenchCase, 'backend'>> {
  // the header only (the tokenizer's metadata is a few MB; the files are up to ~1 GB)
  const head = new Uint8Array(16 << 20);
  const fd = openSync(path, 'r');
  const n = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const header = await readGGUFHeader(ByteStream.fromBytes(head.subarray(0, n)));
  const c = configFromGGUF(header.metadata, new Set(header.tensors.map((t) => t.name)));
  return { model: path, name, prompt, decodeTokens, maxModelLen, weightBytes: header.tensors.reduce((a, t) => a + t.byteLength, 0), kvBytesPerPos: 2 * c.nLayers * c.nKvHeads * c.headDim * 4 };
}

interface Row {
  key: ModelKey;
  context: 'short' | 'long';
  webinfer?: BenchResult;
  native?: BenchResult;
}

export async function gpuBenchCli(argv: string[], resultsDir: string): Promise<void> {
  const log = (line: string) => process.stderr.write(line + '\n');
  const quick = argv.includes('--quick');
  const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const decode = Number(opt('decode')) || (quick ? 16 : 256);
  const keys = (opt('models')?.split(',') ?? (quick ? ['135m-q4_0'] : ['1b-q4_0', '1b-q4_k_m', '135m-q4_0', '135m-q4_k_m'])) as ModelKey[];
  for (const k of keys) if (!(k in NAMES)) throw new Error(`--models: unknown model ${k} (one of ${Object.keys(NAMES).join(', ')})`);
  const native = !argv.includes('--no-native');
  const long = !argv.includes('--no-long');
  const profileOnly = argv.includes('--profile-only');

  const paths: Partial<Record<ModelKey, string>> = {};
  if (keys.some((k) => k.startsWith('1b'))) {
    const t0 = performance.now();
    const [q4, q4km] = ensureGpuBenchModels(LLAMA_1B, undefined, log);
    log(`1B models ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    Object.assign(paths, { '1b-q4_0': q4, '1b-q4_k_m': q4km });
  }
  if (keys.some((k) => k.startsWith('135m'))) {
    const [q4, q4km] = ensureGpuBenchModels(SMOLLM_135M, undefined, log);
    Object.assign(paths, { '135m-q4_0': q4, '135m-q4_k_m': q4km });
  }

  const lines: string[] = [];
  if (!profileOnly) {
    const rows: Row[] = [];
    const skipped: string[] = [];
    let nativeOk = native;
    const measureBoth = async (key: ModelKey, context: Row['context'], prompt: string) => {
      const c = await describe(paths[key]!, NAMES[key], prompt, decode, LONG_CONTEXT);
      const row: Row = { key, context };
      rows.push(row);
      log(`${c.name}, ${context} prompt: webinfer wgsl…`);
      try {
        row.webinfer = await measure({ ...c, backend: 'wgsl' });
      } catch (e) {
        skipped.push(`webinfer wgsl, ${c.name}, ${context}: ${(e as Error).message}`);
        log(`  failed: ${(e as Error).message}`);
      }
      if (!nativeOk) return;
      log(`${c.name}, ${context} prompt: llama.cpp Vulkan…`);
      const { measureLlamaCpp, NativeUnavailableError } = await import('./llama-cpp.js');
      try {
        row.native = await measureLlamaCpp({ ...c, backend: 'wgsl' }, cpus().length, 'vulkan');
      } catch (e) {
        const why = (e as Error).message;
        log(`  llama.cpp Vulkan skipped: ${why}`);
        skipped.push(`llama.cpp Vulkan, ${c.name}, ${context}: ${why}`);
        // No GPU for the Vulkan build here: the same answer for every model.
        if (e instanceof NativeUnavailableError) nativeOk = false;
      }
    };
    for (const key of keys) await measureBoth(key, 'short', BENCH_TEXT);
    const chaining: Partial<Record<'on' | 'off', BenchResult>> = {};
    const chainKey = keys.includes('135m-q4_0') ? '135m-q4_0' : keys[0]!;
    for (const mode of ['on', 'off'] as const) {
      try {
        log(`${NAMES[chainKey]}, short prompt: webinfer wgsl, GPU sampling, chained steps ${mode}…`);
        chaining[mode] = await measure({ ...(await describe(paths[chainKey]!, NAMES[chainKey], BENCH_TEXT, decode, LONG_CONTEXT)), backend: 'wgsl', gpuSampling: true, chainSteps: mode === 'on' });
      } catch (e) {
        skipped.push(`webinfer wgsl, chained steps ${mode}: ${(e as Error).message}`);
      }
    }
    const longPrompt = Array(quick ? LONG_REPEATS.quick : LONG_REPEATS.full).fill(BENCH_TEXT).join(' ');
    if (long) await measureBoth(keys[0]!, 'long', longPrompt);
    // The long row again with a float32 cache (hardware GPUs default to float16): what halving the
    // bytes attention reads gives at ~4,000 positions.
    let longF32: BenchResult | undefined;
    if (long) {
      try {
        log(`${NAMES[keys[0]!]}, long prompt: webinfer wgsl, float32 KV cache…`);
        longF32 = await measure({ ...(await describe(paths[keys[0]!]!, NAMES[keys[0]!], longPrompt, decode, LONG_CONTEXT)), backend: 'wgsl', kvDtype: 'f32' });
      } catch (e) {
        skipped.push(`webinfer wgsl, float32 KV cache: ${(e as Error).message}`);
      }
    }

    const first = rows.find((r) => r.webinfer)?.webinfer;
    const f = (r?: BenchResult, k: 'decodeTokPerS' | 'prefillTokPerS' = 'decodeTokPerS') => (r ? String(r[k]) : '—');
    const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : '—');
    lines.push(
      `GPU bench: ${first?.device ?? 'no WebGPU adapter'}; Node ${process.version}; ${cpus()[0]?.model ?? 'CPU'} × ${cpus().length}. ${decode} tokens decoded, context ${LONG_CONTEXT} for every row; llama.cpp = node-llama-cpp 3.21.1 Vulkan prebuilt, all layers offloaded.`,
      '',
      '| engine | backend | model | prompt | load ms | prompt tok | TTFT ms | prefill tok/s | decode tok/s | decode GB/s |',
      '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.flatMap((r) => [r.webinfer, r.native].filter((x): x is BenchResult => !!x).map((x) => `| ${x.engine} | ${x.backend} | ${x.model} | ${r.context} | ${x.loadMs} | ${x.promptTokens} | ${x.ttftMs} | ${x.prefillTokPerS} | ${x.decodeTokPerS} | ${x.decodeGBPerS} |`)),
      '',
      'Ratios webinfer / llama.cpp (this run):',
      '',
      '| model | prompt | decode tok/s webinfer | llama.cpp | ratio | prefill tok/s webinfer | llama.cpp | ratio |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${NAMES[r.key]} | ${r.context} (${r.webinfer?.promptTokens ?? r.native?.promptTokens ?? '?'} tok) | ${f(r.webinfer)} | ${f(r.native)} | ${ratio(r.webinfer?.decodeTokPerS, r.native?.decodeTokPerS)} | ${f(r.webinfer, 'prefillTokPerS')} | ${f(r.native, 'prefillTokPerS')} | ${ratio(r.webinfer?.prefillTokPerS, r.native?.prefillTokPerS)} |`),
    );
    const short = rows.find((r) => r.context === 'short' && r.key === keys[0]);
    if (chaining.on && chaining.off)
      lines.push(
        '',
        `Chained steps (${NAMES[chainKey]}, short prompt, GPU sampling): decode ${chaining.on.decodeTokPerS} tok/s chained, ${chaining.off.decodeTokPerS} with each step waiting for the last one's token: ${ratio(chaining.on.decodeTokPerS, chaining.off.decodeTokPerS)}.`,
      );
    const lng = rows.find((r) => r.context === 'long');
    if (short && lng)
      lines.push(
        '',
        `Long context (${NAMES[lng.key]}): decode after ${lng.webinfer?.promptTokens ?? lng.native?.promptTokens ?? '?'} prompt tokens / after ${short.webinfer?.promptTokens ?? short.native?.promptTokens ?? '?'}: ` +
          `webinfer ${ratio(lng.webinfer?.decodeTokPerS, short.webinfer?.decodeTokPerS)}, llama.cpp ${ratio(lng.native?.decodeTokPerS, short.native?.decodeTokPerS)}; ` +
          `webinfer / llama.cpp at the long prompt ${ratio(lng.webinfer?.decodeTokPerS, lng.native?.decodeTokPerS)}.`,
      );
    if (lng?.webinfer && longF32)
      lines.push('', `KV cache at the long prompt (${NAMES[lng.key]}): decode ${lng.webinfer.decodeTokPerS} tok/s with the default (${lng.webinfer.device?.match(/MiB (f16|f32)/)?.[1] ?? '?'}), ${longF32.decodeTokPerS} with float32: ${ratio(lng.webinfer.decodeTokPerS, longF32.decodeTokPerS)}.`);
    if (skipped.length) lines.push('', 'Skipped:', ...skipped.map((s) => `- ${s}`));
    const table = lines.join('\n');
    mkdirSync(resultsDir, { recursive: true });
    const stamp = `${new Date().toISOString().replace(/[:.]/g, '-')}-gpu`;
    writeFileSync(join(resultsDir, `${stamp}.json`), JSON.stringify({ decode, context: LONG_CONTEXT, rows, skipped }, null, 2));
    writeFileSync(join(resultsDir, `${stamp}.md`), table + '\n');
    console.log(table);
  }
  if (argv.includes('--profile') || profileOnly) {
    const { profileModel } = await import('./profile.js');
    const text = await profileModel(paths[keys[0]!]!, NAMES[keys[0]!]);
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-gpu-profile.md`), text);
    console.log('\n' + text);
  }
}
