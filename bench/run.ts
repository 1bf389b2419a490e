/**
 * npm run bench            headless Chromium (WebGPU via the browser; SwiftShader on machines
 *                          without a GPU), on a cross-origin isolated page (wasm threads):
 *                          webinfer's wgsl, wasm (1 thread and all) and cpu backends, and wllama
 *                          (llama.cpp compiled to WebAssembly) as the peer, on the same GGUF files.
 * npm run bench -- --node  the same measurements in Node: wasm, cpu, and wgsl through Dawn (the
 *                          `webgpu` package), for GPU machines without a browser.
 * Options: --quick (stories260K only), --backends=wgsl,wasm,cpu, --decode=N (tokens to decode),
 *          --no-onnx (skip the ort rows), --no-gguf (only the ort rows), --no-native (skip native
 *          llama.cpp), --no-constrained (skip the structured-output rows), --no-kernels (skip the
 *          wasm kernel table), --profile (Node: GPU time per wgsl op, bench/profile.ts),
 *          --concurrency (Node: many streams at once and the prefix cache, bench/concurrency.ts),
 *          --cpu-1b (Node: wasm on a 1B-class model beside native llama.cpp, bench/cpu-1b.ts).
 *
 * Models (prompts of 90-130 tokens): stories260K (the embedded model) and SmolLM2-135M's real configuration with generated
 * weights in Q4_0, Q8_0, and Q4_K_M as llama.cpp's llama-quantize writes it (mostly Q5_0 at these
 * widths; scripts/make-bench-models.ts). Native llama.cpp (node-llama-cpp) runs every GGUF at 1
 * thread and at all threads, in both modes (it runs in the Node process driving the browser).
 * Prints a markdown table and writes it with the raw JSON to bench/results/.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ByteStream } from '../src/formats/byte-stream.js';
import { readGGUFHeader } from '../src/formats/gguf.js';
import { configFromGGUF } from '../src/model/config.js';
import { ensureBenchModels } from '../scripts/make-bench-models.js';
import { exportOnnx } from '../scripts/export-onnx.js';
import { existsSync } from 'node:fs';
import { BENCH_TEXT, measure, measureConstrained, type BenchCase, type BenchResult, type ConstrainedResult } from './measure.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const node = process.argv.includes('--node');
const quick = process.argv.includes('--quick');
const profile = process.argv.includes('--profile');
const noOnnx = process.argv.includes('--no-onnx');
const noGguf = process.argv.includes('--no-gguf');
/** --backends=wgsl,cpu limits the webinfer backends measured on GGUF files. */
const backends = (process.argv.find((a) => a.startsWith('--backends='))?.slice(11).split(',') ?? ['wgsl', 'wasm', 'cpu']) as ('wgsl' | 'wasm' | 'cpu')[];
/** The wasm backend runs at 1 thread and at every core. */
const threadCounts = [...new Set([1, cpus().length])];
const noKernels = process.argv.includes('--no-kernels');
/** --decode=N decodes N tokens per model (on fast GPUs the defaults are too short to time). */
const decodeOverride = Number(process.argv.find((a) => a.startsWith('--decode='))?.slice(9)) || undefined;

const RESULTS = join(ROOT, 'bench', 'results');
// The GPU modes (Node only): kernels alone, or the 1B-class models beside llama.cpp's Vulkan build.
if (process.argv.includes('--gpu-kernels')) {
  const { gpuKernelsCli } = await import('./gpu-kernels.js');
  await gpuKernelsCli(process.argv, RESULTS);
  process.exit();
}
if (process.argv.includes('--concurrency')) {
  const { concurrencyCli } = await import('./concurrency.js');
  await concurrencyCli(process.argv, ROOT, RESULTS);
  process.exit();
}
if (process.argv.includes('--cpu-1b')) {
  const { cpu1bCli } = await import('./cpu-1b.js');
  await cpu1bCli(process.argv, RESULTS);
  process.exit();
}
if (process.argv.includes('--gpu')) {
  const { gpuBenchCli } = await import('./gpu-bench.js');
  await gpuBenchCli(process.argv, RESULTS);
  process.exit();
}

