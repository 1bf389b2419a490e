/** Model sources (path, URL, Blob, bytes, file map), progress reporting, and load failures. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../scripts/convert-llama2c.js';
import { loadCpu } from '../src/engine/cpu/backend.js';
import type { LoadProgress } from '../src/model/load.js';
import { createFetch } from '../src/index.js';
import { serveStatic } from './helpers/browser.js';
import { GENERATED, ROOT, STORIES_DIR, STORIES_GGUF } from './helpers/paths.js';

let server: { url: string; close(): Promise<void> };
beforeAll(async () => {
  server = await serveStatic(ROOT);
});
afterAll(() => server.close());

async function firstLogits(source: Parameters<typeof loadCpu>[0]): Promise<Float32Array> {
  const { runner } = await loadCpu(source, {});
  return (await runner.forward([1, 300, 301], 0)).slice();
}

describe('model sources', () => {
  let expected: Float32Array;
  beforeAll(async () => {
    expected = await firstLogits(STORIES_GGUF);
  });
  it('a GGUF by URL, as a Blob, as an ArrayBuffer and as a file map give identical logits', async () => {
    const bytes = readFileSync(STORIES_GGUF);
    expect(await firstLogits(`${server.url}/models/stories260K.gguf`)).toEqual(expected);
    expect(await firstLogits(new Blob([bytes]))).toEqual(expected);
    expect(await firstLogits(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))).toEqual(expected);
    expect(await firstLogits({ 'stories260K.gguf': new Blob([bytes]) })).toEqual(expected);
  });
  it('a Hugging Face directory by URL and as a file map equals the same directory from disk', async () => {
    const dir = join(GENERATED, 'llama-hf-sharded-f16');
    const fromDisk = await firstLogits(dir);
    expect(await firstLogits(`${server.url}/test/.generated/llama-hf-sharded-f16/`)).toEqual(fromDisk);
    const files = Object.fromEntries(readdirSync(dir).map((f) => [f, new Blob([readFileSync(join(dir, f))])]));
    expect(await firstLogits(files)).toEqual(fromDisk);
  });
});

describe('progress', () => {
  it('reports monotonic byte counts up to the file size', async () => {
    const events: LoadProgress[] = [];
    await loadCpu(`${server.url}/models/stories260K.gguf`, { onProgress: (p) => events.push(p) });
    const size = readFileSync(STORIES_GGUF).length;
    expect(events.length).toBeGreaterThan(0);
    for (let i = 1; i < events.length; i++) expect(events[i]!.loadedBytes).toBeGreaterThanOrEqual(events[i - 1]!.loadedBytes);
    expect(events.at(-1)).toMatchObject({ loadedBytes: size, totalBytes: size, progress: 1 });
  });
});

describe('load failures', () => {
  it('a missing model fails `ready` and answers requests with 503', async () => {
    const f = createFetch({ model: join(ROOT, 'models', 'nope.gguf') });
    await expect(f.ready).rejects.toThrow(/does not exist/);
    const res = await f('http://webinfer.local/v1/models');
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe('model_load_failed');
  });
  it('an unsupported architecture is named in the error', async () => {
    const bytes = readFileSync(STORIES_GGUF);
    const patched = Buffer.from(bytes);
    const at = patched.indexOf('llama');
    patched.write('gemma', at); // general.architecture value
    await expect(loadCpu(new Blob([patched]), {})).rejects.toThrow(/architecture "gemma" is not supported/);
  });
  it('a tensor type webinfer does not read is named, with the types it reads, as a 503 on requests', async () => {
    const patched = Buffer.from(readFileSync(STORIES_GGUF));
    // the tensor info of blk.0.attn_q.weight: name, 2 dims (u32 count, u64 each), then the u32 type
    const name = Buffer.from('blk.0.attn_q.weight');
    const at = patched.indexOf(name) + name.length + 4 + 2 * 8;
    expect(patched.readUInt32LE(at)).toBe(0); // F32
    patched.writeUInt32LE(16, at); // IQ2_XXS
    const f = createFetch({ model: new Blob([patched]) });
    await expect(f.ready).rejects.toThrow(/blk\.0\.attn_q\.weight has type IQ2_XXS, which webinfer does not read \(it reads F32, F16, BF16, Q4_0, .*IQ4_XS\)/);
    const res = await f('http://webinfer.local/v1/chat/completions', { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatchObject({ type: expect.any(String), code: 'model_load_failed', message: expect.stringMatching(/IQ2_XXS/) });
  });
  it('a directory without config.json is refused clearly', async () => {
    await expect(loadCpu(join(ROOT, 'demo'), {})).rejects.toThrow(/no config.json/);
  });
});

describe('convert-llama2c', () => {
  it('reproduces the committed models/stories260K.gguf byte for byte', () => {
    const out = convertLlama2c(readFileSync(join(STORIES_DIR, 'stories260K.bin')), readFileSync(join(STORIES_DIR, 'tok512.bin')), 'stories260K');
    expect(Buffer.compare(Buffer.from(out), readFileSync(STORIES_GGUF))).toBe(0);
  });
});
