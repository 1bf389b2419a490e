/**
 * shaders/quantize.wgsl: a step's inputs to a Q4_0W, Q5_0W or Q8_0W matrix rounded to integers, 18 words
 * per block of 32 (the layouts shaders/int_q4_0.wgsl and int_q8_0.wgsl read). A thread per block and token.
 */
import { bind, type Op, type PipelineCache } from './op.js';

/** Words of quantised input for `tokens` tokens of K inputs. */
export function quantizedWords(K: number, tokens: number): number {
  return (K / 32) * 18 * tokens;
}

export async function quantizeOp(cache: PipelineCache, a: { label: string; entry: 'quantize' | 'quantize8'; K: number; x: GPUBuffer; xOffset?: number; xq: GPUBuffer; tokens?: number; step: GPUBuffer }): Promise<Op> {
  if (a.K % 32 !== 0) throw new Error(`${a.label}: integer inputs come in blocks of 32, got K=${a.K}`);
  const pipeline = await cache.get('quantize', a.entry);
  const params = cache.uniform([a.K, a.xOffset ?? 0, a.tokens ?? 0, 0], `${a.label}.params`);
  return {
    label: a.label,
    pipeline,
    bindGroup: bind(cache.device, pipeline, { 0: a.x, 1: a.xq, 2: params, 3: a.step }, a.label),
    workgroups: (T) => [Math.ceil(a.K / 32 / 16), a.tokens ?? T, 1],
  };
}
