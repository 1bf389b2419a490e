/**
 * Hub download behaviour, measured against the fake Hub (test/helpers/fake-hub.ts) on loopback
 * in Node: a model downloaded with 1 and 4 ranges at once, the share of the time spent on the
 * SHA-256 check, a load from the cache, and a resume after the download is cancelled half-way
 * (bytes fetched the second time against the file's size).
 *
 *   npx tsx bench/download.ts [model.gguf]   (default: the 135M Q4_0 bench model, else stories260K)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchHubModel } from '../src/hub/cache.js';
import { sha256Hex } from '../src/hub/download.js';
import { FakeHub } from '../test/helpers/fake-hub.js';
import { ROOT, STORIES_GGUF } from '../test/helpers/paths.js';

const fallback = join(ROOT, 'bench', '.models', 'smollm2-135m-q4_0.gguf');
const file = process.argv[2] ?? (existsSync(fallback) ? fallback : STORIES_GGUF);
const bytes = readFileSync(file);
const hub = await new FakeHub().start();
hub.addRepo('bench/model-GGUF', { 'model.gguf': bytes });
const MB = bytes.length / 1e6;
const rows: string[] = [];

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, (performance.now() - t) / 1000];
}

for (const parallel of [1, 4]) {
  const dir = mkdtempSync(join(tmpdir(), 'webinfer-bench-'));
  const [, s] = await timed(() => fetchHubModel('hf:bench/model-GGUF', { hubUrl: hub.url, cacheDir: dir, parallel }));
  rows.push(`| download, ${parallel} range${parallel > 1 ? 's' : ''} at once (32 MiB pieces) | ${s.toFixed(2)} s | ${(MB / s).toFixed(0)} MB/s |`);
  const [, c] = await timed(() => fetchHubModel('hf:bench/model-GGUF', { hubUrl: hub.url, cacheDir: dir }));
  if (parallel === 4) rows.push(`| load from the cache (no request) | ${c.toFixed(3)} s | |`);
  rmSync(dir, { recursive: true, force: true });
}
const [, h] = await timed(() => sha256Hex(new Blob([bytes])));
rows.push(`| SHA-256 of the file (hash-wasm) | ${h.toFixed(2)} s | ${(MB / h).toFixed(0)} MB/s |`);

const dir = mkdtempSync(join(tmpdir(), 'webinfer-bench-'));
const abort = new AbortController();
await fetchHubModel('hf:bench/model-GGUF', { hubUrl: hub.url, cacheDir: dir, pieceBytes: 4 << 20, signal: abort.signal, onProgress: (p) => p.loadedBytes > bytes.length / 2 && abort.abort() }).catch(() => {});
hub.requests.length = 0;
let fetched = 0;
const [, r] = await timed(() => fetchHubModel('hf:bench/model-GGUF', { hubUrl: hub.url, cacheDir: dir, pieceBytes: 4 << 20, onProgress: (p) => (fetched = p.fetchedBytes) }));
const sent = hub.requests.filter((q) => q.server === 'cdn').reduce((a, q) => a + q.sent, 0);
rows.push(`| resume after a cancel at 50 % (4 MiB pieces) | ${r.toFixed(2)} s | fetched ${(fetched / 1e6).toFixed(1)} of ${MB.toFixed(1)} MB (${((100 * fetched) / bytes.length).toFixed(0)} %); the server sent ${(sent / 1e6).toFixed(1)} MB |`);
rmSync(dir, { recursive: true, force: true });
await hub.close();

console.log(`\n${file.split('/').pop()}: ${MB.toFixed(1)} MB, fake Hub on loopback, Node ${process.version}\n`);
console.log('| step | time | rate / bytes |\n| --- | ---: | --- |');
console.log(rows.join('\n'));
