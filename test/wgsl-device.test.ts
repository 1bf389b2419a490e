/**
 * The page's GPU device (Node, Dawn, SwiftShader): shared by the models loaded on it, each
 * freeing what it made; and lost: work on it fails with a 503 `device_lost` OpenAI error, and the
 * next request reloads the model on a new device and is answered correctly.
 */
import { expect, it } from 'vitest';
import { APIError } from '../src/api/errors.js';
import { loadWgsl } from '../src/engine/wgsl/backend.js';
import { acquireDevice } from '../src/engine/wgsl/device.js';
import { EngineHost } from '../src/worker/host.js';
import type { PortToPage } from '../src/worker/protocol.js';
import { STORIES_GGUF, storiesReference } from './helpers/paths.js';

/** Sends one request through the host's port protocol and collects the response. */
function request(host: EngineHost, body: object): Promise<{ status: number; text: string }> {
  const channel = new MessageChannel();
  return new Promise((resolve) => {
    let status = 0;
    let text = '';
    const dec = new TextDecoder();
    channel.port1.onmessage = (e: MessageEvent<PortToPage>) => {
      const m = e.data;
      if (m.type === 'head') status = m.status;
      if (m.type === 'chunk') text += dec.decode(m.bytes);
      if (m.type === 'end' || m.type === 'error') {
        channel.port1.close();
        resolve({ status, text });
      }
    };
    host.fetch({ url: 'http://webinfer.local/v1/completions', method: 'POST', headers: [], body: JSON.stringify(body) }, channel.port2);
  });
}

it('a lost device answers 503 device_lost, then the model is reloaded', async () => {
  const host = new EngineHost();
  expect((await host.load({ model: STORIES_GGUF, backend: 'wgsl' })).backend).toBe('wgsl');
  const ok = await request(host, { prompt: '', max_tokens: 8, temperature: 0 });
  expect(storiesReference().startsWith(JSON.parse(ok.text).choices[0].text)).toBe(true);

  const runner = (host as unknown as { engine: { runner: { device: GPUDevice; forward(t: number[], p: number): Promise<Float32Array> } } }).engine.runner;
  runner.device.destroy();
  await new Promise((r) => setTimeout(r, 50)); // device.lost resolves asynchronously
  const err = await runner.forward([1], 0).catch((e: unknown) => e);
  expect(APIError.from(err).toJSON().error.code).toBe('device_lost');
  expect(APIError.from(err).status).toBe(503);

  const again = await request(host, { prompt: '', max_tokens: 32, temperature: 0 });
  expect(again.status).toBe(200);
  expect(storiesReference().startsWith(JSON.parse(again.text).choices[0].text)).toBe(true);
  await host.unload();
}, 60_000);

it('models share the device: a second load compiles no pipeline, and dispose frees every buffer a model made', async () => {
  const { device } = await acquireDevice();
  const live = new Set<GPUBuffer>();
  let compiled = 0;
  const { createBuffer, createComputePipelineAsync } = device;
  device.createBuffer = (d) => {
    const b = createBuffer.call(device, d);
    live.add(b);
    const destroy = b.destroy;
    b.destroy = () => {
      live.delete(b);
      destroy.call(b);
    };
    return b;
  };
  device.createComputePipelineAsync = (d) => {
    compiled++;
    return createComputePipelineAsync.call(device, d);
  };
  try {
    const logits: Float32Array[] = [];
    const counts: number[] = [];
    for (let round = 0; round < 2; round++) {
      for (const kernels of ['cpu-backed', 'gpu'] as const) {
        const { runner } = await loadWgsl(STORIES_GGUF, { maxModelLen: 64, kernels });
        expect((runner as unknown as { device: GPUDevice }).device).toBe(device);
        expect(live.size).toBeGreaterThan(10);
        logits.push(await runner.forward([1, 365, 1510, 263], 0));
        runner.dispose();
        expect(live.size, `${kernels}: buffers left after dispose`).toBe(0);
      }
      counts.push(compiled);
    }
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1], 'pipelines compiled by the second round').toBe(counts[0]);
    // the same pipelines give the same logits
    expect(logits[2]).toEqual(logits[0]);
    expect(logits[3]).toEqual(logits[1]);
  } finally {
    device.createBuffer = createBuffer;
    device.createComputePipelineAsync = createComputePipelineAsync;
  }
}, 120_000);