async function describe(path: string, name: string, prompt: string, decodeTokens: number): Promise<Omit<BenchCase, 'backend'>> {
  const header = await readGGUFHeader(ByteStream.fromBytes(readFileSync(path).subarray(0, 16 << 20)));
  const c = configFromGGUF(header.metadata, new Set(header.tensors.map((t) => t.name)));
  return {
    model: path,
    name,
    prompt,
    decodeTokens: decodeOverride ?? decodeTokens,
    weightBytes: header.tensors.reduce((a, t) => a + t.byteLength, 0),
    kvBytesPerPos: 2 * c.nLayers * c.nKvHeads * c.headDim * 4,
  };
}

const story = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.';
const models = [await describe(join(ROOT, 'models', 'stories260K.gguf'), 'stories260K (F32)', `${story} ${story}`, 128)];
if (!quick) {
  const [q4, q8, q4km] = ensureBenchModels();
  const text = BENCH_TEXT;
  models.push(
    await describe(q4!, 'SmolLM2-135M config (Q4_0)', text, 16),
    await describe(q8!, 'SmolLM2-135M config (Q8_0)', text, 16),
    await describe(q4km!, 'SmolLM2-135M config (Q4_K_M by llama-quantize)', text, 16),
  );
}

/** The same models exported to ONNX (onnx-community layout) for the ort backend and transformers.js. */
const onnxModels: (Omit<BenchCase, 'backend'> & { dtype: string })[] = [];
// One ONNX export per architecture: the Q8_0 model would give a second, identical q4 export.
for (const m of noOnnx ? [] : models.filter((x) => !x.name.includes('Q8_0'))) {
  const dtype = m.name.startsWith('stories') ? 'fp32' : 'q4';
  const dir = join(ROOT, 'bench', '.models', 'onnx', m.name.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, ''));
  if (!existsSync(join(dir, 'onnx'))) await exportOnnx(m.model, dir, [dtype as 'fp32' | 'q4']);
  onnxModels.push({ ...m, model: dir, name: `${m.name} → ONNX ${dtype}`, onnxVariant: dtype, dtype });
}

