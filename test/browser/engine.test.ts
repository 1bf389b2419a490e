/**
 * End to end in headless Chromium: createFetch runs the engine in a real Web Worker, and the
 * stories260K reference text comes back token for token through the openai SDK.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestPage } from '../helpers/browser.js';
import { storiesReference } from '../helpers/paths.js';
import { expectChatStream } from '../helpers/shapes.js';

const t = useTestPage('/test/browser/pages/engine.html', 'webinferTest');

const call = <T>(fn: string, ...args: unknown[]) =>
  t.page.evaluate(([f, a]) => ((window as any).webinferTest[f as string] as (...x: unknown[]) => Promise<unknown>)(...(a as unknown[])), [fn, args] as const) as Promise<T>;

beforeAll(async () => {
  await call('ready');
});

describe('createFetch in Chromium (engine in a Web Worker)', () => {
  it('runs the engine in a dedicated worker', async () => {
    expect(await call('inWorker')).toBe(true);
    const workers = t.page.workers();
    expect(workers.some((w) => w.url().includes('worker'))).toBe(true);
  });

  it('reproduces the stories260K reference text token for token', async () => {
    expect(await call<string>('greedyFromBos', 256)).toBe(storiesReference());
  }, 120_000);

  it('streams chat chunks shaped like OpenAI', async () => {
    const chunks = await call<any[]>('streamChat', 'Tell me a story');
    expect(expectChatStream(chunks, 'stories260K').length).toBeGreaterThan(10);
  });

  it('aborts mid-stream and keeps serving', async () => {
    const r = await call<{ error: string | null; n: number }>('abortMidStream');
    expect([null, 'AbortError']).toContain(r.error);
    expect(r.n).toBe(3);
    expect(storiesReference().startsWith('Once upon a time' + (await call<string>('streamCompletion', 'Once upon a time')))).toBe(true);
  });

  it('carries an OpenAI error across the worker boundary', async () => {
    const r = await call<{ status: number; body: any }>('badRequest');
    expect(r.status).toBe(400);
    expect(r.body.error.type).toBe('invalid_request_error');
    expect(r.body.error.code).toBe('invalid_json');
  });

  it('structured output and tool calls work in the worker; a bad regex is a 400', async () => {
    const r = await call<any>('constrained');
    if (r.json.finish_reason === 'stop') expect(typeof JSON.parse(r.json.message.content)).toBe('object');
    expect(r.call.finish_reason).toBe('tool_calls');
    expect(JSON.parse(r.call.message.tool_calls[0].function.arguments).n).toBeGreaterThanOrEqual(1);
    expect(r.bad.status).toBe(400);
    expect(r.bad.body.error).toMatchObject({ param: 'guided_regex', code: 'invalid_grammar' });
  }, 60_000);

  it('has WebGPU available on SwiftShader (for the wgsl backend to come)', async () => {
    expect((await call<{ page: boolean }>('webgpu')).page).toBe(true);
  });

  it('logged no page errors', () => {
    expect(t.log.filter((l) => l.startsWith('[pageerror]'))).toEqual([]);
  });
});
