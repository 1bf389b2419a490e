/**
 * A lost GPU device: work on it fails with a 503 `device_lost` OpenAI error, and the next request
 * reloads the model and is answered correctly. Node, Dawn, SwiftShader.
 */
import { expect, it } from 'vitest';
import { APIError } from '../src/api/errors.js';
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
