/** shaders/elementwise.wgsl: the FFN activations (SiLU·up, GELU·up), scaling, soft-capping and residual adds. */
import { bind, grid, type Op, type PipelineCache } from './op.js';

export type ElementwiseKind = 'silu_mul' | 'gelu_mul' | 'scale' | 'softcap' | 'add';

/**
 * `x` op= `y` over the step's T rows of `width` (or a fixed `rows`): `y` is the second operand
 * of silu_mul, gelu_mul and add; `value` the factor of scale and the cap of softcap.
 */
export async function elementwiseOp(
  cache: PipelineCache,
  a: { kind: ElementwiseKind; label?: string; width: number; x: GPUBuffer; y?: GPUBuffer; value?: number; rows?: number; step: GPUBuffer; dummy?: GPUBuffer },
): Promise<Op> {
  const pipeline = await cache.get('elementwise', a.kind);
  const label = a.label ?? a.kind;
  const params = cache.uniform([a.width, a.rows ?? 0, { f32: a.value ?? 0 }, 0], `${label}.params`);
  const y = a.y ?? a.dummy;
  if (!y) throw new Error(`${label}: needs a second buffer (or a dummy one)`);
  const entries: Record<number, GPUBuffer> = { 0: a.x, 2: params, 3: a.step };
  // 'auto' layouts drop bindings an entry point does not use.
  if (a.kind === 'silu_mul' || a.kind === 'gelu_mul' || a.kind === 'add') entries[1] = y;
  return {
    label,
    pipeline,
    bindGroup: bind(cache.device, pipeline, entries, label),
    workgroups: (T) => grid(Math.ceil(((a.rows ?? T) * a.width) / 64)),
  };
}

/** The gated FFN's activation in place on `gate`: SiLU (Llama, Qwen, Phi-3) or GELU (Gemma), times `up`. */
export function siluMulOp(cache: PipelineCache, a: { width: number; gate: GPUBuffer; up: GPUBuffer; step: GPUBuffer; gelu?: boolean }): Promise<Op> {
  return elementwiseOp(cache, { kind: a.gelu ? 'gelu_mul' : 'silu_mul', width: a.width, x: a.gate, y: a.up, step: a.step });
}
