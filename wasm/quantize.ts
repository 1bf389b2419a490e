// Inputs rounded for the integer dot products (matmul.ts), as llama.cpp's quantize_row_q8_0:
// per block of 32, q = round(x × 127 / m) with m the block's largest |x|, kept with the scale
// m / 127 and the sums of each 16 q's and of each 32 (sums32, after them; the weights' offsets
// multiply those). Rounding is to the nearest, ties to even, in float32: the CPU reference's
// quantizeInput8 rounds to the same integers (src/engine/cpu/forward.ts), which is what lets the
// tests compare tokens exactly.
// Blocks whose m is below 2^-100 (or NaN) become zeros.

import { sums32 } from './simd';

/** x [T × n] floats → xq [T × n] int8 (relaxed SIMD) or int16 (plain), xd [T × n/32] f32 scales, xs [T × n/16] i32 sums then [T × n/32] more (sums32). */
export function quantize(x: usize, n: i32, T: i32, xq: usize, xd: usize, xs: usize): void {
  quantizeBlocks(x, n, T, xq, xd, xs, 0, T * (n >> 5));
}

/** quantize for tokens r0 .. r1 - 1 of the T (`rows`), with the thread pool's kernel signature. */
export function quantizeRows(x: usize, n: i32, T: i32, xq: usize, xd: usize, xs: usize, _6: i32, _7: i32, rows: i32, r0: i32, r1: i32): void {
  quantizeBlocks(x, n, T, xq, xd, xs, r0 * (n >> 5), r1 * (n >> 5));
}

/**
 * Blocks b0 .. b1 - 1 of the T × n/32. The largest |x| is an integer max of the |x| bits: for
 * values ≥ 0 their order is the floats' order, and a NaN's bits are above every number's, so it
 * gives what f32x4.max gives (NaN if any is) in one instruction where V8 spends seven.
 */
// @ts-ignore: decorator
@inline function quantizeBlocks(x: usize, n: i32, T: i32, xq: usize, xd: usize, xs: usize, b0: i32, b1: i32): void {
  const xb = sums32(xs, T, n);
  for (let b = <usize>b0; b < <usize>b1; b++) {
    const p = x + (b << 7);
    const v0 = v128.load(p), v1 = v128.load(p + 16), v2 = v128.load(p + 32), v3 = v128.load(p + 48);
    const v4 = v128.load(p + 64), v5 = v128.load(p + 80), v6 = v128.load(p + 96), v7 = v128.load(p + 112);
    const a = i32x4.max_s(i32x4.max_s(i32x4.max_s(f32x4.abs(v0), f32x4.abs(v1)), i32x4.max_s(f32x4.abs(v2), f32x4.abs(v3))), i32x4.max_s(i32x4.max_s(f32x4.abs(v4), f32x4.abs(v5)), i32x4.max_s(f32x4.abs(v6), f32x4.abs(v7))));
    const m = max(max(f32x4.extract_lane(a, 0), f32x4.extract_lane(a, 1)), max(f32x4.extract_lane(a, 2), f32x4.extract_lane(a, 3)));
    const out = xq + (b << (ASC_FEATURE_RELAXED_SIMD ? 5 : 6));
    if (!(m >= reinterpret<f32>(0x0d800000))) { // 2^-100; false for NaN too
      v128.store(out, i8x16.splat(0));
      v128.store(out + 16, i8x16.splat(0));
      if (!ASC_FEATURE_RELAXED_SIMD) {
        v128.store(out + 32, i8x16.splat(0));
        v128.store(out + 48, i8x16.splat(0));
      }
      store<f32>(xd + (b << 2), 0);
      store<i32>(xs + (b << 3), 0);
      store<i32>(xs + (b << 3) + 4, 0);
      store<i32>(xb + (b << 2), 0);
      continue;
    }
    const inv = f32x4.splat(<f32>127 / m);
    const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v0, inv)));
    const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v1, inv)));
    const q2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v2, inv)));
    const q3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v3, inv)));
    const q4 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v4, inv)));
    const q5 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v5, inv)));
    const q6 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v6, inv)));
    const q7 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v7, inv)));
    if (ASC_FEATURE_RELAXED_SIMD) {
      v128.store(out, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
      v128.store(out + 16, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q4, q5), i16x8.narrow_i32x4_s(q6, q7)));
    } else {
      v128.store(out, i16x8.narrow_i32x4_s(q0, q1));
      v128.store(out + 16, i16x8.narrow_i32x4_s(q2, q3));
      v128.store(out + 32, i16x8.narrow_i32x4_s(q4, q5));
      v128.store(out + 48, i16x8.narrow_i32x4_s(q6, q7));
    }
    store<f32>(xd + (b << 2), m / <f32>127);
    const s0 = i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3));
    const s1 = i32x4.add(i32x4.add(q4, q5), i32x4.add(q6, q7));
    const lo = i32x4.extract_lane(s0, 0) + i32x4.extract_lane(s0, 1) + i32x4.extract_lane(s0, 2) + i32x4.extract_lane(s0, 3);
    const hi = i32x4.extract_lane(s1, 0) + i32x4.extract_lane(s1, 1) + i32x4.extract_lane(s1, 2) + i32x4.extract_lane(s1, 3);
    store<i32>(xs + (b << 3), lo);
    store<i32>(xs + (b << 3) + 4, hi);
    store<i32>(xb + (b << 2), lo + hi);
  }
}
