/**
 * npx tsx bench/wasm-batch.ts [--browser] [--threads=1] [--batch=8] [--context=64] [--rounds=9]
 *
 * One decode step of `batch` sequences × 1 token against `batch` single-token steps on the wasm
 * backend (bench/batch-measure.ts), SmolLM2-135M's shape in Q4_0 (scripts/make-bench-models.ts,
 * generated into bench/.models on first use); in Node, or with --browser in headless Chromium
 * (relaxed SIMD where Node has none).
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBenchModel } from '../scripts/make-bench-models.js';
import { measureBatch, type BatchOptions, type BatchResult } from './batch-measure.js';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const o: BatchOptions = { threads: arg('threads', 1), batch: arg('batch', 8), context: arg('context', 64), rounds: arg('rounds', 9) };
const path = ensureBenchModel('Q4_0');

let r: BatchResult;
if (process.argv.includes('--browser')) {
  const { launchBrowser, startVite } = await import('../test/helpers/browser.js');
  const server = await startVite({ isolated: true });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/bench/page.html`);
    const url = '/' + relative(fileURLToPath(new URL('..', import.meta.url)), path);
    r = await page.evaluate(([m, c]) => (window as any).bench.batch(m, c), [url, o] as const);
    console.log(`Chromium ${browser.version()}`);
  } finally {
    await browser.close();
    await server.close();
  }
} else {
  r = await measureBatch(path, o);
}
const { separateMs: a, togetherMs: b } = r;
console.log(r.description);
console.log(`${o.batch} sequences at ${o.context}+ positions, ${o.threads} thread${o.threads === 1 ? '' : 's'}, medians of ${o.rounds} rounds:`);
console.log(`  ${o.batch} single-token steps: ${a.toFixed(1)} ms (${(a / o.batch).toFixed(1)} ms each)`);
console.log(`  one step of ${o.batch} tokens:  ${b.toFixed(1)} ms`);
console.log(`  ratio: ${(a / b).toFixed(2)}x (${((o.batch * 1000) / b).toFixed(1)} vs ${((o.batch * 1000) / a).toFixed(1)} tokens/s)`);
