/**
 * The ort backend in headless Chromium, inside the Web Worker: the exported stories260K reproduces
 * the reference text on the WebGPU execution provider (SwiftShader here; KV cache on the GPU) and
 * on the WASM execution provider, and webinfer's WGSL sampler on ORT's device gives the CPU
 * sampler's answers.
 */
import { expect, it } from 'vitest';
import { storiesReference } from '../helpers/paths.js';
import { openTestPage, useTestPage } from '../helpers/browser.js';

const t = useTestPage('/test/browser/pages/ort.html', 'ortTest');


it.each([
  ['fp32', 'webgpu', 'native'],
  ['fp32', 'webgpu', 'jsep'],
  ['fp32', 'wasm', ''],
])('%s on the %s execution provider %s reproduces the reference text', async (variant, ep, ortWebgpu) => {
  const r = await t.page.evaluate(([v, e, w]) => (window as any).ortTest.greedy(v, e, {}, w ? { ortWebgpu: w } : {}), [variant, ep, ortWebgpu]);
  if (r.text !== storiesReference()) console.log(t.log.join('\n'));
  expect(r.info.backend).toBe('ort');
  expect(r.info.description).toContain(`${ep} execution provider${ortWebgpu ? `, ${ortWebgpu === 'jsep' ? 'JSEP' : 'native'}` : ''}`);
  expect(r.text).toBe(storiesReference());
}, 180_000);

it('a float16 export on the WASM provider reproduces the reference text; on WebGPU without shader-f16 it is refused at load, clearly', async () => {
  const wasm = await t.page.evaluate(() => (window as any).ortTest.greedy('fp16', 'wasm'));
  expect(wasm.info.description).toContain('onnx/model_fp16.onnx');
  expect(wasm.text).toBe(storiesReference());
  // SwiftShader has no shader-f16, which ORT's WebGPU provider needs for float16 tensors.
  const gpu = await t.page.evaluate(() => (window as any).ortTest.loadFailure('q4f16', 'webgpu'));
  expect(gpu.message).toMatch(/model_q4f16\.onnx computes in float16.*shader-f16/);
  expect(gpu.status).toBe(503);
  expect(gpu.body.error.message).toContain('shader-f16');
}, 180_000);

it('on a cross-origin isolated page the WASM provider runs multi-threaded and gives the same text', async () => {
  const isolated = await openTestPage('/test/browser/pages/ort.html', 'ortTest', { isolated: true });
  try {
    expect(await isolated.page.evaluate(() => crossOriginIsolated)).toBe(true);
    const r = await isolated.page.evaluate(() => (window as any).ortTest.greedy('fp32', 'wasm'));
    expect(r.info.description).toMatch(/wasm execution provider, [2-9] thread/);
    expect(r.text).toBe(storiesReference());
  } finally {
    await isolated.close();
  }
}, 180_000);

it('seeded sampling with penalties: the WGSL sampler on ORT WebGPU gives the CPU sampler answer on WASM', async () => {
  const params = { max_tokens: 40, temperature: 0.9, top_p: 0.9, seed: 3, frequency_penalty: 0.5, return_token_ids: true, logprobs: 2 };
  // SwiftShader is CPU-backed, where ORT WebGPU samples on the CPU by default: the GPU sampler is asked for.
  const [gpu, cpu] = await t.page.evaluate(async (p) => [await (window as any).ortTest.greedy('fp32', 'webgpu', p, { gpuSampling: true }), await (window as any).ortTest.greedy('fp32', 'wasm', p)], params);
  expect(gpu.res.choices[0].completion_token_ids).toEqual(cpu.res.choices[0].completion_token_ids);
  gpu.res.choices[0].logprobs.token_logprobs.forEach((v: number, i: number) => expect(v).toBeCloseTo(cpu.res.choices[0].logprobs.token_logprobs[i], 3));
}, 180_000);

it.each([
  ['native', 'in-place KV cache'],
  ['jsep', 'webgpu execution provider, JSEP)'],
])('a GroupQueryAttention export on the %s WebGPU provider gives the CPU reference tokens, also after rewinding to a shared prefix', async (ortWebgpu, described) => {
  const r = await t.page.evaluate((w) => (window as any).ortGenai.compare(w), ortWebgpu);
  if (JSON.stringify(r.ort) !== JSON.stringify(r.cpu)) console.log(t.log.join('\n'));
  expect(r.info.description).toContain(described);
  expect(r.ort).toEqual(r.cpu);
}, 180_000);
