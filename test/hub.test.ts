/**
 * Models by Hub name in Node, against a local server that answers like the Hub (fake-hub.ts):
 * names and file selection, download with progress into the folder cache, resuming after a cut
 * connection and after a cancelled load, hash verification, tokens kept to the Hub's origin, the
 * cache functions, and loading with the network gone.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clearCache, createFetch, deleteCachedModel, listCachedModels, storeLocalModel, type CreateFetchOptions, type LoadProgress } from '../src/index.js';
import { hubId, parseHubModel } from '../src/hub/ref.js';
import { selectFiles, type RepoFile } from '../src/hub/select.js';
import { downloadFiles } from '../src/hub/download.js';
import { MemoryStorage } from '../src/hub/storage/memory.js';
import type { FakeHub } from './helpers/fake-hub.js';
import { PRIVATE_TOKEN, startFakeHub } from './helpers/hub-repos.js';
import { storiesReference } from './helpers/paths.js';

describe('Hub names', () => {
  it('parses every form to one canonical name', () => {
    const h = 'https://huggingface.co';
    expect(parseHubModel('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf')).toEqual({ repo: 'Qwen/Qwen2.5-0.5B-Instruct-GGUF', revision: 'main', file: 'qwen2.5-0.5b-instruct-q4_k_m.gguf', variant: undefined, hubUrl: h });
    expect(parseHubModel('hf:bartowski/Llama-3.2-1B-Instruct-GGUF:Q8_0')).toMatchObject({ repo: 'bartowski/Llama-3.2-1B-Instruct-GGUF', variant: 'Q8_0' });
    expect(parseHubModel('hf:owner/repo@v1.2/sub/dir/m.gguf')).toMatchObject({ revision: 'v1.2', file: 'sub/dir/m.gguf' });
    expect(parseHubModel({ hub: 'HuggingFaceTB/SmolLM2-135M-Instruct', revision: 'abc123' })).toMatchObject({ repo: 'HuggingFaceTB/SmolLM2-135M-Instruct', revision: 'abc123' });
    expect(parseHubModel({ hub: 'o/r', file: 'q4f16' })).toMatchObject({ variant: 'q4f16' });
    expect(parseHubModel({ hub: 'o/r', file: 'q4f16' }).file).toBeUndefined();
    expect(parseHubModel('https://huggingface.co/o/r/resolve/main/a/b.gguf')).toMatchObject({ repo: 'o/r', revision: 'main', file: 'a/b.gguf' });
    expect(parseHubModel('https://huggingface.co/o/r/blob/dev/b.gguf?download=true')).toMatchObject({ revision: 'dev', file: 'b.gguf' });
    expect(parseHubModel('https://huggingface.co/o/r')).toEqual({ repo: 'o/r', revision: 'main', hubUrl: 'https://huggingface.co' });
    expect(parseHubModel('http://127.0.0.1:9/o/r/resolve/main/x.gguf', 'http://127.0.0.1:9')).toMatchObject({ repo: 'o/r', hubUrl: 'http://127.0.0.1:9' });
    expect(hubId(parseHubModel('https://huggingface.co/o/r/resolve/main/x.gguf'))).toBe('hf:o/r/x.gguf');
    expect(hubId(parseHubModel('hf:o/r@dev:Q4_0'))).toBe('hf:o/r@dev:Q4_0');
    for (const bad of ['hf:', 'hf:onlyone', 'hf:a/b/', 'hf:a b/c', 'hf:../x/y']) expect(() => parseHubModel(bad), bad).toThrow(/Hub/);
  });

  const f = (path: string, size = 10): RepoFile => ({ path, size });
  const ref = (s: string) => parseHubModel(s);
  it('picks a GGUF by the documented preference, by quantisation, or by name; split parts go together', () => {
    const files = ['README.md', 'm-F16.gguf', 'm-Q8_0.gguf', 'm-Q4_0.gguf', 'm-Q4_K_M-00001-of-00002.gguf', 'm-Q4_K_M-00002-of-00002.gguf', 'mmproj-m-F16.gguf'].map((p) => f(p));
    expect(selectFiles(ref('hf:o/r'), files).files.map((x) => x.path)).toEqual(['m-Q4_K_M-00001-of-00002.gguf', 'm-Q4_K_M-00002-of-00002.gguf']);
    expect(selectFiles(ref('hf:o/r'), files.filter((x) => !x.path.includes('K_M'))).files.map((x) => x.path)).toEqual(['m-Q4_0.gguf']);
    expect(selectFiles(ref('hf:o/r:q8_0'), files).files.map((x) => x.path)).toEqual(['m-Q8_0.gguf']);
    expect(selectFiles(ref('hf:o/r/m-F16.gguf'), files).files.map((x) => x.path)).toEqual(['m-F16.gguf']);
    expect(() => selectFiles(ref('hf:o/r:Q2_K'), files)).toThrow(/no Q2_K GGUF \(it has: .*Q4_K_M/);
    expect(() => selectFiles(ref('hf:o/r/nope.gguf'), files)).toThrow(/has no file nope.gguf/);
    expect(() => selectFiles(ref('hf:o/r/m-Q4_K_M-00002-of-00002.gguf'), files)).toThrow(/name the first part/);
    expect(() => selectFiles(ref('hf:o/r'), [f('m-Q4_K_M-00001-of-00003.gguf'), f('m-Q4_K_M-00002-of-00003.gguf')])).toThrow(/holds 2 of its parts/);
  });
  it('an ONNX repository: metadata plus one variant with its external data; safetensors: metadata and shards', () => {
    const onnx = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'README.md', 'onnx/model.onnx', 'onnx/model.onnx_data', 'onnx/model_q4.onnx', 'onnx/model_q4.onnx_data', 'onnx/model_fp16.onnx'].map((p) => f(p));
    const names = (s: ReturnType<typeof selectFiles>) => s.files.map((x) => x.path).sort();
    expect(names(selectFiles(ref('hf:o/r'), onnx, ['model_q4.onnx', 'model.onnx']))).toEqual(['config.json', 'generation_config.json', 'onnx/model_q4.onnx', 'onnx/model_q4.onnx_data', 'tokenizer.json', 'tokenizer_config.json']);
    expect(names(selectFiles(ref('hf:o/r:fp16'), onnx, ['model_q4.onnx']))).toContain('onnx/model_fp16.onnx');
    expect(() => selectFiles(ref('hf:o/r:int8'), onnx)).toThrow(/no ONNX variant int8/);
    const st = ['config.json', 'tokenizer.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'original/consolidated.pth'].map((p) => f(p));
    const s = selectFiles(ref('hf:o/r'), st);
    expect(s.format).toBe('safetensors');
    expect(names(s)).toEqual(['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json']);
    expect(() => selectFiles(ref('hf:o/r'), [f('README.md')])).toThrow(/holds no model webinfer reads/);
  });
});

describe('downloading from a Hub into the cache', () => {
  let hub: FakeHub;
  let dir: string;
  beforeAll(async () => {
    hub = await startFakeHub();
  });
  afterAll(() => hub?.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'webinfer-cache-'));
    hub.requests.length = 0;
    hub.down = false;
    hub.bytesPerSecond = 0;
  });

  const open = (model: CreateFetchOptions['model'], extra: Partial<CreateFetchOptions> = {}) => createFetch({ model, worker: false, backend: 'wasm', threads: 1, hubUrl: hub.url, cacheDir: dir, download: { pieceBytes: 256 * 1024, retryDelayMs: 20 }, ...extra });
  const complete = async (f: typeof fetch, prompt = '', max = 60) => {
    const r = await f('http://x/v1/completions', { method: 'POST', body: JSON.stringify({ model: 'default', prompt, max_tokens: max, temperature: 0 }) });
    expect(r.status).toBe(200);
    return ((await r.json()) as { choices: { text: string }[] }).choices[0]!.text;
  };
  const stories = 'webinfer/stories260K-GGUF';

  it('loads by hf: name with progress, serves it under its Hub name, and loads again with the network gone', async () => {
    const events: LoadProgress[] = [];
    hub.bytesPerSecond = 3_000_000; // slow enough for several progress reports with a speed
    const f = open(`hf:${stories}`, { onProgress: (p) => events.push(p) });
    const info = await f.ready;
    expect(info).toMatchObject({ id: stories, fromCache: false, backend: 'wasm', format: 'gguf' });
    expect(storiesReference().startsWith(await complete(f))).toBe(true);
    const models = (await (await f('http://x/v1/models')).json()) as { data: { id: string }[] };
    expect(models.data[0]!.id).toBe(stories);
    for (const name of [`hf:${stories}`, stories]) expect(await complete(f, 'Once', 2), name).toBeTypeOf('string');
    await f.dispose();

    const downloads = events.filter((e) => e.download);
    expect(downloads.length).toBeGreaterThan(2);
    const last = downloads.at(-1)!.download!;
    expect(last.loadedBytes).toBe(1054464);
    expect(last.totalBytes).toBe(1054464);
    expect(last.files).toEqual([expect.objectContaining({ path: 'stories260K.gguf', state: 'done', loadedBytes: 1054464, totalBytes: 1054464 })]);
    expect(downloads.some((e) => e.download!.bytesPerSecond > 0 && e.download!.etaSeconds !== undefined && e.download!.files[0]!.state === 'downloading')).toBe(true);
    expect(downloads.every((e, i) => i === 0 || e.loadedBytes >= downloads[i - 1]!.loadedBytes)).toBe(true);
    expect(events.at(-1)!.text).toBe('loaded');
    // Listing paged; the GGUF redirected to the CDN and fetched in 256 KiB ranges, 5 of them.
    expect(hub.requests.filter((r) => r.path.startsWith('/api/')).length).toBeGreaterThan(0);
    const cdn = hub.requests.filter((r) => r.server === 'cdn');
    expect(cdn.map((r) => r.range).sort()).toEqual(['bytes=0-262143', 'bytes=1048576-1054463', 'bytes=262144-524287', 'bytes=524288-786431', 'bytes=786432-1048575']);

    const [cached] = await listCachedModels({ cacheDir: dir });
    expect(cached).toMatchObject({ id: `hf:${stories}`, repo: stories, revision: 'main', format: 'gguf', size: 1054464, storedBytes: 1054464, complete: true, storage: 'fs' });

    hub.down = true;
    hub.requests.length = 0;
    const again = open(`hf:${stories}`);
    expect(await again.ready).toMatchObject({ fromCache: true });
    expect(storiesReference().startsWith(await complete(again))).toBe(true);
    expect(hub.requests).toEqual([]);
    await again.dispose();
  });

  it('a connection cut mid-file resumes at the byte it stopped at', async () => {
    hub.bytesPerSecond = 2_000_000; // the bytes before the cut reach the client, not one burst lost with the reset
    hub.cutAfter.set('stories260K.gguf', 100_000);
    const f = open(`hf:${stories}`, { download: { pieceBytes: 4 << 20, retryDelayMs: 20 } });
    await f.ready;
    expect(storiesReference().startsWith(await complete(f))).toBe(true);
    await f.dispose();
    const ranges = hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range);
    expect(ranges[0]).toBe('bytes=0-1054463');
    const resumed = Number(/^bytes=(\d+)-/.exec(ranges[1]!)![1]);
    expect(resumed).toBeGreaterThanOrEqual(100_000 - 64 * 1024); // what reached the client before the cut
    expect(resumed).toBeLessThanOrEqual(100_000);
    expect(hub.requests.filter((r) => r.server === 'cdn').reduce((a, r) => a + r.sent, 0)).toBeLessThan(1054464 + 64 * 1024);
  });

  it('a cancelled load keeps the pieces it stored; loading again fetches only the rest', async () => {
    hub.bytesPerSecond = 2_000_000;
    const abort = new AbortController();
    const f = open(`hf:${stories}`, { signal: abort.signal, download: { pieceBytes: 128 * 1024, parallel: 2, retryDelayMs: 20 }, onProgress: (p) => (p.download?.loadedBytes ?? 0) > 500_000 && abort.abort() });
    await expect(f.ready).rejects.toThrow(/abort|cancel/i);
    await f.dispose();
    const [partial] = await listCachedModels({ cacheDir: dir });
    expect(partial!.complete).toBe(false);
    expect(partial!.storedBytes).toBeGreaterThanOrEqual(3 * 128 * 1024);
    expect(partial!.storedBytes % (128 * 1024)).toBe(0);
    hub.bytesPerSecond = 0;
    hub.requests.length = 0;
    const g = open(`hf:${stories}`, { download: { pieceBytes: 128 * 1024, retryDelayMs: 20 } });
    expect(await g.ready).toMatchObject({ fromCache: false });
    expect(storiesReference().startsWith(await complete(g))).toBe(true);
    await g.dispose();
    const sent = hub.requests.filter((r) => r.server === 'cdn').reduce((a, r) => a + r.sent, 0);
    expect(sent).toBe(1054464 - partial!.storedBytes);
  });

  it('a corrupted byte is caught by the SHA-256 check and nothing is kept', async () => {
    hub.corrupt.add('stories260K.gguf');
    try {
      const f = open(`hf:${stories}`);
      await expect(f.ready).rejects.toThrow(/stories260K.gguf is corrupt: its SHA-256 is [0-9a-f]{64}, the Hub says [0-9a-f]{64}/);
      const r = await f('http://x/v1/models/x');
      expect(r.status).toBe(503);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/corrupt/);
      await f.dispose();
    } finally {
      hub.corrupt.delete('stories260K.gguf');
    }
    const cached = await listCachedModels({ cacheDir: dir });
    expect(cached.every((m) => !m.complete && m.storedBytes === 0)).toBe(true);
    expect(readdirSync(join(dir, 'files'), { recursive: true }).filter((p) => /manifest|p\d+$/.test(String(p)))).toEqual([]);
  });

  it('picks the GGUF by preference (Q4_0 here) or by quantisation name', async () => {
    const f = open('hf:webinfer/tiny-llama-GGUF');
    expect(await f.ready).toMatchObject({ id: 'webinfer/tiny-llama-GGUF', architecture: 'llama' });
    await f.dispose();
    const g = open('hf:webinfer/tiny-llama-GGUF:Q8_0');
    expect(await g.ready).toMatchObject({ id: 'webinfer/tiny-llama-GGUF:Q8_0' });
    await g.dispose();
    const fetched = hub.requests.filter((r) => r.server === 'hub' && r.path.includes('/resolve/')).map((r) => r.path.split('/').pop());
    expect(fetched).toEqual(['tiny-llama-Q4_0.gguf', 'tiny-llama-Q8_0.gguf']);
  });

  it('a sharded safetensors repository and an ONNX one (only the variant that runs, with its external data)', async () => {
    const st = open({ hub: 'webinfer/tiny-llama' }, { backend: 'cpu' });
    expect(await st.ready).toMatchObject({ format: 'safetensors', architecture: 'llama' });
    expect(await complete(st, 'a', 4)).toBeTypeOf('string');
    await st.dispose();
    hub.requests.length = 0;
    const ox = open('hf:webinfer/tiny-llama-ONNX', { backend: 'auto' });
    const info = await ox.ready;
    expect(info).toMatchObject({ format: 'onnx', backend: 'ort' });
    expect(info.description).toMatch(/onnx\/model_q4\.onnx/);
    const paths = hub.requests.filter((r) => r.server === 'hub' && r.path.includes('/resolve/')).map((r) => r.path.replace(/^.*\/resolve\/main\//, '')).sort();
    expect(paths).toEqual(['config.json', 'generation_config.json', 'onnx/model_q4.onnx', 'onnx/model_q4.onnx_data', 'tokenizer.json', 'tokenizer_config.json']);
    await ox.dispose();
  });

  it('a private repository needs the token; the token goes to the Hub and never to the CDN', async () => {
    const noToken = open('hf:webinfer/private-GGUF');
    await expect(noToken.ready).rejects.toThrow(/could not list webinfer\/private-GGUF/);
    await noToken.dispose();
    const f = open('hf:webinfer/private-GGUF', { accessToken: PRIVATE_TOKEN });
    expect(await f.ready).toMatchObject({ id: 'webinfer/private-GGUF' });
    await f.dispose();
    const hubSide = hub.requests.filter((r) => r.server === 'hub' && r.status !== 401);
    expect(hubSide.length).toBeGreaterThan(1);
    expect(hubSide.every((r) => r.authorization === `Bearer ${PRIVATE_TOKEN}`)).toBe(true);
    const cdn = hub.requests.filter((r) => r.server === 'cdn');
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.every((r) => r.authorization === undefined)).toBe(true);
  });

  it('bad names and missing models fail the load with a clear message and a 503 per request', async () => {
    for (const [model, message] of [
      ['hf:webinfer/nope', /could not list webinfer\/nope/],
      ['hf:webinfer/stories260K-GGUF/missing.gguf', /has no file missing.gguf .*stories260K.gguf/],
      ['hf:justone', /does not name a Hub model/],
    ] as const) {
      const f = open(model);
      await expect(f.ready, model).rejects.toThrow(message);
      const r = await f('http://x/v1/chat/completions', { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) });
      expect(r.status).toBe(503);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('model_load_failed');
      await f.dispose();
    }
    for (const [download, message] of [
      [{ pieceBytes: 0 }, /download.pieceBytes must be an integer from 65536/],
      [{ parallel: 0.5 }, /download.parallel must be an integer from 1 to 64/],
    ] as const) {
      const f = open(`hf:${stories}`, { download });
      await expect(f.ready).rejects.toThrow(message);
      await f.dispose();
    }
    hub.down = true;
    const offline = open(`hf:${stories}`, { download: { retries: 1, retryDelayMs: 10 } });
    await expect(offline.ready).rejects.toThrow(/could not list/);
    await offline.dispose();
  });

  it('not enough space: refused before anything is written, naming the sizes', async () => {
    class Small extends MemoryStorage {
      override async available() {
        return { free: 300_000, quota: 1_000_000, usage: 700_000 };
      }
    }
    const storage = new Small();
    const file = { path: 'm.gguf', size: 1054464, sha256: 'a'.repeat(64) };
    await expect(downloadFiles([{ file, url: `${hub.url}/x`, dir: 'files/m' }], { storage })).rejects.toThrow('not enough storage for this model: it needs 1.05 MB more, and this origin can store 0.30 MB (quota 1.00 MB, 0.70 MB used)');
    expect(await storage.listJson('files/m')).toEqual([]);
    expect(hub.requests).toEqual([]);
  });

  it("a model from the disk kept with storeLocalModel loads as 'local:<name>' with no source at hand", async () => {
    const { readFileSync } = await import('node:fs');
    const { STORIES_GGUF } = await import('./helpers/paths.js');
    const id = await storeLocalModel('stories.gguf', { 'stories.gguf': new Blob([readFileSync(STORIES_GGUF)]) }, { cacheDir: dir, pieceBytes: 300_000 });
    expect(id).toBe('local:stories.gguf');
    expect(await listCachedModels({ cacheDir: dir })).toEqual([expect.objectContaining({ id, size: 1054464, storedBytes: 1054464, complete: true })]);
    const f = open(id);
    expect(await f.ready).toMatchObject({ id: 'stories.gguf', fromCache: true });
    expect(storiesReference().startsWith(await complete(f))).toBe(true);
    await f.dispose();
    const missing = open('local:nothing.gguf');
    await expect(missing.ready).rejects.toThrow(/local:nothing.gguf is not in the cache/);
    await missing.dispose();
    expect(await deleteCachedModel(id, { cacheDir: dir })).toBe(true);
  });

  it('listCachedModels, deleteCachedModel and clearCache', async () => {
    for (const m of [`hf:${stories}`, 'hf:webinfer/tiny-llama-GGUF:Q8_0']) await (await open(m)).ready;
    const list = await listCachedModels({ cacheDir: dir });
    expect(list.map((m) => m.id).sort()).toEqual([`hf:${stories}`, 'hf:webinfer/tiny-llama-GGUF:Q8_0']);
    expect(list.every((m) => m.complete && m.size === m.storedBytes && m.size > 0)).toBe(true);
    expect(await deleteCachedModel(`hf:${stories}`, { cacheDir: dir })).toBe(true);
    expect(await deleteCachedModel(`hf:${stories}`, { cacheDir: dir })).toBe(false);
    expect((await listCachedModels({ cacheDir: dir })).map((m) => m.id)).toEqual(['hf:webinfer/tiny-llama-GGUF:Q8_0']);
    expect(readdirSync(join(dir, 'files'), { recursive: true }).filter((p) => String(p).endsWith('manifest.json'))).toEqual([join('webinfer', 'tiny-llama-GGUF', 'main', 'tiny-llama-Q8_0.gguf', 'manifest.json')]);
    await clearCache({ cacheDir: dir });
    expect(await listCachedModels({ cacheDir: dir })).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});