const results: BenchResult[] = [];
let kernels: { simd: string; results: import('./wasm-kernels.js').KernelResult[] } | undefined;
const constrained: ConstrainedResult[] = [];
const noConstrained = process.argv.includes('--no-constrained');
/** The structured-output rows: the 135M Q4_0 model (its real 49k vocabulary; stories260K with --quick), each backend. */
const constrainedModel = models.find((m) => m.name.includes('Q4_0')) ?? models[0];
let machine = `${cpus()[0]?.model ?? 'CPU'} × ${cpus().length}`;
const noNative = process.argv.includes('--no-native');
/** Native llama.cpp on the model's file, 1 thread and all threads, after webinfer's rows of it. */
async function native(m: Omit<BenchCase, 'backend'>): Promise<void> {
  if (noNative) return;
  const { measureLlamaCpp } = await import('./llama-cpp.js');
  for (const threads of [...new Set([1, cpus().length])]) {
    process.stderr.write(`${m.name} llama.cpp native, ${threads} threads…\n`);
    results.push(await measureLlamaCpp({ ...m, backend: 'cpu' }, threads));
  }
}
if (node) {
  machine += `, Node ${process.version}`;
  for (const m of models) {
    for (const backend of backends)
      for (const threads of backend === 'wasm' ? threadCounts : [undefined]) {
        process.stderr.write(`${m.name} ${backend}${threads ? `, ${threads} threads` : ''}…\n`);
        results.push(await measure({ ...m, backend, threads }));
      }
    await native(m);
  }
  for (const m of onnxModels) {
    process.stderr.write(`${m.name} ort wasm…\n`);
    results.push(await measure({ ...m, backend: 'ort', executionProvider: 'wasm' }));
  }
  if (constrainedModel && !noConstrained)
    for (const backend of backends) {
      process.stderr.write(`${constrainedModel.name} ${backend}, constrained…\n`);
      constrained.push(await measureConstrained({ ...constrainedModel, backend, decodeTokens: 48, gpuSampling: backend === 'wgsl' ? true : undefined }));
    }
  if (!noKernels) {
    process.stderr.write('wasm kernels…\n');
    const { measureKernels } = await import('./wasm-kernels.js');
    kernels = await measureKernels().catch((e) => (console.error(`wasm kernels: ${e.message}`), undefined));
  }
} else {
  const { launchBrowser, startVite } = await import('../test/helpers/browser.js');
  const server = await startVite({ isolated: true });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/bench/page.html`);
    await page.waitForFunction(() => (window as any).bench, null, { timeout: 60_000 });
    machine += `, Chromium ${browser.version()}, WebGPU adapter: ${await page.evaluate(() => (window as any).bench.adapter())}`;
    page.setDefaultTimeout(0);
    for (const m of noGguf ? [] : models) {
      const url = '/' + relative(ROOT, m.model);
      for (const backend of backends)
        for (const threads of backend === 'wasm' ? threadCounts : [undefined]) {
          process.stderr.write(`${m.name} ${backend}${threads ? `, ${threads} threads` : ''}…\n`);
          results.push(await page.evaluate((c) => (window as any).bench.measure(c), { ...m, model: url, backend, threads }));
        }
      process.stderr.write(`${m.name} wllama…\n`);
      const w: BenchResult = await page.evaluate((c) => (window as any).bench.wllama(c), { ...m, model: url, backend: 'cpu' as const });
      w.promptTokens ||= results.at(-1)!.promptTokens; // same tokenizer, same prompt
      w.prefillTokPerS = Math.round((w.promptTokens / w.ttftMs) * 1000 * 10) / 10;
      results.push(w);
      await native(m);
    }
    for (const m of onnxModels) {
      const url = '/' + relative(ROOT, m.model) + '/';
      for (const ep of ['webgpu', 'wasm'] as const) {
        process.stderr.write(`${m.name} ort ${ep}…\n`);
        results.push(await page.evaluate((c) => (window as any).bench.measure(c), { ...m, model: url, backend: 'ort' as const, executionProvider: ep }));
      }
      for (const device of ['webgpu', 'wasm'] as const) {
        process.stderr.write(`${m.name} transformers.js ${device}…\n`);
        results.push(await page.evaluate((c) => (window as any).bench.transformersjs(c), { ...m, model: url, backend: 'ort' as const, device }));
      }
    }
    if (constrainedModel && !noConstrained)
      for (const backend of backends) {
        process.stderr.write(`${constrainedModel.name} ${backend}, constrained…\n`);
        const c = { ...constrainedModel, model: '/' + relative(ROOT, constrainedModel.model), backend, decodeTokens: 48, gpuSampling: backend === 'wgsl' ? true : undefined };
        constrained.push(await page.evaluate((x) => (window as any).bench.constrained(x), c));
      }
    if (!noKernels) {
      process.stderr.write('wasm kernels…\n');
      kernels = await page.evaluate(() => (window as any).bench.kernels()).catch((e) => (console.error(`wasm kernels: ${e.message}`), undefined));
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

/** How much of the generated text agrees with webinfer's first result for the same model file. */
function agreement(r: BenchResult): string {
  const ref = results.find((x) => x.model === r.model && x.engine === 'webinfer')!.text;
  let n = 0;
  while (n < ref.length && n < r.text.length && ref[n] === r.text[n]) n++;
  return n === ref.length && n === r.text.length ? 'same' : `first ${n} of ${ref.length} chars`;
}

const lines = [
  `Machine: ${machine}`,
  '',
  '| engine | backend | model | load ms | prompt tok | TTFT ms | prefill tok/s | decode tok/s | decode GB/s | greedy text vs webinfer (first row of the model) |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ...results.map((r) => `| ${r.engine} | ${r.backend} | ${r.model} | ${r.loadMs} | ${r.promptTokens} | ${r.ttftMs} | ${r.prefillTokPerS} | ${r.decodeTokPerS} | ${r.decodeGBPerS} | ${agreement(r)} |`),
];
// The wasm backend against its peers on each file: ratios of decode (and prefill) tok/s from this run.
const ratioRows: string[] = [];
for (const m of models) {
  const row = (engine: string, backend: RegExp) => results.find((r) => r.model === m.name && r.engine === engine && backend.test(r.backend));
  const w1 = row('webinfer', /^wasm, 1 thread$/), wn = row('webinfer', /^wasm, \d+ threads$/);
  const n1 = row('llama.cpp (native)', /^cpu, 1 thread$/), wl = row('wllama', /./), sw = row('webinfer', /^wgsl$/);
  if (!w1) continue;
  const r = (a?: BenchResult, b?: BenchResult, key: 'decodeTokPerS' | 'prefillTokPerS' = 'decodeTokPerS') => (a && b && b[key] ? `${(a[key] / b[key]).toFixed(2)}×` : '—');
  ratioRows.push(`| ${m.name} | ${w1.decodeTokPerS} | ${r(w1, n1)} | ${r(w1, n1, 'prefillTokPerS')} | ${r(w1, wl)} | ${r(wn, w1)} | ${r(w1, sw)} |`);
}
if (ratioRows.length)
  lines.push(
    '',
    'wasm backend, ratios from this run (decode tok/s unless marked):',
    '',
    '| model | wasm 1-thread tok/s | vs native llama.cpp 1 thread | prefill vs native 1 thread | vs wllama (1 thread) | all threads vs 1 | vs wgsl on this adapter |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...ratioRows,
  );
if (kernels)
  lines.push(
    '',
    `wasm matmul kernels alone (${kernels.simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD128'}, 1 thread, random blocks):`,
    '',
    '| type | rows × cols | ms | GB/s | GMAC/s |',
    '| --- | --- | ---: | ---: | ---: |',
    ...kernels.results.map((k) => `| ${k.dtype} | ${k.shape} | ${k.ms} | ${k.gbPerS} | ${k.gmacPerS} |`),
  );
if (constrained.length) {
  const pct = (a: number, b: number) => `${Math.round((1 - a / b) * 100)} %`;
  lines.push(
    '',
    'Sampling and structured output (temperature 1, 48 tokens; top_p 0.95 on the free request; a nested JSON schema; "sampled only": jump-forward off):',
    '',
    '| backend | model | free tok/s | top_p 0.95 tok/s | cost | constrained tok/s | cost | sampled only tok/s | cost | grammar setup ms (first request) | answer valid so far |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...constrained.map((r) => `| ${r.backend} | ${r.model} | ${r.freeTokPerS} | ${r.nucleusTokPerS} | ${pct(r.nucleusTokPerS, r.freeTokPerS)} | ${r.constrainedTokPerS} | ${pct(r.constrainedTokPerS, r.freeTokPerS)} | ${r.sampledOnlyTokPerS} | ${pct(r.sampledOnlyTokPerS, r.freeTokPerS)} | ${r.setupMs} | ${r.valid ? 'yes' : 'NO'} |`),
  );
}
if (profile && node) {
  const { profileModel } = await import('./profile.js');
  for (const m of models) lines.push('', await profileModel(m.model, m.name));
}
const table = lines.join('\n');
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const stamp = `${new Date().toISOString().replace(/[:.]/g, '-')}-${node ? 'node' : 'browser'}`;
writeFileSync(join(dir, `${stamp}.json`), JSON.stringify({ machine, results, constrained, kernels }, null, 2));
writeFileSync(join(dir, `${stamp}.md`), table + '\n');
console.log(table);

