// The gated feed-forward's activation: g = act(g) × u, act SiLU (x · σ(x)) or GELU with the tanh
// approximation (0.5 x (1 + tanh z) = x · σ(2z), z = √(2/π) (x + 0.044715 x³)), four lanes in
// float32. σ(t) = 1 / (1 + e^-t) through e = e^-|t| (Cephes' expf, simd.ts), so nothing overflows:
// 1 / (1 + e) for t ≥ 0, e / (1 + e) below. Within a few float32 ulps of the CPU reference's
// float64 (src/engine/cpu/forward.ts); a float64 Math.exp per element cost ~9.5 ns, a tenth of a
// 135M model's prompt step. Every element takes the same lane arithmetic wherever it sits (the
// tail goes through a vector too), so a row's values do not depend on the rows beside it.
import { expNeg } from './simd';

// @ts-ignore: decorator
@inline function sigmoid(t: v128): v128 {
  const e = expNeg(f32x4.neg(f32x4.abs(t)));
  const r = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
  return v128.bitselect(r, f32x4.mul(e, r), f32x4.ge(t, f32x4.splat(0)));
}

// @ts-ignore: decorator
@inline function act(x: v128, gelu: bool): v128 {
  if (!gelu) return f32x4.mul(x, sigmoid(x));
  const z = f32x4.mul(x, f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(0.044715), f32x4.mul(x, x))));
  return f32x4.mul(x, sigmoid(f32x4.mul(z, f32x4.splat(2 * 0.7978845608028654)))); // 2 √(2/π)
}

// @ts-ignore: decorator
@inline function gated(g: usize, u: usize, n: i32, gelu: bool): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = g + (<usize>i << 2);
    v128.store(p, f32x4.mul(act(v128.load(p), gelu), v128.load(u + (<usize>i << 2))));
  }
  for (; i < n; i++) {
    const p = g + (<usize>i << 2);
    store<f32>(p, f32x4.extract_lane(f32x4.mul(act(f32x4.splat(load<f32>(p)), gelu), f32x4.splat(load<f32>(u + (<usize>i << 2)))), 0));
  }
}

/** g[i] = act(g[i]) × u[i], i < n; act SiLU (gelu = 0) or GELU (tanh approximation). */
export function gatedAct(g: usize, u: usize, n: i32, gelu: i32): void {
  if (gelu) gated(g, u, n, true);
  else gated(g, u, n, false);
}

/** gatedAct on rows r0 .. r1 - 1 of g, u [rows × n], with the thread pool's kernel signature. */
export function gatedActRows(g: usize, u: usize, n: i32, gelu: i32, _4: i32, _5: i32, _6: i32, _7: i32, rows: i32, r0: i32, r1: i32): void {
  const at = (<usize>r0 * <usize>n) << 2;
  gatedAct(g + at, u + at, (r1 - r0) * n, gelu);
}
