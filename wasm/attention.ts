// Attention over the KV cache for T consecutive query positions (a prefill chunk, or one decoded
// token), float32 as in the CPU reference: scores q·k × scale (soft-capped for Gemma 2), softmax,
// and the weighted sum of the values. Grouped-query heads share their kv head.
import { hsum } from './simd';

// @ts-ignore: decorator
@inline function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2))));
  let s = hsum(acc);
  for (; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

/**
 * q, out: [T × nHeads·headDim]; kc, vc: [positions × kvDim] of one layer, filled up to pos + T - 1;
 * scores: [pos + T] floats of scratch. Query t sits at position pos + t and sees the positions
 * max(0, pos + t - window + 1) .. pos + t.
 */
export function attention(q: usize, kc: usize, vc: usize, out: usize, scores: usize, T: i32, pos: i32, nHeads: i32, nKvHeads: i32, headDim: i32, window: i32, scale: f32, softcap: f32): void {
  const kvDim = nKvHeads * headDim;
  const qDim = nHeads * headDim;
  const group = nHeads / nKvHeads;
  for (let t = 0; t < T; t++) {
    const p = pos + t;
    const first = max(0, p - window + 1);
    const n = p + 1 - first;
    for (let h = 0; h < nHeads; h++) {
      const qh = q + (<usize>(t * qDim + h * headDim) << 2);
      const kvo = (h / group) * headDim;
      let mx: f32 = -Infinity;
      for (let i = 0; i < n; i++) {
        let s = dot(qh, kc + (<usize>((first + i) * kvDim + kvo) << 2), headDim) * scale;
        if (softcap > 0) s = softcap * <f32>Math.tanh(<f64>(s / softcap));
        store<f32>(scores + (<usize>i << 2), s);
        mx = max(mx, s);
      }
      let sum: f64 = 0;
      for (let i = 0; i < n; i++) {
        const e = <f32>Math.exp(<f64>(load<f32>(scores + (<usize>i << 2)) - mx));
        store<f32>(scores + (<usize>i << 2), e);
        sum += e;
      }
      const inv = <f32>(1 / sum);
      const o = out + (<usize>(t * qDim + h * headDim) << 2);
      let d = 0;
      for (; d + 4 <= headDim; d += 4) {
        let acc = f32x4.splat(0);
        for (let i = 0; i < n; i++) acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(scores + (<usize>i << 2))), v128.load(vc + (<usize>((first + i) * kvDim + kvo + d) << 2))));
        v128.store(o + (<usize>d << 2), f32x4.mul(acc, f32x4.splat(inv)));
      }
      for (; d < headDim; d++) {
        let acc: f32 = 0;
        for (let i = 0; i < n; i++) acc += load<f32>(scores + (<usize>i << 2)) * load<f32>(vc + (<usize>((first + i) * kvDim + kvo + d) << 2));
        store<f32>(o + (<usize>d << 2), acc * inv);
      }
    }
  }
}

/**
 * g[i] = act(g[i]) × u[i] for the gated feed-forward, act SiLU (gelu = 0) or GELU with the tanh
 * approximation; in float64 as the CPU reference computes it, rounded once to float32.
 */
export function gatedAct(g: usize, u: usize, n: i32, gelu: i32): void {
  for (let i = 0; i < n; i++) {
    const p = g + (<usize>i << 2);
    const x = <f64>load<f32>(p);
    const a = gelu ? 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))) : x / (1 + Math.exp(-x));
    store<f32>(p, <f32>(a * <f64>load<f32>(u + (<usize>i << 2))));
  }
}
