// Attention over the paged KV cache for T consecutive query positions of one sequence (a prompt
// chunk, or one decoded token), float32 as in the CPU reference: scores q·k × scale (soft-capped
// for Gemma 2), softmax, and the weighted sum of the values. Grouped-query heads share their kv
// head. Each query row is computed on its own, the same whatever other rows or sequences ran in
// the same call, which is what makes a batched step give a sequence's solo results bit for bit.
//
// The cache of a layer is rows of kvDim elements, float32 or float16 (`half`); a sequence's
// position p lives in row table[p / 16] × 16 + p % 16 (16: KV_BLOCK_SIZE, src/engine/backend.ts).
import { f16, f16x4, hsum } from './simd';

// @ts-ignore: decorator
@inline const BLOCK_SHIFT = 4;

/** The cache row of position p through the block table. */
// @ts-ignore: decorator
@inline function rowOf(table: usize, p: i32): usize {
  return ((<usize>load<i32>(table + (<usize>(p >> BLOCK_SHIFT) << 2))) << BLOCK_SHIFT) + <usize>(p & ((1 << BLOCK_SHIFT) - 1));
}

/** Four cache elements at element index i of the row at r, as float32. */
// @ts-ignore: decorator
@inline function load4(r: usize, i: i32, half: bool): v128 {
  return half ? f16x4(v128.load16x4_u(r + (<usize>i << 1))) : v128.load(r + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function load1(r: usize, i: i32, half: bool): f32 {
  return half ? f16(r + (<usize>i << 1)) : load<f32>(r + (<usize>i << 2));
}

/** q (float32) · the cache row at r, n elements. */
// @ts-ignore: decorator
@inline function dot(a: usize, r: usize, n: i32, half: bool): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>i << 2)), load4(r, i, half)));
  let s = hsum(acc);
  for (; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * load1(r, i, half);
  return s;
}

// @ts-ignore: decorator
@inline function attend(q: usize, kc: usize, vc: usize, table: usize, out: usize, scores: usize, T: i32, pos: i32, nHeads: i32, nKvHeads: i32, headDim: i32, window: i32, scale: f32, softcap: f32, half: bool): void {
  const kvDim = nKvHeads * headDim;
  const qDim = nHeads * headDim;
  const group = nHeads / nKvHeads;
  const rowBytes = <usize>kvDim << (half ? 1 : 2);
  const es: usize = half ? 1 : 2; // log2 of the element size
  for (let t = 0; t < T; t++) {
    const p = pos + t;
    const first = max(0, p - window + 1);
    const n = p + 1 - first;
    for (let h = 0; h < nHeads; h++) {
      const qh = q + (<usize>(t * qDim + h * headDim) << 2);
      const kvo = <usize>((h / group) * headDim) << es;
      let mx: f32 = -Infinity;
      for (let i = 0; i < n; i++) {
        let s = dot(qh, kc + rowOf(table, first + i) * rowBytes + kvo, headDim, half) * scale;
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
        for (let i = 0; i < n; i++) acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(scores + (<usize>i << 2))), load4(vc + rowOf(table, first + i) * rowBytes + kvo, d, half)));
        v128.store(o + (<usize>d << 2), f32x4.mul(acc, f32x4.splat(inv)));
      }
      for (; d < headDim; d++) {
        let acc: f32 = 0;
        for (let i = 0; i < n; i++) acc += load<f32>(scores + (<usize>i << 2)) * load1(vc + rowOf(table, first + i) * rowBytes + kvo, d, half);
        store<f32>(o + (<usize>d << 2), acc * inv);
      }
    }
  }
}

/**
 * q, out: [T × nHeads·headDim] float32; kc, vc: one layer's cache (float16 when `half`);
 * table: the sequence's block ids (i32), covering positions up to pos + T - 1, all written;
 * scores: [min(pos + T, window)] floats of scratch. Query t sits at position pos + t and sees the
 * positions max(0, pos + t - window + 1) .. pos + t.
 */
export function attention(q: usize, kc: usize, vc: usize, table: usize, out: usize, scores: usize, T: i32, pos: i32, nHeads: i32, nKvHeads: i32, headDim: i32, window: i32, scale: f32, softcap: f32, half: i32): void {
  if (half) attend(q, kc, vc, table, out, scores, T, pos, nHeads, nKvHeads, headDim, window, scale, softcap, true);
  else attend(q, kc, vc, table, out, scores, T, pos, nHeads, nKvHeads, headDim, window, scale, softcap, false);
}

/** float32 → float16 bits, rounded to the nearest, ties to even (as src/formats/dtypes.ts's f32ToF16). */
// @ts-ignore: decorator
@inline function toHalf(v: f32): u32 {
  const x = reinterpret<u32>(v);
  const sign = (x >> 16) & 0x8000;
  const exp = <i32>((x >> 23) & 0xff);
  let mant = x & 0x7fffff;
  if (exp == 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = <u32>(14 - e);
    let h = mant >> shift;
    const rem = mant & ((<u32>1 << shift) - 1);
    const mid = <u32>1 << (shift - 1);
    if (rem > mid || (rem == mid && (h & 1) != 0)) h++;
    return sign | h;
  }
  let h = (<u32>e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++; // a carry into the exponent is right, up to infinity
  return sign | h;
}

/** Stores n float32 values from src as the cache's elements at dst: copied, or as float16 (`half`). */
export function storeKv(src: usize, dst: usize, n: i32, half: i32): void {
  if (!half) {
    memory.copy(dst, src, <usize>n << 2);
    return;
  }
  for (let i = 0; i < n; i++) store<u16>(dst + (<usize>i << 1), <u16>toHalf(load<f32>(src + (<usize>i << 2))));
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
