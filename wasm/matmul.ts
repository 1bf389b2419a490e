// Matrix × activations for every weight type webinfer reads, on the stored blocks (ggml layouts,
// ggml-common.h; src/formats/dtypes.ts decodes the same bytes in TypeScript).
//
// out[t, r] = W[r, :] · x[t, :] for rows r0 .. r1-1 (one thread's share) and tokens 0 .. T-1.
// Quantised weights meet the inputs as llama.cpp meets them on CPUs: x rounded per block of 32 to
// int8 at the scale max|x| / 127 (quantize.ts), the block dot products in integers, one float
// multiply by the two scales per block. Unsigned weight codes (Q4_0's 0..15, Q6_K's 0..63, ...)
// are multiplied as they are stored and their offset subtracted once per group with the sum of
// the inputs (Σ (q - 8)·a = Σ q·a - 8 Σ a), which is what lets relaxed SIMD's 7-bit dot take them.
// Float weights (F32, F16, BF16) multiply the float inputs.
//
// Each quantised type is a class of inlined methods (its block size and the dot product of one
// block), and generic loops run them. A token that is not part of a prompt tile (every decode
// step) reads the matrix one row at a time, front to back: one sequential stream is what a CPU's
// prefetchers follow best, and it reads a matrix beyond the caches ~1.8x faster than four rows
// side by side did (measured: ARCHITECTURE.md).
//
// Every export has the same parameters, so the host and its threads call them by index:
//   w     the matrix's first row         cols  inputs per row (a multiple of the block size)
//   xq    rounded inputs [T × cols]      xd    f32 scale per 32 inputs [T × cols/32]
//         (int8 with relaxed SIMD, int16 without: simd.ts)
//   xs    i32 sum per 16 inputs [T × cols/16], then per 32 [T × cols/32] (sums32)
//                                        xf    float inputs [T × cols] (float weights)
//   T     tokens                         out   f32 [T × rows]
//   rows  the matrix's rows (out's stride)      r0, r1  the rows to compute
import { dotS, dotSv, dotU, dotUAcc, dotUv, dotUvAcc, f16, fma, fmaV, highNibbles, highNibblesBeside, hsum, inputA, inputB, lowNibbles, nibblesHi, nibblesLo, keepOrder, splatAtRunTime, tileSums, spreadBits, sums32 } from './simd';

/** The pair of sums of 16 inputs that cover inputs 32b .. 32b+31. */
// @ts-ignore: decorator
@inline function sum32(xs: usize, b: i32): i32 {
  return load<i32>(xs + (<usize>b << 3)) + load<i32>(xs + (<usize>b << 3) + 4);
}

/** The sum of the 16 inputs of group g. */
// @ts-ignore: decorator
@inline function sum16(xs: usize, g: i32): i32 {
  return load<i32>(xs + (<usize>g << 2));
}

// @ts-ignore: decorator
@inline function scaleOf(xd: usize, b: i32): f32 {
  return load<f32>(xd + (<usize>b << 2));
}

/** acc + v spread over the four lanes (the final horizontal sum adds it back up). */
// @ts-ignore: decorator
@inline function addScalar(acc: v128, v: f32): v128 {
  return f32x4.add(acc, f32x4.splat(v * 0.25));
}

// ---- blocks of 32 -------------------------------------------------------------------------------
// Decoding and multiplying are separate so a prefill decodes a block once for several tokens:
// lo(p), hi(p) the block's first and last 16 weight codes, d(p) its scale and m(p) its minimum
// (hasMin false: none), bias(sum) the integers a token's dot product starts from (the codes'
// offset times the sum of its 32 inputs, spread over the four lanes), and
// dot(lo, hi, a0, a1, a2, a3, bias, sum, ds, ms, acc): acc plus the block's dot product with its
// 32 inputs (simd.ts, dotUv: a0, a1 the first 16, a2, a3 the next), their sum, and the scales d
// and m times the inputs' scale (ds in every lane). A prompt tile computes a token's bias and
// scale once for its rows (rows32).

/** Σ w·a of a block of signed codes, times ds, added to acc. */
// @ts-ignore: decorator
@inline function signedDot(lo: v128, hi: v128, a0: v128, a1: v128, a2: v128, a3: v128, ds: v128, acc: v128): v128 {
  return fmaV(acc, i32x4.add(dotSv(lo, a0, a1), dotSv(hi, a2, a3)), ds);
}

/**
 * The integers Σ (q - offset)·a starts from: relaxed SIMD multiplies the codes as stored and adds
 * -offset Σ a, spread over the four lanes; plain SIMD has the offset taken off the codes (it
 * widens them anyway).
 */
// @ts-ignore: decorator
@inline function offsetBias(sum: i32, offset: i32): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? i32x4.splat((-offset >> 2) * sum) : i32x4.splat(0);
}

/** Σ (q - offset)·a of a block of unsigned codes (bias: offsetBias), times ds, added to acc. */
// @ts-ignore: decorator
@inline function offsetDot(lo: v128, hi: v128, a0: v128, a1: v128, a2: v128, a3: v128, bias: v128, ds: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return fmaV(acc, dotUvAcc(hi, a2, a3, dotUvAcc(lo, a0, a1, bias)), ds);
  return signedDot(lo, hi, a0, a1, a2, a3, ds, acc);
}

/** The codes as offsetDot takes them: as stored for relaxed SIMD, less the offset for plain. */
// @ts-ignore: decorator
@inline function offsetCodes(q: v128, offset: i8): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? q : i8x16.sub(q, i8x16.splat(offset));
}

/** Σ (d q + m)·a of a block of unsigned codes (ds, ms: d and m times the inputs' scale). */
// @ts-ignore: decorator
@inline function minDot(lo: v128, hi: v128, a0: v128, a1: v128, a2: v128, a3: v128, sum: i32, ds: v128, ms: f32, acc: v128): v128 {
  return addScalar(fmaV(acc, dotUvAcc(hi, a2, a3, dotUv(lo, a0, a1)), ds), ms * <f32>sum);
}

/** Q4_0 (18 bytes): f16 d, 16 bytes of nibbles; w = d (q - 8). */
@final @unmanaged class Q4_0 {
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 18; }
  // @ts-ignore: decorator
  @inline lo(p: usize): v128 { return offsetCodes(lowNibbles(v128.load(p + 2)), 8); }
  // @ts-ignore: decorator
  @inline hi(p: usize): v128 { return offsetCodes(highNibblesBeside(v128.load(p + 2)), 8); }
  // @ts-ignore: decorator
  @inline d(p: usize): f32 { return f16(p); }
  // @ts-ignore: decorator
  @inline m(p: usize): f32 { return 0; }
  // @ts-ignore: decorator
  @inline get hasMin(): bool { return false; }
  // @ts-ignore: decorator
  @inline bias(sum: i32): v128 { return offsetBias(sum, 8); }
  // @ts-ignore: decorator
  @inline dot(lo: v128, hi: v128, a0: v128, a1: v128, a2: v128, a3: v128, bias: v128, sum: i32, ds: v128, ms: f32, acc: v128): v128 {
    return offsetDot(lo, hi, a0, a1, a2, a3, bias, ds, acc);
  }
}

/** Q4_1 (20 bytes): f16 d, f16 m, 16 bytes of nibbles; w = d q + m. */
@final @unmanaged class Q4_1 {
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 20; }
  // @ts-ignore: decorator
  @inline lo(p: usize): v128 { return lowNibbles(v128.load(p + 4)); }
  // @ts-ignore: decorator
  @inline hi(p: usize): v128 { return highNibblesBeside(v128.load(p + 4)); }
  // @ts-ignore: decorator
  @inline d(p: usize): f32 { return f16(p); }
  // @ts-ignore: decorator
  @inline m(p: usize): f32 { return f16(p + 2); }
  // @ts-ignore: decorator
  @inline get hasMin(): bool { return true; }
  // @ts-ignore: decorator
  @inline bias(sum: i32): v128 { return i32x4.splat(0); }
  // @ts-ignore: decorator
  @inline dot(lo: v128, hi: v128, a0: v128, a1: v128, a2: v128, a3: v128, bias: v128, sum: i32, ds: v128, ms: f32, acc: v128): v128 {
    return minDot(lo, hi, a0, a1, a2, a3, sum, ds, ms, acc);
  }
}

/** Q5_0 (22 bytes): f16 d, 32 high bits, 16 bytes of nibbles; w = d (q - 16). */
@final @unmanaged class Q5_0 {
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 22; }
  // @ts-ignore: decorator
  @inline lo(p: usize): v128 { return offsetCodes(v128.or(lowNibbles(v128.load(p + 6)), spreadBits(load<u32>(p + 2), 0, 16)), 16); }
  // @ts-ignore: decorator
  @inline hi(p: usize): v128 { return offsetCodes(v128.or(highNibblesBeside(v128.load(p + 6)), spreadBits(load<u32>(p + 2), 1, 16)), 16); }
  // @ts-ignore: decorator
  @inline d(p: usize): f32 { return f16(p); }
  // @ts-ignore: decorator
  @inline m(p: usize): f32 { return 0; }
  // @ts-ignore: decorator
  @inline get hasMin(): bool { return false; }
  // @ts-ignore: decorator
  @inline bias(sum: i32): v128 { return offsetBias(sum, 16); }
  // @ts-ignore: decorator
  @inline dot(lo: v128, hi: v128, a0: v128, a1: v128, a2: v128, a3: v128, bias: v128, sum: i32, ds: v128, ms: f32, acc: v128): v128 {
    return offsetDot(lo, hi, a0, a1, a2, a3, bias, ds, acc);
  }
}

/** Q5_1 (24 bytes): f16 d, f16 m, 32 high bits, 16 bytes of nibbles; w = d q + m. */
@final @unmanaged class Q5_1 {
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 24; }
  // @ts-ignore: decorator
  @inline lo(p: usize): v128 { return v128.or(lowNibbles(v128.load(p + 8)), spreadBits(load<u32>(p + 4), 0, 16)); }
  // @ts-ignore: decorator
  @inline hi(p: usize): v128 { return v128.or(highNibblesBeside(v128.load(p + 8)), spreadBits(load<u32>(p + 4), 1, 16)); }
  // @ts-ignore: decorator
  @inline d(p: usize): f32 { return f16(p); }
  // @ts-ignore: decorator
  @inline m(p: usize): f32 { return f16(p + 2); }
  // @ts-ignore: decorator
  @inline get hasMin(): bool { return true; }
  // @ts-ignore: decorator
  @inline bias(sum: i32): v128 { return i32x4.splat(0); }
  // @ts-ignore: decorator
  @inline dot(lo: v128, hi: v128, a0: v128, a1: v128, a2: v128, a3: v128, bias: v128, sum: i32, ds: v128, ms: f32, acc: v128): v128 {
    return minDot(lo, hi, a0, a1, a2, a3, sum, ds, ms, acc);
  }
}

/** Q8_0 (34 bytes): f16 d, 32 int8; w = d q. */
@final @unmanaged class Q8_0 {
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 34; }
  // @ts-ignore: decorator
  @inline lo(p: usize): v128 { return v128.load(p + 2); }
  // @ts-ignore: decorator
  @inline hi(p: usize): v128 { return v128.load(p + 18); }
  // @ts-ignore: decorator
  @inline d(p: usize): f32 { return f16(p); }
  // @ts-ignore: decorator
  @inline m(p: usize): f32 { return 0; }
  // @ts-ignore: decorator
  @inline get hasMin(): bool { return false; }
  // @ts-ignore: decorator
  @inline bias(sum: i32): v128 { return i32x4.splat(0); }
  // @ts-ignore: decorator
  @inline dot(lo: v128, hi: v128, a0: v128, a1: v128, a2: v128, a3: v128, bias: v128, sum: i32, ds: v128, ms: f32, acc: v128): v128 {
    return signedDot(lo, hi, a0, a1, a2, a3, ds, acc);
  }
}

/** ggml's kvalues_iq4nl: IQ4_NL's and IQ4_XS's 16 levels, looked up with a byte shuffle. */
// @ts-ignore: decorator
@inline function iq4Grid(): v128 {
  return i8x16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
}

/** IQ4_NL (18 bytes): f16 d, 16 bytes of nibbles indexing the grid; w = d grid[q]. */
@final @unmanaged class IQ4_NL {
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 18; }
  // @ts-ignore: decorator
  @inline lo(p: usize): v128 { return i8x16.swizzle(iq4Grid(), lowNibbles(v128.load(p + 2))); }
  // @ts-ignore: decorator
  @inline hi(p: usize): v128 { return i8x16.swizzle(iq4Grid(), highNibblesBeside(v128.load(p + 2))); }
  // @ts-ignore: decorator
  @inline d(p: usize): f32 { return f16(p); }
  // @ts-ignore: decorator
  @inline m(p: usize): f32 { return 0; }
  // @ts-ignore: decorator
  @inline get hasMin(): bool { return false; }
  // @ts-ignore: decorator
  @inline bias(sum: i32): v128 { return i32x4.splat(0); }
  // @ts-ignore: decorator
  @inline dot(lo: v128, hi: v128, a0: v128, a1: v128, a2: v128, a3: v128, bias: v128, sum: i32, ds: v128, ms: f32, acc: v128): v128 {
    return signedDot(lo, hi, a0, a1, a2, a3, ds, acc);
  }
}

// ---- super-blocks of 256 ------------------------------------------------------------------------
// block(p, x, xd, xs, sb, acc): acc plus the dot product of super-block sb (inputs 256 sb ..).

/**
 * The eight 6-bit scales (bytes 0..7) and eight mins (bytes 8..15) of a Q4_K/Q5_K super-block's
 * 12 bytes at s, all at once (ggml's get_scale_min_k4 for every j): scales 0..3 and mins 0..3 are
 * the low six bits of bytes 0..7; scales 4..7 take the low and mins 4..7 the high nibbles of bytes
 * 8..11, each topped with the two high bits of bytes 0..3 (scales) or 4..7 (mins).
 */
// @ts-ignore: decorator
@inline function scalesMinsK4(s: usize): v128 {
  const v = v128.load(s); // 12 bytes used; the 4 after them are the block's own
  const low = i8x16.shuffle(v, highNibbles(v), 0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 24, 25, 26, 27);
  const top = i8x16.shuffle(v, i32x4.splat(0), 16, 16, 16, 16, 0, 1, 2, 3, 16, 16, 16, 16, 4, 5, 6, 7);
  const mask = i8x16(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15);
  return v128.or(v128.and(low, mask), i16x8.shr_u(v128.and(top, i8x16.splat(-64)), 2));
}

/** Four of scalesMinsK4's bytes (quarter 0..3) as floats times f. */
// @ts-ignore: decorator
@inline function quarterK4(sm: v128, quarter: i32, f: f32): v128 {
  const half = quarter < 2 ? i16x8.extend_low_i8x16_u(sm) : i16x8.extend_high_i8x16_u(sm);
  const ints = (quarter & 1) == 0 ? i32x4.extend_low_i16x8_u(half) : i32x4.extend_high_i16x8_u(half);
  return f32x4.mul(f32x4.convert_i32x4_u(ints), f32x4.splat(f));
}

/**
 * One token's share of a Q4_K/Q5_K super-block's mins, as four lanes to take off the accumulator:
 * m03, m47 the eight mins times dmin, against the inputs' scale times their sum per block of 32.
 */
// @ts-ignore: decorator
@inline function minsK4(m03: v128, m47: v128, xd: usize, xs: usize, sb: i32): v128 {
  const s = xs + (<usize>sb << 6), d = xd + (<usize>sb << 5);
  const a = v128.load(s), b = v128.load(s + 16), c = v128.load(s + 32), e = v128.load(s + 48);
  const sum03 = i32x4.add(i32x4.shuffle(a, b, 0, 2, 4, 6), i32x4.shuffle(a, b, 1, 3, 5, 7));
  const sum47 = i32x4.add(i32x4.shuffle(c, e, 0, 2, 4, 6), i32x4.shuffle(c, e, 1, 3, 5, 7));
  const x03 = f32x4.mul(v128.load(d), f32x4.convert_i32x4_s(sum03));
  const x47 = f32x4.mul(v128.load(d + 16), f32x4.convert_i32x4_s(sum47));
  return f32x4.add(f32x4.mul(m03, x03), f32x4.mul(m47, x47));
}

/** blockK's sub-block s (its d times scale: ds) for one token. */
// @ts-ignore: decorator
@inline function subK(p: usize, high: bool, s: i32, ds: f32, x: usize, xd: usize, sb: i32, acc: v128): v128 {
  const b = sb * 8 + s;
  const i = dotUAcc(codesK(p, high, s, 1), x, 2 * b + 1, dotU(codesK(p, high, s, 0), x, 2 * b));
  return fma(acc, i, ds * scaleOf(xd, b));
}

/**
 * Q4_K and Q5_K: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, then for Q5_K (`high`) 32
 * bytes of high bits (bit s of byte l: weight l of sub-block s), then 128 bytes of nibbles;
 * w = d sc q - dmin m per 32. `high` is a constant at each use, so each type compiles its own loop.
 */
// @ts-ignore: decorator
@inline function blockK(p: usize, high: bool, x: usize, xd: usize, xs: usize, sb: i32, acc: v128): v128 {
  const d = f16(p), dmin = f16(p + 2);
  const sm = scalesMinsK4(p + 4);
  if (!ASC_FEATURE_RELAXED_SIMD) {
    // plain SIMD keeps the loop: unrolled, it ran Q4_K and Q5_K rows 0.64-0.72x as fast
    let sc = quarterK4(sm, 0, d);
    for (let s = 0; s < 8; s++) {
      acc = subK(p, high, s, f32x4.extract_lane(sc, 0), x, xd, sb, acc);
      sc = s == 3 ? quarterK4(sm, 1, d) : i32x4.shuffle(sc, sc, 1, 2, 3, 0);
    }
  } else {
    // unrolled: with s a constant, each sub-block's nibble half and offsets are fixed (the loop
    // paid for both halves, a select, and the next quarter's scales at every step): 1.27x
    const sc03 = quarterK4(sm, 0, d), sc47 = quarterK4(sm, 1, d);
    acc = subK(p, high, 0, f32x4.extract_lane(sc03, 0), x, xd, sb, acc);
    acc = subK(p, high, 1, f32x4.extract_lane(sc03, 1), x, xd, sb, acc);
    acc = subK(p, high, 2, f32x4.extract_lane(sc03, 2), x, xd, sb, acc);
    acc = subK(p, high, 3, f32x4.extract_lane(sc03, 3), x, xd, sb, acc);
    acc = subK(p, high, 4, f32x4.extract_lane(sc47, 0), x, xd, sb, acc);
    acc = subK(p, high, 5, f32x4.extract_lane(sc47, 1), x, xd, sb, acc);
    acc = subK(p, high, 6, f32x4.extract_lane(sc47, 2), x, xd, sb, acc);
    acc = subK(p, high, 7, f32x4.extract_lane(sc47, 3), x, xd, sb, acc);
  }
  return f32x4.sub(acc, minsK4(quarterK4(sm, 2, dmin), quarterK4(sm, 3, dmin), xd, xs, sb));
}

/** Q4_K (144 bytes). */
@final @unmanaged class Q4_K {
  // @ts-ignore: decorator
  @inline get elems(): i32 { return 256; }
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 144; }
  // @ts-ignore: decorator
  @inline block(p: usize, x: usize, xd: usize, xs: usize, sb: i32, acc: v128): v128 {
    return blockK(p, false, x, xd, xs, sb, acc);
  }
}

/** Q5_K (176 bytes). */
@final @unmanaged class Q5_K {
  // @ts-ignore: decorator
  @inline get elems(): i32 { return 256; }
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 176; }
  // @ts-ignore: decorator
  @inline block(p: usize, x: usize, xd: usize, xs: usize, sb: i32, acc: v128): v128 {
    return blockK(p, true, x, xd, xs, sb, acc);
  }
}

/**
 * The two groups of 16 codes va, vb of input block b, with integer scales sa, sb and a code
 * offset (a multiple of 4): acc + d × scale of the inputs × Σ sc (q - offset)·a. Relaxed SIMD
 * takes the codes as stored and the offset off with the inputs' sums, spread over the four lanes;
 * plain SIMD takes them less the offset (offsetCodes), which costs nothing where it widens them
 * anyway. The integers are exact either way, so every path gives the same floats.
 */
// @ts-ignore: decorator
@inline function scaledGroups(va: v128, vb: v128, sa: i32, sb: i32, offset: i32, x: usize, xd: usize, xs: usize, b: i32, d: f32, acc: v128): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD) {
    const i = i32x4.add(i32x4.mul(dotS(va, x, 2 * b), i32x4.splat(sa)), i32x4.mul(dotS(vb, x, 2 * b + 1), i32x4.splat(sb)));
    return fma(acc, i, d * scaleOf(xd, b));
  }
  const i = i32x4.add(i32x4.mul(dotU(va, x, 2 * b), i32x4.splat(sa)), i32x4.mul(dotU(vb, x, 2 * b + 1), i32x4.splat(sb)));
  const off = i32x4.splat((offset >> 2) * (sa * sum16(xs, 2 * b) + sb * sum16(xs, 2 * b + 1)));
  return fma(acc, i32x4.sub(i, off), d * scaleOf(xd, b));
}

/**
 * Group k (0..3) of 16 Q6_K codes from a low-nibble run l and a high-pair run h: the low nibbles
 * of l for k < 2, its high nibbles after; bits 2k, 2k+1 of h on top (at bits 4, 5). k must be a
 * constant at every use: the compiler then keeps one branch of each choice and shifts by a
 * constant (as a loop variable, k cost both branches and a select per register; unrolled, a
 * decode row runs 1.2-1.35x as fast, same bits).
 */
// @ts-ignore: decorator
@inline function q6Codes(l: v128, h: v128, k: i32): v128 {
  const low = k < 2 ? lowNibbles(l) : highNibbles(l);
  const m = i8x16.splat(0x30);
  const high = k == 0 ? v128.and(i16x8.shl(h, 4), m) : k == 1 ? v128.and(i16x8.shl(h, 2), m) : k == 2 ? v128.and(h, m) : v128.and(i16x8.shr_u(h, 2), m);
  return offsetCodes(v128.or(low, high), 32);
}

/** Q6_K.block's pair k (0..3, a constant) of half n at ql/qh/sc: block b's two groups. */
// @ts-ignore: decorator
@inline function q6Pair(l0: v128, l1: v128, l2: v128, l3: v128, h0: v128, h1: v128, k: i32, sc: usize, x: usize, xd: usize, xs: usize, b: i32, d: f32, acc: v128): v128 {
  const va = q6Codes((k & 1) == 0 ? l0 : l2, h0, k);
  const vb = q6Codes((k & 1) == 0 ? l1 : l3, h1, k);
  return scaledGroups(va, vb, <i32>load<i8>(sc + 2 * k), <i32>load<i8>(sc + 2 * k + 1), 32, x, xd, xs, b, d, acc);
}

/**
 * Q6_K (210 bytes): 128 bytes of low nibbles, 64 bytes of high bit pairs, 16 int8 scales (one per
 * 16 weights), f16 d; w = d sc (q - 32). Each 128-weight half takes its eight groups of 16 from
 * four low-nibble runs and two high-pair runs.
 */
@final @unmanaged class Q6_K {
  // @ts-ignore: decorator
  @inline get elems(): i32 { return 256; }
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 210; }
  // @ts-ignore: decorator
  @inline block(p: usize, x: usize, xd: usize, xs: usize, sb: i32, acc: v128): v128 {
    const d = f16(p + 208);
    for (let n = 0; n < 2; n++) {
      const ql = p + (<usize>n << 6), qh = p + 128 + (<usize>n << 5), sc = p + 192 + (<usize>n << 3);
      const l0 = v128.load(ql), l1 = v128.load(ql + 16), l2 = v128.load(ql + 32), l3 = v128.load(ql + 48);
      const h0 = v128.load(qh), h1 = v128.load(qh + 16);
      const b = sb * 8 + n * 4;
      // k = 0: low nibbles of runs 0, 1; k = 1: low of 2, 3; k = 2: high of 0, 1; k = 3: high of 2, 3
      acc = q6Pair(l0, l1, l2, l3, h0, h1, 0, sc, x, xd, xs, b, d, acc);
      acc = q6Pair(l0, l1, l2, l3, h0, h1, 1, sc, x, xd, xs, b + 1, d, acc);
      acc = q6Pair(l0, l1, l2, l3, h0, h1, 2, sc, x, xd, xs, b + 2, d, acc);
      acc = q6Pair(l0, l1, l2, l3, h0, h1, 3, sc, x, xd, xs, b + 3, d, acc);
    }
    return acc;
  }
}

/**
 * Q2_K (84 bytes): 16 bytes of (4-bit scale | 4-bit min << 4), 64 bytes of 2-bit codes, f16 d,
 * f16 dmin; w = d sc q - dmin m per 16. Group g reads 16 code bytes at bits 2 ((g / 2) mod 4).
 */
@final @unmanaged class Q2_K {
  // @ts-ignore: decorator
  @inline get elems(): i32 { return 256; }
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 84; }
  // @ts-ignore: decorator
  @inline block(p: usize, x: usize, xd: usize, xs: usize, sb: i32, acc: v128): v128 {
    const m2 = i8x16.splat(3);
    const d = f16(p + 80), dmin = f16(p + 82);
    let mins: f32 = 0;
    for (let b8 = 0; b8 < 8; b8++) {
      // groups 2 b8 and 2 b8 + 1: the same bits of the two 16-byte runs of their half
      const run = p + 16 + ((<usize>b8 >> 2) << 5);
      const shift = 2 * (b8 & 3);
      const va = v128.and(i16x8.shr_u(v128.load(run), shift), m2);
      const vb = v128.and(i16x8.shr_u(v128.load(run + 16), shift), m2);
      const b = sb * 8 + b8;
      const ca = <i32>load<u8>(p + 2 * b8), cb = <i32>load<u8>(p + 2 * b8 + 1);
      const i = i32x4.add(i32x4.mul(dotU(va, x, 2 * b), i32x4.splat(ca & 15)), i32x4.mul(dotU(vb, x, 2 * b + 1), i32x4.splat(cb & 15)));
      const xs32 = scaleOf(xd, b);
      acc = fma(acc, i, d * xs32);
      mins += dmin * xs32 * <f32>((ca >> 4) * sum16(xs, 2 * b) + (cb >> 4) * sum16(xs, 2 * b + 1));
    }
    return addScalar(acc, -mins);
  }
}

/** The j-th of Q3_K's 16 6-bit scales (12 bytes at s), minus 32. */
// @ts-ignore: decorator
@inline function q3Scale(s: usize, j: i32): i32 {
  const lo = (<i32>load<u8>(s + (j & 7)) >> (4 * (j >> 3))) & 15;
  const hi = (<i32>load<u8>(s + 8 + (j & 3)) >> (2 * (j >> 2))) & 3;
  return (lo | (hi << 4)) - 32;
}

/**
 * Q3_K (110 bytes): 32 bytes of high bits, 64 bytes of 2-bit low parts (as Q2_K), 12 bytes of
 * scales, f16 d; w = d sc (low + 4 high - 4), the high bit of group g's weight l being bit
 * 4 (g / 8) + (g / 2) mod 4 of hmask[l + 16 (g mod 2)].
 */
@final @unmanaged class Q3_K {
  // @ts-ignore: decorator
  @inline get elems(): i32 { return 256; }
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 110; }
  // @ts-ignore: decorator
  @inline block(p: usize, x: usize, xd: usize, xs: usize, sb: i32, acc: v128): v128 {
    const m2 = i8x16.splat(3), m1 = i8x16.splat(1);
    const d = f16(p + 108);
    const hm0 = v128.load(p), hm1 = v128.load(p + 16);
    for (let b8 = 0; b8 < 8; b8++) {
      const run = p + 32 + ((<usize>b8 >> 2) << 5);
      const shift = 2 * (b8 & 3);
      const bit = 4 * (b8 >> 2) + (b8 & 3);
      const va = v128.or(v128.and(i16x8.shr_u(v128.load(run), shift), m2), i16x8.shl(v128.and(i16x8.shr_u(hm0, bit), m1), 2));
      const vb = v128.or(v128.and(i16x8.shr_u(v128.load(run + 16), shift), m2), i16x8.shl(v128.and(i16x8.shr_u(hm1, bit), m1), 2));
      const b = sb * 8 + b8;
      acc = scaledGroups(offsetCodes(va, 4), offsetCodes(vb, 4), q3Scale(p + 96, 2 * b8), q3Scale(p + 96, 2 * b8 + 1), 4, x, xd, xs, b, d, acc);
    }
    return acc;
  }
}

/** IQ4_XS (136 bytes): f16 d, 16 high scale bits, 4 bytes of low scale nibbles, 128 bytes of grid indices (as IQ4_NL per 32). */
@final @unmanaged class IQ4_XS {
  // @ts-ignore: decorator
  @inline get elems(): i32 { return 256; }
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 136; }
  // @ts-ignore: decorator
  @inline block(p: usize, x: usize, xd: usize, xs: usize, sb: i32, acc: v128): v128 {
    const grid = iq4Grid();
    const d = f16(p);
    const hi = <i32>load<u16>(p + 2);
    for (let s = 0; s < 8; s++) {
      const ls = ((<i32>load<u8>(p + 4 + (s >> 1)) >> (4 * (s & 1))) & 15) | (((hi >> (2 * s)) & 3) << 4);
      const q = v128.load(p + 8 + (<usize>s << 4));
      const b = sb * 8 + s;
      const i = i32x4.add(dotS(i8x16.swizzle(grid, lowNibbles(q)), x, 2 * b), dotS(i8x16.swizzle(grid, highNibblesBeside(q)), x, 2 * b + 1));
      acc = fma(acc, i, d * <f32>(ls - 32) * scaleOf(xd, b));
    }
    return acc;
  }
}

/**
 * The loop every super-block type runs for tokens t0 .. T-1: one row at a time, each token in
 * turn while the row's bytes are in L1.
 */
// @ts-ignore: decorator
@inline function rowsOf<K>(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, t0: i32, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const k = changetype<K>(0);
  const nb = cols / k.elems;
  const rb = <usize>nb * k.bytes;
  const perToken = ASC_FEATURE_RELAXED_SIMD ? 1 : 2;
  for (let r = r0; r < r1; r++) {
    const p0 = w + <usize>r * rb;
    for (let t = t0; t < T; t++) {
      const x = xq + <usize>t * cols * perToken, d = xd + <usize>t * (cols >> 5) * 4, s = xs + <usize>t * (cols >> 4) * 4;
      let a = f32x4.splat(0);
      for (let b = 0; b < nb; b++) a = k.block(p0 + <usize>b * k.bytes, x, d, s, b, a);
      store<f32>(at(out, rows, t, r), hsum(a));
    }
  }
}

/** One token's inputs for block b of a row: the dot's four registers, their sum and scale. */
// @ts-ignore: decorator
@inline function block32<K>(k: K, p: usize, x: usize, d: usize, s: usize, b: i32, acc: v128): v128 {
  const scale = scaleOf(d, b), sum = sum32(s, b);
  const ms: f32 = k.hasMin ? k.m(p) * scale : 0;
  return k.dot(k.lo(p), k.hi(p), inputA(x, 2 * b), inputB(x, 2 * b), inputA(x, 2 * b + 1), inputB(x, 2 * b + 1), k.bias(sum), sum, f32x4.splat(k.d(p) * scale), ms, acc);
}

/**
 * The blocks of 32: tokens four at a time (a prefill) against two rows at a time, each block
 * decoded once for its four tokens; the remaining tokens (all of a decode step) one row at a
 * time.
 */
// @ts-ignore: decorator
@inline function rows32<K>(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const k = changetype<K>(0);
  const nb = cols >> 5;
  const bytes = k.bytes;
  const rb = <usize>nb * bytes;
  const perToken: usize = ASC_FEATURE_RELAXED_SIMD ? 1 : 2;
  const xStride = <usize>cols * perToken, dStride = <usize>(cols >> 5) * 4, sStride = <usize>(cols >> 4) * 4;
  const T4 = T & ~3;
  if (T4 > 0) {
    for (let r = r0; r < r1; r += 2) {
      const two = r + 1 < r1;
      const p0 = w + <usize>r * rb, p1 = two ? p0 + rb : p0;
      for (let t = 0; t < T4; t += 4) {
        let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a02 = f32x4.splat(0), a03 = f32x4.splat(0);
        let a10 = f32x4.splat(0), a11 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
        // pointers stepped block by block: the addresses cost an add each, not a multiply
        let p = p0, q = p1;
        let x = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xs + <usize>t * sStride;
        for (let b = 0; b < nb; b++) {
          const l0 = k.lo(p), h0 = k.hi(p), d0 = f32x4.splat(k.d(p)), m0: f32 = k.hasMin ? k.m(p) : 0;
          const l1 = k.lo(q), h1 = k.hi(q), d1 = f32x4.splat(k.d(q)), m1: f32 = k.hasMin ? k.m(q) : 0;
          {
            const i0 = inputA(x, 0), i1 = inputB(x, 0), i2 = inputA(x, 1), i3 = inputB(x, 1);
            const sum = load<i32>(s) + load<i32>(s, 4), bias = k.bias(sum), scale = v128.load32_splat(d);
            const xs0: f32 = k.hasMin ? load<f32>(d) : 0;
            a00 = k.dot(l0, h0, i0, i1, i2, i3, bias, sum, f32x4.mul(d0, scale), m0 * xs0, a00);
            a10 = k.dot(l1, h1, i0, i1, i2, i3, bias, sum, f32x4.mul(d1, scale), m1 * xs0, a10);
          }
          {
            const i0 = inputA(x + xStride, 0), i1 = inputB(x + xStride, 0), i2 = inputA(x + xStride, 1), i3 = inputB(x + xStride, 1);
            const sum = load<i32>(s + sStride) + load<i32>(s + sStride, 4), bias = k.bias(sum), scale = v128.load32_splat(d + dStride);
            const xs0: f32 = k.hasMin ? load<f32>(d + dStride) : 0;
            a01 = k.dot(l0, h0, i0, i1, i2, i3, bias, sum, f32x4.mul(d0, scale), m0 * xs0, a01);
            a11 = k.dot(l1, h1, i0, i1, i2, i3, bias, sum, f32x4.mul(d1, scale), m1 * xs0, a11);
          }
          {
            const i0 = inputA(x + 2 * xStride, 0), i1 = inputB(x + 2 * xStride, 0), i2 = inputA(x + 2 * xStride, 1), i3 = inputB(x + 2 * xStride, 1);
            const sum = load<i32>(s + 2 * sStride) + load<i32>(s + 2 * sStride, 4), bias = k.bias(sum), scale = v128.load32_splat(d + 2 * dStride);
            const xs0: f32 = k.hasMin ? load<f32>(d + 2 * dStride) : 0;
            a02 = k.dot(l0, h0, i0, i1, i2, i3, bias, sum, f32x4.mul(d0, scale), m0 * xs0, a02);
            a12 = k.dot(l1, h1, i0, i1, i2, i3, bias, sum, f32x4.mul(d1, scale), m1 * xs0, a12);
          }
          {
            const i0 = inputA(x + 3 * xStride, 0), i1 = inputB(x + 3 * xStride, 0), i2 = inputA(x + 3 * xStride, 1), i3 = inputB(x + 3 * xStride, 1);
            const sum = load<i32>(s + 3 * sStride) + load<i32>(s + 3 * sStride, 4), bias = k.bias(sum), scale = v128.load32_splat(d + 3 * dStride);
            const xs0: f32 = k.hasMin ? load<f32>(d + 3 * dStride) : 0;
            a03 = k.dot(l0, h0, i0, i1, i2, i3, bias, sum, f32x4.mul(d0, scale), m0 * xs0, a03);
            a13 = k.dot(l1, h1, i0, i1, i2, i3, bias, sum, f32x4.mul(d1, scale), m1 * xs0, a13);
          }
          p += bytes;
          q += bytes;
          x += 32 * perToken;
          d += 4;
          s += 8;
        }
        store<f32>(at(out, rows, t, r), hsum(a00));
        store<f32>(at(out, rows, t + 1, r), hsum(a01));
        store<f32>(at(out, rows, t + 2, r), hsum(a02));
        store<f32>(at(out, rows, t + 3, r), hsum(a03));
        if (two) {
          store<f32>(at(out, rows, t, r + 1), hsum(a10));
          store<f32>(at(out, rows, t + 1, r + 1), hsum(a11));
          store<f32>(at(out, rows, t + 2, r + 1), hsum(a12));
          store<f32>(at(out, rows, t + 3, r + 1), hsum(a13));
        }
      }
    }
  }
  if (T == 1) {
    // a decode step: two rows at a time, half the chunk apart (two streams: packedQ4_0)
    const half = (r1 - r0) >> 1;
    for (let i = 0; i < half; i++) {
      const rowA = r0 + i, rowB = rowA + half;
      const pa = w + <usize>rowA * rb, pb = w + <usize>rowB * rb;
      let a = f32x4.splat(0), c = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        a = block32<K>(k, pa + <usize>b * k.bytes, xq, xd, xs, b, a);
        c = block32<K>(k, pb + <usize>b * k.bytes, xq, xd, xs, b, c);
      }
      store<f32>(at(out, rows, 0, rowA), hsum(a));
      store<f32>(at(out, rows, 0, rowB), hsum(c));
    }
    r0 += half << 1;
  }
  for (let r = r0; r < r1; r++) {
    const p0 = w + <usize>r * rb;
    for (let t = T4; t < T; t++) {
      const x = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xs + <usize>t * sStride;
      let a = f32x4.splat(0);
      for (let b = 0; b < nb; b++) a = block32<K>(k, p0 + <usize>b * k.bytes, x, d, s, b, a);
      store<f32>(at(out, rows, t, r), hsum(a));
    }
  }
}

// ---- prompt tiles of the super-block types ------------------------------------------------------
// A prompt's tokens four at a time against two rows at a time: each super-block's scales, mins and
// codes are decoded once per row for its four tokens, and each token's inputs loaded once for both
// rows, eight accumulators in registers. Plain SIMD still widens the codes to int16 per token:
// holding them widened needs more registers than x86 has, and the spills cost more than the
// widening (measured: 5.5 against 12 GMAC/s). Every (row, token) pair runs the very float
// operations of its one-token loop (rowsOf: the integer sums of a block of 32, then times d·scale
// and the inputs' scale, in the same order), so a token's outputs do not depend on the tokens
// that share its chunk: the engine batches sequences.

/** Weights 16 half .. 16 half + 15 of sub-block s (a constant) of the Q4_K/Q5_K super-block at p, as blockK decodes them (half 0: its lo, half 1: its hi). */
// @ts-ignore: decorator
@inline function codesK(p: usize, high: bool, s: i32, half: i32): v128 {
  const q = v128.load(p + (high ? 48 : 16) + ((<usize>s >> 1) << 5) + (<usize>half << 4));
  return highBitK(p, high, s, half, (s & 1) == 0 ? lowNibbles(q) : highNibbles(q));
}

/** Q5_K (high): codes v topped with their fifth bit, bit s of the high-bit bytes; Q4_K: v. */
// @ts-ignore: decorator
@inline function highBitK(p: usize, high: bool, s: i32, half: i32, v: v128): v128 {
  if (!high) return v;
  const mask: i32 = 1 << s;
  const bit = i8x16.splat(<i8>mask);
  return v128.or(v, v128.and(i8x16.eq(v128.and(v128.load(p + 16 + (<usize>half << 4)), bit), bit), i8x16.splat(16)));
}

/** blockK's step of one sub-block (codes lo, hi) for one row and one token (inputs i0 .. i3, ds in every lane). */
// @ts-ignore: decorator
@inline function stepK(lo: v128, hi: v128, i0: v128, i1: v128, i2: v128, i3: v128, ds: v128, acc: v128): v128 {
  return fmaV(acc, dotUvAcc(hi, i2, i3, dotUv(lo, i0, i1)), ds);
}

/** stepK for the token whose inputs start at x (their scale at d): ds times that scale. */
// @ts-ignore: decorator
@inline function tokenStepK(lo: v128, hi: v128, x: usize, d: usize, ds: v128, acc: v128): v128 {
  return stepK(lo, hi, inputA(x, 0), inputB(x, 0), inputA(x, 1), inputB(x, 1), f32x4.mul(ds, v128.load32_splat(d)), acc);
}

/**
 * Q4_K (high: false) and Q5_K (high: true), tokens 0 .. T4-1 (a multiple of 4), rows r0 .. r1-1.
 * The sub-blocks go in pairs that share their 32 bytes of nibbles (the low then the high ones),
 * so a register is loaded and masked once for both and no shift depends on the loop variable;
 * pointers step per sub-block and the scales multiply as vectors (same products as scalars).
 */
// @ts-ignore: decorator
@inline function tilesK45(high: bool, w: usize, cols: i32, xq: usize, xd: usize, xs: usize, T4: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const bytes: usize = high ? 176 : 144;
  const nibbles: usize = high ? 48 : 16;
  const nb = cols >> 8;
  const rb = <usize>nb * bytes;
  const perToken: usize = ASC_FEATURE_RELAXED_SIMD ? 1 : 2;
  const xStride = <usize>cols * perToken, dStride = <usize>(cols >> 5) * 4, sStride = <usize>(cols >> 4) * 4;
  for (let r = r0; r < r1; r += 2) {
    const two = r + 1 < r1;
    const p0 = w + <usize>r * rb, p1 = two ? p0 + rb : p0;
    for (let t = 0; t < T4; t += 4) {
      const x0 = xq + <usize>t * xStride, d0 = xd + <usize>t * dStride, s0 = xs + <usize>t * sStride;
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a02 = f32x4.splat(0), a03 = f32x4.splat(0);
      let a10 = f32x4.splat(0), a11 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
      let x = x0, d = d0;
      for (let sb = 0; sb < nb; sb++) {
        const p = p0 + <usize>sb * bytes, q = p1 + <usize>sb * bytes;
        const smp = scalesMinsK4(p + 4), smq = scalesMinsK4(q + 4);
        const dp = f16(p), dq = f16(q);
        const sp47 = quarterK4(smp, 1, dp), sq47 = quarterK4(smq, 1, dq);
        let sp = quarterK4(smp, 0, dp), sq = quarterK4(smq, 0, dq);
        for (let s2 = 0; s2 < 4; s2++) {
          const np = p + nibbles + (<usize>s2 << 5), nq = q + nibbles + (<usize>s2 << 5);
          const vp0 = v128.load(np), vp1 = v128.load(np, 16), vq0 = v128.load(nq), vq1 = v128.load(nq, 16);
          const lp0 = lowNibbles(vp0), lp1 = lowNibbles(vp1), lq0 = lowNibbles(vq0), lq1 = lowNibbles(vq1);
          {
            // sub-block 2 s2: the low nibbles
            const s = 2 * s2 + 0;
            const pl = highBitK(p, high, s, 0, lp0);
            const ph = highBitK(p, high, s, 1, lp1);
            const ql = highBitK(q, high, s, 0, lq0);
            const qh = highBitK(q, high, s, 1, lq1);
            const dsp = f32x4.splat(f32x4.extract_lane(sp, 0)), dsq = f32x4.splat(f32x4.extract_lane(sq, 0));
            sp = i32x4.shuffle(sp, sp, 1, 2, 3, 0);
            sq = i32x4.shuffle(sq, sq, 1, 2, 3, 0);
            a00 = tokenStepK(pl, ph, x, d, dsp, a00);
            a10 = tokenStepK(ql, qh, x, d, dsq, a10);
            a01 = tokenStepK(pl, ph, x + xStride, d + dStride, dsp, a01);
            a11 = tokenStepK(ql, qh, x + xStride, d + dStride, dsq, a11);
            a02 = tokenStepK(pl, ph, x + 2 * xStride, d + 2 * dStride, dsp, a02);
            a12 = tokenStepK(ql, qh, x + 2 * xStride, d + 2 * dStride, dsq, a12);
            a03 = tokenStepK(pl, ph, x + 3 * xStride, d + 3 * dStride, dsp, a03);
            a13 = tokenStepK(ql, qh, x + 3 * xStride, d + 3 * dStride, dsq, a13);
            x += 32 * perToken;
            d += 4;
          }
          {
            // sub-block 2 s2 + 1: the high nibbles (sharing the low ones' and)
            const s = 2 * s2 + 1;
            const pl = highBitK(p, high, s, 0, i16x8.shr_u(v128.xor(vp0, lp0), 4));
            const ph = highBitK(p, high, s, 1, i16x8.shr_u(v128.xor(vp1, lp1), 4));
            const ql = highBitK(q, high, s, 0, i16x8.shr_u(v128.xor(vq0, lq0), 4));
            const qh = highBitK(q, high, s, 1, i16x8.shr_u(v128.xor(vq1, lq1), 4));
            const dsp = f32x4.splat(f32x4.extract_lane(sp, 0)), dsq = f32x4.splat(f32x4.extract_lane(sq, 0));
            sp = s2 == 1 ? sp47 : i32x4.shuffle(sp, sp, 1, 2, 3, 0);
            sq = s2 == 1 ? sq47 : i32x4.shuffle(sq, sq, 1, 2, 3, 0);
            a00 = tokenStepK(pl, ph, x, d, dsp, a00);
            a10 = tokenStepK(ql, qh, x, d, dsq, a10);
            a01 = tokenStepK(pl, ph, x + xStride, d + dStride, dsp, a01);
            a11 = tokenStepK(ql, qh, x + xStride, d + dStride, dsq, a11);
            a02 = tokenStepK(pl, ph, x + 2 * xStride, d + 2 * dStride, dsp, a02);
            a12 = tokenStepK(ql, qh, x + 2 * xStride, d + 2 * dStride, dsq, a12);
            a03 = tokenStepK(pl, ph, x + 3 * xStride, d + 3 * dStride, dsp, a03);
            a13 = tokenStepK(ql, qh, x + 3 * xStride, d + 3 * dStride, dsq, a13);
            x += 32 * perToken;
            d += 4;
          }
        }
        {
          const mp03 = quarterK4(smp, 2, f16(p + 2)), mp47 = quarterK4(smp, 3, f16(p + 2));
          const mq03 = quarterK4(smq, 2, f16(q + 2)), mq47 = quarterK4(smq, 3, f16(q + 2));
          a00 = f32x4.sub(a00, minsK4(mp03, mp47, d0, s0, sb));
          a10 = f32x4.sub(a10, minsK4(mq03, mq47, d0, s0, sb));
          a01 = f32x4.sub(a01, minsK4(mp03, mp47, d0 + dStride, s0 + sStride, sb));
          a11 = f32x4.sub(a11, minsK4(mq03, mq47, d0 + dStride, s0 + sStride, sb));
          a02 = f32x4.sub(a02, minsK4(mp03, mp47, d0 + 2 * dStride, s0 + 2 * sStride, sb));
          a12 = f32x4.sub(a12, minsK4(mq03, mq47, d0 + 2 * dStride, s0 + 2 * sStride, sb));
          a03 = f32x4.sub(a03, minsK4(mp03, mp47, d0 + 3 * dStride, s0 + 3 * sStride, sb));
          a13 = f32x4.sub(a13, minsK4(mq03, mq47, d0 + 3 * dStride, s0 + 3 * sStride, sb));
        }
      }
      store<f32>(at(out, rows, t, r), hsum(a00));
      store<f32>(at(out, rows, t + 1, r), hsum(a01));
      store<f32>(at(out, rows, t + 2, r), hsum(a02));
      store<f32>(at(out, rows, t + 3, r), hsum(a03));
      if (two) {
        store<f32>(at(out, rows, t, r + 1), hsum(a10));
        store<f32>(at(out, rows, t + 1, r + 1), hsum(a11));
        store<f32>(at(out, rows, t + 2, r + 1), hsum(a12));
        store<f32>(at(out, rows, t + 3, r + 1), hsum(a13));
      }
    }
  }
}

/** Q2_K's 16 codes of group 2 s + half, as Q2_K.block decodes them. */
// @ts-ignore: decorator
@inline function codesQ2(p: usize, s: i32, half: i32): v128 {
  const run = p + 16 + ((<usize>s >> 2) << 5) + (<usize>half << 4);
  return v128.and(i16x8.shr_u(v128.load(run), 2 * (s & 3)), i8x16.splat(3));
}

/** Q2_K.block's integers of block s for inputs in registers: its two groups times their 4-bit scales (of the bytes ca, cb). */
// @ts-ignore: decorator
@inline function q2Ints(va: v128, vb: v128, ca: i32, cb: i32, i0: v128, i1: v128, i2: v128, i3: v128): v128 {
  return i32x4.add(i32x4.mul(dotUv(va, i0, i1), i32x4.splat(ca & 15)), i32x4.mul(dotUv(vb, i2, i3), i32x4.splat(cb & 15)));
}

/** Q2_K as tilesK45 (its mins per 16: each block's two sums of 16 inputs times their mins), tokens 0 .. T4-1, rows r0 .. r1-1. */
// @ts-ignore: decorator
@inline function tilesQ2K(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, T4: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const bytes: usize = 84;
  const nb = cols >> 8;
  const rb = <usize>nb * bytes;
  const perToken: usize = ASC_FEATURE_RELAXED_SIMD ? 1 : 2;
  const xStride = <usize>cols * perToken, dStride = <usize>(cols >> 5) * 4, sStride = <usize>(cols >> 4) * 4;
  for (let r = r0; r < r1; r += 2) {
    const two = r + 1 < r1;
    const p0 = w + <usize>r * rb, p1 = two ? p0 + rb : p0;
    for (let t = 0; t < T4; t += 4) {
      const x0 = xq + <usize>t * xStride, d0 = xd + <usize>t * dStride, s0 = xs + <usize>t * sStride;
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a02 = f32x4.splat(0), a03 = f32x4.splat(0);
      let a10 = f32x4.splat(0), a11 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
      for (let sb = 0; sb < nb; sb++) {
        const p = p0 + <usize>sb * bytes, q = p1 + <usize>sb * bytes;
        const dp = f16(p + 80), mp = f16(p + 82), dq = f16(q + 80), mq = f16(q + 82);
        let m0 = f32x4.splat(0), m1 = f32x4.splat(0);
        for (let s = 0; s < 8; s++) {
          const b = sb * 8 + s;
          const pl = codesQ2(p, s, 0), ph = codesQ2(p, s, 1);
          const ql = codesQ2(q, s, 0), qh = codesQ2(q, s, 1);
          const cpa = <i32>load<u8>(p + 2 * s), cpb = <i32>load<u8>(p + 2 * s + 1);
          const cqa = <i32>load<u8>(q + 2 * s), cqb = <i32>load<u8>(q + 2 * s + 1);
          {
            // the mins' sums of the four tokens in the lanes of m0 (row p) and m1 (row q)
            const c = f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(scaleOf(d0, b)), 1, scaleOf(d0 + dStride, b)), 2, scaleOf(d0 + 2 * dStride, b)), 3, scaleOf(d0 + 3 * dStride, b));
            const ua = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(sum16(s0, 2 * b)), 1, sum16(s0 + sStride, 2 * b)), 2, sum16(s0 + 2 * sStride, 2 * b)), 3, sum16(s0 + 3 * sStride, 2 * b));
            const ub = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(sum16(s0, 2 * b + 1)), 1, sum16(s0 + sStride, 2 * b + 1)), 2, sum16(s0 + 2 * sStride, 2 * b + 1)), 3, sum16(s0 + 3 * sStride, 2 * b + 1));
            const up = f32x4.convert_i32x4_s(i32x4.add(i32x4.mul(i32x4.splat(cpa >> 4), ua), i32x4.mul(i32x4.splat(cpb >> 4), ub)));
            const uq = f32x4.convert_i32x4_s(i32x4.add(i32x4.mul(i32x4.splat(cqa >> 4), ua), i32x4.mul(i32x4.splat(cqb >> 4), ub)));
            m0 = f32x4.add(m0, f32x4.mul(f32x4.mul(f32x4.splat(mp), c), up));
            m1 = f32x4.add(m1, f32x4.mul(f32x4.mul(f32x4.splat(mq), c), uq));
          }
          {
            const x = x0, d = d0;
            const i0 = inputA(x, 2 * b), i1 = inputB(x, 2 * b), i2 = inputA(x, 2 * b + 1), i3 = inputB(x, 2 * b + 1);
            const xs32 = scaleOf(d, b);
            a00 = fma(a00, q2Ints(pl, ph, cpa, cpb, i0, i1, i2, i3), dp * xs32);
            a10 = fma(a10, q2Ints(ql, qh, cqa, cqb, i0, i1, i2, i3), dq * xs32);
          }
          {
            const x = x0 + xStride, d = d0 + dStride;
            const i0 = inputA(x, 2 * b), i1 = inputB(x, 2 * b), i2 = inputA(x, 2 * b + 1), i3 = inputB(x, 2 * b + 1);
            const xs32 = scaleOf(d, b);
            a01 = fma(a01, q2Ints(pl, ph, cpa, cpb, i0, i1, i2, i3), dp * xs32);
            a11 = fma(a11, q2Ints(ql, qh, cqa, cqb, i0, i1, i2, i3), dq * xs32);
          }
          {
            const x = x0 + 2 * xStride, d = d0 + 2 * dStride;
            const i0 = inputA(x, 2 * b), i1 = inputB(x, 2 * b), i2 = inputA(x, 2 * b + 1), i3 = inputB(x, 2 * b + 1);
            const xs32 = scaleOf(d, b);
            a02 = fma(a02, q2Ints(pl, ph, cpa, cpb, i0, i1, i2, i3), dp * xs32);
            a12 = fma(a12, q2Ints(ql, qh, cqa, cqb, i0, i1, i2, i3), dq * xs32);
          }
          {
            const x = x0 + 3 * xStride, d = d0 + 3 * dStride;
            const i0 = inputA(x, 2 * b), i1 = inputB(x, 2 * b), i2 = inputA(x, 2 * b + 1), i3 = inputB(x, 2 * b + 1);
            const xs32 = scaleOf(d, b);
            a03 = fma(a03, q2Ints(pl, ph, cpa, cpb, i0, i1, i2, i3), dp * xs32);
            a13 = fma(a13, q2Ints(ql, qh, cqa, cqb, i0, i1, i2, i3), dq * xs32);
          }
        }
        a00 = addScalar(a00, -f32x4.extract_lane(m0, 0));
        a01 = addScalar(a01, -f32x4.extract_lane(m0, 1));
        a02 = addScalar(a02, -f32x4.extract_lane(m0, 2));
        a03 = addScalar(a03, -f32x4.extract_lane(m0, 3));
        a10 = addScalar(a10, -f32x4.extract_lane(m1, 0));
        a11 = addScalar(a11, -f32x4.extract_lane(m1, 1));
        a12 = addScalar(a12, -f32x4.extract_lane(m1, 2));
        a13 = addScalar(a13, -f32x4.extract_lane(m1, 3));
      }
      store<f32>(at(out, rows, t, r), hsum(a00));
      store<f32>(at(out, rows, t + 1, r), hsum(a01));
      store<f32>(at(out, rows, t + 2, r), hsum(a02));
      store<f32>(at(out, rows, t + 3, r), hsum(a03));
      if (two) {
        store<f32>(at(out, rows, t, r + 1), hsum(a10));
        store<f32>(at(out, rows, t + 1, r + 1), hsum(a11));
        store<f32>(at(out, rows, t + 2, r + 1), hsum(a12));
        store<f32>(at(out, rows, t + 3, r + 1), hsum(a13));
      }
    }
  }
}

// The types without mins (Q6_K, Q3_K, IQ4_XS) share one tile: each of a super-block's 8 blocks
// of 32 is two groups of 16 codes (a, b) with integer scales, an integer dot product per token
// (ints), and one float factor (ds) times the inputs' scale, as each type's block() computes them.

/** Q6_K's groups: a pair k of half n (b: the pair's second group), as Q6_K.block decodes them; offset 32. */
@final @unmanaged class TileQ6K {
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 210; }
  // @ts-ignore: decorator
  @inline d(p: usize): f32 { return f16(p + 208); }
  // @ts-ignore: decorator
  @inline codes(p: usize, g: i32, b: bool): v128 {
    const n = g >> 2, k = g & 3;
    const l = v128.load(p + (<usize>n << 6) + (<usize>(k & 1) << 5) + (b ? 16 : 0));
    const h = v128.load(p + 128 + (<usize>n << 5) + (b ? 16 : 0));
    // g is the tile's loop variable: a shift by 0 or 4 costs less than computing both nibbles and choosing
    const low = v128.and(i16x8.shr_u(l, (k >> 1) << 2), i8x16.splat(0x0f));
    return offsetCodes(v128.or(low, i16x8.shl(v128.and(i16x8.shr_u(h, 2 * k), i8x16.splat(3)), 4)), 32);
  }
  // @ts-ignore: decorator
  @inline scale(p: usize, g: i32, b: bool): i32 { return <i32>load<i8>(p + 192 + 2 * g + (b ? 1 : 0)); }
  // @ts-ignore: decorator
  @inline ds(p: usize, g: i32, d: f32): f32 { return d; }
  // @ts-ignore: decorator
  @inline ints(va: v128, vb: v128, sa: i32, sb: i32, i0: v128, i1: v128, i2: v128, i3: v128, sumA: i32, sumB: i32): v128 {
    return scaledInts(va, vb, sa, sb, 32, i0, i1, i2, i3, sumA, sumB);
  }
}

/** Q3_K's groups, as Q3_K.block decodes them; offset 4. */
@final @unmanaged class TileQ3K {
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 110; }
  // @ts-ignore: decorator
  @inline d(p: usize): f32 { return f16(p + 108); }
  // @ts-ignore: decorator
  @inline codes(p: usize, g: i32, b: bool): v128 {
    const run = p + 32 + ((<usize>g >> 2) << 5) + (b ? 16 : 0);
    const bit = 4 * (g >> 2) + (g & 3);
    const hm = v128.load(p + (b ? 16 : 0));
    return offsetCodes(v128.or(v128.and(i16x8.shr_u(v128.load(run), 2 * (g & 3)), i8x16.splat(3)), i16x8.shl(v128.and(i16x8.shr_u(hm, bit), i8x16.splat(1)), 2)), 4);
  }
  // @ts-ignore: decorator
  @inline scale(p: usize, g: i32, b: bool): i32 { return q3Scale(p + 96, 2 * g + (b ? 1 : 0)); }
  // @ts-ignore: decorator
  @inline ds(p: usize, g: i32, d: f32): f32 { return d; }
  // @ts-ignore: decorator
  @inline ints(va: v128, vb: v128, sa: i32, sb: i32, i0: v128, i1: v128, i2: v128, i3: v128, sumA: i32, sumB: i32): v128 {
    return scaledInts(va, vb, sa, sb, 4, i0, i1, i2, i3, sumA, sumB);
  }
}

/** IQ4_XS's groups: the grid values of block g's low (a) and high (b) nibbles; one 6-bit scale per 32, in ds. */
@final @unmanaged class TileIQ4XS {
  // @ts-ignore: decorator
  @inline get bytes(): usize { return 136; }
  // @ts-ignore: decorator
  @inline d(p: usize): f32 { return f16(p); }
  // @ts-ignore: decorator
  @inline codes(p: usize, g: i32, b: bool): v128 {
    const q = v128.load(p + 8 + (<usize>g << 4));
    return i8x16.swizzle(iq4Grid(), b ? highNibbles(q) : lowNibbles(q));
  }
  // @ts-ignore: decorator
  @inline scale(p: usize, g: i32, b: bool): i32 { return 0; }
  // @ts-ignore: decorator
  @inline ds(p: usize, g: i32, d: f32): f32 {
    const ls = ((<i32>load<u8>(p + 4 + (g >> 1)) >> (4 * (g & 1))) & 15) | (((<i32>load<u16>(p + 2) >> (2 * g)) & 3) << 4);
    return d * <f32>(ls - 32);
  }
  // @ts-ignore: decorator
  @inline ints(va: v128, vb: v128, sa: i32, sb: i32, i0: v128, i1: v128, i2: v128, i3: v128, sumA: i32, sumB: i32): v128 {
    return i32x4.add(dotSv(va, i0, i1), dotSv(vb, i2, i3));
  }
}

/** scaledGroups' integers for inputs in registers: Σ sc (q - offset)·a of the two groups, in four lanes (codes as scaledGroups takes them). */
// @ts-ignore: decorator
@inline function scaledInts(va: v128, vb: v128, sa: i32, sb: i32, offset: i32, i0: v128, i1: v128, i2: v128, i3: v128, sumA: i32, sumB: i32): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD) return i32x4.add(i32x4.mul(dotSv(va, i0, i1), i32x4.splat(sa)), i32x4.mul(dotSv(vb, i2, i3), i32x4.splat(sb)));
  const i = i32x4.add(i32x4.mul(dotUv(va, i0, i1), i32x4.splat(sa)), i32x4.mul(dotUv(vb, i2, i3), i32x4.splat(sb)));
  return i32x4.sub(i, i32x4.splat((offset >> 2) * (sa * sumA + sb * sumB)));
}

/** One row's step of a block of 32 for the token whose inputs start at x (their scale at d, sums at ss): ds times that scale. */
// @ts-ignore: decorator
@inline function tokenStepScaled<K>(k: K, va: v128, vb: v128, sa: i32, sb: i32, x: usize, d: usize, ss: usize, ds: v128, acc: v128): v128 {
  const i = k.ints(va, vb, sa, sb, inputA(x, 0), inputB(x, 0), inputA(x, 1), inputB(x, 1), load<i32>(ss), load<i32>(ss, 4));
  return fmaV(acc, i, f32x4.mul(ds, v128.load32_splat(d)));
}

/** A type without mins (TileQ6K, TileQ3K, TileIQ4XS), tokens 0 .. T4-1 (a multiple of 4), rows r0 .. r1-1. */
// @ts-ignore: decorator
@inline function tilesScaled<K>(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, T4: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const k = changetype<K>(0);
  const bytes = k.bytes;
  const nb = cols >> 8;
  const rb = <usize>nb * bytes;
  const perToken: usize = ASC_FEATURE_RELAXED_SIMD ? 1 : 2;
  const xStride = <usize>cols * perToken, dStride = <usize>(cols >> 5) * 4, sStride = <usize>(cols >> 4) * 4;
  for (let r = r0; r < r1; r += 2) {
    const two = r + 1 < r1;
    const p0 = w + <usize>r * rb, p1 = two ? p0 + rb : p0;
    for (let t = 0; t < T4; t += 4) {
      const x0 = xq + <usize>t * xStride, d0 = xd + <usize>t * dStride, s0 = xs + <usize>t * sStride;
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a02 = f32x4.splat(0), a03 = f32x4.splat(0);
      let a10 = f32x4.splat(0), a11 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
      let x = x0, d = d0, ss = s0;
      for (let sb = 0; sb < nb; sb++) {
        const p = p0 + <usize>sb * bytes, q = p1 + <usize>sb * bytes;
        const dp = k.d(p), dq = k.d(q);
        for (let g = 0; g < 8; g++) {
          const pa = k.codes(p, g, false), pb = k.codes(p, g, true);
          const qa = k.codes(q, g, false), qb = k.codes(q, g, true);
          const spa = k.scale(p, g, false), spb = k.scale(p, g, true), dsp = f32x4.splat(k.ds(p, g, dp));
          const sqa = k.scale(q, g, false), sqb = k.scale(q, g, true), dsq = f32x4.splat(k.ds(q, g, dq));
          a00 = tokenStepScaled(k, pa, pb, spa, spb, x, d, ss, dsp, a00);
          a10 = tokenStepScaled(k, qa, qb, sqa, sqb, x, d, ss, dsq, a10);
          a01 = tokenStepScaled(k, pa, pb, spa, spb, x + xStride, d + dStride, ss + sStride, dsp, a01);
          a11 = tokenStepScaled(k, qa, qb, sqa, sqb, x + xStride, d + dStride, ss + sStride, dsq, a11);
          a02 = tokenStepScaled(k, pa, pb, spa, spb, x + 2 * xStride, d + 2 * dStride, ss + 2 * sStride, dsp, a02);
          a12 = tokenStepScaled(k, qa, qb, sqa, sqb, x + 2 * xStride, d + 2 * dStride, ss + 2 * sStride, dsq, a12);
          a03 = tokenStepScaled(k, pa, pb, spa, spb, x + 3 * xStride, d + 3 * dStride, ss + 3 * sStride, dsp, a03);
          a13 = tokenStepScaled(k, qa, qb, sqa, sqb, x + 3 * xStride, d + 3 * dStride, ss + 3 * sStride, dsq, a13);
          x += 32 * perToken;
          d += 4;
          ss += 8;
        }
      }
      store<f32>(at(out, rows, t, r), hsum(a00));
      store<f32>(at(out, rows, t + 1, r), hsum(a01));
      store<f32>(at(out, rows, t + 2, r), hsum(a02));
      store<f32>(at(out, rows, t + 3, r), hsum(a03));
      if (two) {
        store<f32>(at(out, rows, t, r + 1), hsum(a10));
        store<f32>(at(out, rows, t + 1, r + 1), hsum(a11));
        store<f32>(at(out, rows, t + 2, r + 1), hsum(a12));
        store<f32>(at(out, rows, t + 3, r + 1), hsum(a13));
      }
    }
  }
}

// ---- float weights ------------------------------------------------------------------------------
// vec(p, x0, x1, acc): acc plus 8 weights at p times 8 float inputs; one(p): the weight at p.

@final @unmanaged class F32 {
  // @ts-ignore: decorator
  @inline get size(): usize { return 4; }
  // @ts-ignore: decorator
  @inline vec(p: usize, x0: v128, x1: v128, acc: v128): v128 {
    return f32x4.add(f32x4.add(acc, f32x4.mul(v128.load(p), x0)), f32x4.mul(v128.load(p + 16), x1));
  }
  // @ts-ignore: decorator
  @inline one(p: usize): f32 { return load<f32>(p); }
}

/**
 * Four float16 values (the low or high half of 8 in v) as float32: the exponent and mantissa
 * shifted into place and rescaled by 2^112, which turns float16 subnormals into float32 normals
 * exactly; infinities and NaNs (exponent 31) are set apart.
 */
// @ts-ignore: decorator
@inline function f16x4(h: v128): v128 {
  const abs = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  const scaled = f32x4.mul(abs, f32x4.splat(reinterpret<f32>(0x77800000))); // 2^112
  const special = i32x4.ge_u(abs, i32x4.splat(0x0f800000)); // exponent 31
  const value = v128.bitselect(v128.or(abs, i32x4.splat(0x7f800000)), scaled, special);
  return v128.or(value, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

@final @unmanaged class F16 {
  // @ts-ignore: decorator
  @inline get size(): usize { return 2; }
  // @ts-ignore: decorator
  @inline vec(p: usize, x0: v128, x1: v128, acc: v128): v128 {
    const h = v128.load(p);
    return f32x4.add(f32x4.add(acc, f32x4.mul(f16x4(i32x4.extend_low_i16x8_u(h)), x0)), f32x4.mul(f16x4(i32x4.extend_high_i16x8_u(h)), x1));
  }
  // @ts-ignore: decorator
  @inline one(p: usize): f32 { return f16(p); }
}

@final @unmanaged class BF16 {
  // @ts-ignore: decorator
  @inline get size(): usize { return 2; }
  // @ts-ignore: decorator
  @inline vec(p: usize, x0: v128, x1: v128, acc: v128): v128 {
    const h = v128.load(p);
    return f32x4.add(f32x4.add(acc, f32x4.mul(i32x4.shl(i32x4.extend_low_i16x8_u(h), 16), x0)), f32x4.mul(i32x4.shl(i32x4.extend_high_i16x8_u(h), 16), x1));
  }
  // @ts-ignore: decorator
  @inline one(p: usize): f32 { return reinterpret<f32>(<u32>load<u16>(p) << 16); }
}

/** The float types' loop: four rows at a time sharing the inputs' registers, 8 columns a step, the rest one by one. */
// @ts-ignore: decorator
@inline function rowsFloat<K>(w: usize, cols: i32, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const k = changetype<K>(0);
  const rb = <usize>cols * k.size;
  const cols8 = cols & ~7;
  let r = r0;
  // Four rows at a time even for one token: a float row of 8192 inputs is 16-32 KB, and four rows
  // sharing each load of the inputs keep them from being evicted from L1 by the rows' stream
  // (measured: one row at a time was 6-18 % faster at 2048 columns but up to 2x slower at 8192).
  for (; r + 4 <= r1; r += 4) {
    const p0 = w + <usize>r * rb;
    for (let t = 0; t < T; t++) {
      const x = xf + <usize>t * cols * 4;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let j = 0; j < cols8; j += 8) {
        const x0 = v128.load(x + (<usize>j << 2)), x1 = v128.load(x + (<usize>j << 2) + 16);
        const p = p0 + <usize>j * k.size;
        a0 = k.vec(p, x0, x1, a0);
        a1 = k.vec(p + rb, x0, x1, a1);
        a2 = k.vec(p + 2 * rb, x0, x1, a2);
        a3 = k.vec(p + 3 * rb, x0, x1, a3);
      }
      let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      for (let j = cols8; j < cols; j++) {
        const xv = load<f32>(x + (<usize>j << 2));
        const p = p0 + <usize>j * k.size;
        s0 += k.one(p) * xv;
        s1 += k.one(p + rb) * xv;
        s2 += k.one(p + 2 * rb) * xv;
        s3 += k.one(p + 3 * rb) * xv;
      }
      store<f32>(at(out, rows, t, r), s0);
      store<f32>(at(out, rows, t, r + 1), s1);
      store<f32>(at(out, rows, t, r + 2), s2);
      store<f32>(at(out, rows, t, r + 3), s3);
    }
  }
  for (; r < r1; r++) {
    const p0 = w + <usize>r * rb;
    for (let t = 0; t < T; t++) {
      const x = xf + <usize>t * cols * 4;
      let a = f32x4.splat(0);
      for (let j = 0; j < cols8; j += 8) a = k.vec(p0 + <usize>j * k.size, v128.load(x + (<usize>j << 2)), v128.load(x + (<usize>j << 2) + 16), a);
      let s = hsum(a);
      for (let j = cols8; j < cols; j++) s += k.one(p0 + <usize>j * k.size) * load<f32>(x + (<usize>j << 2));
      store<f32>(at(out, rows, t, r), s);
    }
  }
}

// A matvec streams its matrix from memory once per token, and the CPU's prefetchers stop at each
// 4 KB page; wasm has no prefetch instruction. The packed Q4_0 and Q8_0 one-token loops load a
// word PREFETCH bytes ahead where it starts a page (touchPage), the eight-token tiles one per
// block (touch), and keep the words (in `sink`) so the loads are not dropped. First measured a
// word per block, on a 1B Q4_0 file's decode (one thread): a step took 162 ms without, 142 / 139
// / 121 / 118 / 121 ms at 512 / 1024 / 4096 / 8192 / 16384 bytes ahead; a word per four blocks
// gave 138 ms, two per block 124 (per page: below). The other packed types are slower per
// byte, and the same words made them slower (1B Q4_K_M step 117 -> 138 ms, 135M Q5_0 rows 7.8 ->
// 8.5 ms); the stored-layout Q8_0 rows measured no different.
const PREFETCH: usize = 8192;
let sink: u32 = 0;

/**
 * touch for a one-token loop, only where the word PREFETCH bytes ahead is among the first `step`
 * bytes of its 4 KB page (`step`: the bytes the loop moves on per call, so once per page): the
 * CPU's prefetchers follow a stream within a page once its first line is asked for, and a load
 * per block kept one that misses at the head of the reorder buffer (retired in order) for each
 * block. On a Xeon (Sapphire Rapids, 2 vCPUs), one thread, matrices cycling from memory: Q4_0
 * 6.9 -> 8.5 GB/s (7.1 -> 7.8 in a slower minute), Q8_0 7.8 -> 8.8; no touches 6.6; two or three
 * words per page 7.5; 4 KB ahead 8.1, 12-32 KB 7.9-8.4. The 135M Q4_0 file's decode step 18.9 ->
 * 17.5 ms at one thread, 11.8 -> 11.6 at two. The eight-token tiles keep a word per block
 * (per page: 8-row decode steps 24.7 -> 25.7 ms).
 */
// @ts-ignore: decorator
@inline function touchPage(p: usize, last: usize, step: usize): u32 {
  const ahead = p + PREFETCH;
  return (ahead & 4095) < step ? load<u32>(ahead < last ? ahead : last) : 0;
}

/** The word PREFETCH bytes after p, or at `last` (the matrix's last word) past the end. */
// @ts-ignore: decorator
@inline function touch(p: usize, last: usize): u32 {
  const ahead = p + PREFETCH;
  return load<u32>(ahead < last ? ahead : last);
}

// ---- Q4_0 with its rows in fours (relaxed SIMD) ---------------------------------------------------
// Kernels.store lays a Q4_0 matrix whose rows come in fours out so that each block of 32 columns
// of four rows is 72 bytes: the four rows' float16 scales, then 64 bytes in which bytes
// 16k + 4r .. 16k + 4r + 3 are row r's nibble bytes 4k .. 4k + 3 (llama.cpp repacks Q4_0 for its
// CPU kernels in the same spirit). One 16-byte load's low nibbles are then codes 4k .. 4k+3 of the
// four rows and its high nibbles codes 16+4k .. 19+4k; multiplied by the token's four inputs
// spread across the lanes (relaxed SIMD's 16-bit dot: one pmaddubsw on x86), each lane sums one
// row. A block's integer sum leaves as four rows in one vector, so converting it, scaling it and
// adding it is done once for four rows where the one-row kernels do it once per row, and the
// results are stored four rows at a time with no horizontal sum. The integers are exact (a 16-bit
// lane sums 16 products: |15 · 127 · 16| < 2^15), and every (rows, token) runs the same float
// operations whether it is in a tile of four tokens or alone, so a row never depends on its
// chunk. Plain SIMD keeps the stored layout (Kernels.store packs only for relaxed SIMD).

/** The four rows' scales of the packed block at p. */
// @ts-ignore: decorator
@inline function scales4(p: usize): v128 {
  let v = f32x4.splat(f16(p));
  v = f32x4.replace_lane(v, 1, f16(p + 2));
  v = f32x4.replace_lane(v, 2, f16(p + 4));
  return f32x4.replace_lane(v, 3, f16(p + 6));
}

/** s + codes lo (4k .. 4k+3 of each row) and hi (16+4k ..) times the token's inputs there (x: its block's first). */
// @ts-ignore: decorator
@inline function quad(lo: v128, hi: v128, x: usize, k: usize, s: v128): v128 {
  const a = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + (k << 2)), lo);
  const b = i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 16 + (k << 2)), hi);
  return i16x8.add(s, i16x8.add(a, b));
}

/** acc + the block's four row sums (16-bit partial sums s) less 8 Σ inputs (their sum at xs: sums32), times the rows' scales d and the token's scale at xd. */
// @ts-ignore: decorator
@inline function finish4(s: v128, xs: usize, xd: usize, d: v128, acc: v128): v128 {
  const ints = i32x4.sub(i32x4.dot_i16x8_s(s, i16x8.splat(1)), i32x4.shl(v128.load32_splat(xs), 3));
  return fmaV(acc, ints, f32x4.mul(d, v128.load32_splat(xd)));
}

// Where the CPU has a four-way int8 dot product (x86's AVX-VNNI vpdpbusd, Arm's sdot), relaxed
// SIMD's i32x4 dot-add is one instruction that sums four codes of a row straight into its 32-bit
// lane, so the 16-bit partial sums and their widening go; elsewhere it is three (pmaddubsw,
// pmaddwd, paddd) against the 16-bit dot's one plus an add. matmul_q4_0x4d is the kernel with it;
// Kernels.create times both and keeps the faster (the sums are the same integers).

/** quad with four-way dots: s (four 32-bit row sums) + codes lo and hi times the token's inputs. */
// @ts-ignore: decorator
@inline function quadD(lo: v128, hi: v128, x: usize, k: usize, s: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x + 16 + (k << 2)), hi, i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x + (k << 2)), lo, s));
}

/** finish4 for quadD's 32-bit sums. */
// @ts-ignore: decorator
@inline function finishD(s: v128, xs: usize, xd: usize, d: v128, acc: v128): v128 {
  return fmaV(acc, i32x4.sub(s, i32x4.shl(v128.load32_splat(xs), 3)), f32x4.mul(d, v128.load32_splat(xd)));
}

/** quad or quadD (four-way: a constant). */
// @ts-ignore: decorator
@inline function quadQ4(lo: v128, hi: v128, x: usize, k: usize, s: v128, fourWay: bool): v128 {
  return fourWay ? quadD(lo, hi, x, k, s) : quad(lo, hi, x, k, s);
}

// @ts-ignore: decorator
@inline function finishQ4(s: v128, xs: usize, xd: usize, d: v128, acc: v128, fourWay: bool): v128 {
  return fourWay ? finishD(s, xs, xd, d, acc) : finish4(s, xs, xd, d, acc);
}

/** acc + one token's products with the packed block of four rows at p (its inputs at x, their scale at d, their sums at s). */
// @ts-ignore: decorator
@inline function tokenBlockQ4(p: usize, x: usize, d: usize, s: usize, acc: v128, fourWay: bool): v128 {
  const q0 = v128.load(p + 8), q1 = v128.load(p + 24), q2 = v128.load(p + 40), q3 = v128.load(p + 56);
  const s01 = quadQ4(lowNibbles(q0), highNibblesBeside(q0), x, 0, quadQ4(lowNibbles(q1), highNibblesBeside(q1), x, 1, i16x8.splat(0), fourWay), fourWay);
  const s23 = quadQ4(lowNibbles(q2), highNibblesBeside(q2), x, 2, quadQ4(lowNibbles(q3), highNibblesBeside(q3), x, 3, i16x8.splat(0), fourWay), fourWay);
  return finishQ4(fourWay ? i32x4.add(s01, s23) : i16x8.add(s01, s23), s, d, scales4(p), acc, fourWay);
}

/** dotD's four-way dot-add: s + codes c (4k .. 4k+3 of each of four rows) times the token's inputs at x + 4k. */
// @ts-ignore: decorator
@inline function dotD(c: v128, x: usize, k: usize, s: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load32_splat(x + (k << 2)), c, s);
}

/** s + codes c times inputs v (four inputs in every lane: a load32_splat). */
// @ts-ignore: decorator
@inline function dotV(c: v128, v: v128, s: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(v, c, s);
}

/**
 * packedQ4_0's four-token tiles (rows r .. r+3, their blocks from p0), with 16-bit dots (quad)
 * or four-way ones. The dot-add carries its sum through the instruction, so one chain per token
 * waited ~5 cycles per dot: each token keeps two sums (low and high codes), eight chains in
 * flight, added per block (the same integers, so the same bits as quadD's single chain).
 */
// @ts-ignore: decorator
@inline function tilesQ4_0(p0: usize, nb: i32, xq: usize, xd: usize, xb: usize, t0: i32, T4: i32, out: usize, rows: i32, r: i32, fourWay: bool): void {
  const cols = nb << 5;
  const xStride = <usize>cols, dStride = <usize>nb * 4, sStride = dStride;
  const z = i32x4.splat(0);
  const m = splatAtRunTime(0x0f, nb);
  for (let t = t0; t < T4; t += 4) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let p = p0;
    let x0 = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xb + <usize>t * sStride;
    for (let b = 0; b < nb; b++) {
      const x1 = x0 + xStride, x2 = x0 + 2 * xStride, x3 = x0 + 3 * xStride;
      if (fourWay) {
        // written out for k = 0 .. 3: binaryen does not unroll
        let q = v128.load(p + 8), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
        let l0 = dotD(lo, x0, 0, z), h0 = dotD(hi, x0 + 16, 0, z), l1 = dotD(lo, x1, 0, z), h1 = dotD(hi, x1 + 16, 0, z);
        let l2 = dotD(lo, x2, 0, z), h2 = dotD(hi, x2 + 16, 0, z), l3 = dotD(lo, x3, 0, z), h3 = dotD(hi, x3 + 16, 0, z);
        q = v128.load(p + 24), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
        l0 = dotD(lo, x0, 1, l0), h0 = dotD(hi, x0 + 16, 1, h0), l1 = dotD(lo, x1, 1, l1), h1 = dotD(hi, x1 + 16, 1, h1);
        l2 = dotD(lo, x2, 1, l2), h2 = dotD(hi, x2 + 16, 1, h2), l3 = dotD(lo, x3, 1, l3), h3 = dotD(hi, x3 + 16, 1, h3);
        q = v128.load(p + 40), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
        l0 = dotD(lo, x0, 2, l0), h0 = dotD(hi, x0 + 16, 2, h0), l1 = dotD(lo, x1, 2, l1), h1 = dotD(hi, x1 + 16, 2, h1);
        l2 = dotD(lo, x2, 2, l2), h2 = dotD(hi, x2 + 16, 2, h2), l3 = dotD(lo, x3, 2, l3), h3 = dotD(hi, x3 + 16, 2, h3);
        q = v128.load(p + 56), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
        l0 = dotD(lo, x0, 3, l0), h0 = dotD(hi, x0 + 16, 3, h0), l1 = dotD(lo, x1, 3, l1), h1 = dotD(hi, x1 + 16, 3, h1);
        l2 = dotD(lo, x2, 3, l2), h2 = dotD(hi, x2 + 16, 3, h2), l3 = dotD(lo, x3, 3, l3), h3 = dotD(hi, x3 + 16, 3, h3);
        const ds = scales4(p);
        a0 = finishD(i32x4.add(l0, h0), s, d, ds, a0);
        a1 = finishD(i32x4.add(l1, h1), s + sStride, d + dStride, ds, a1);
        a2 = finishD(i32x4.add(l2, h2), s + 2 * sStride, d + 2 * dStride, ds, a2);
        a3 = finishD(i32x4.add(l3, h3), s + 3 * sStride, d + 3 * dStride, ds, a3);
      } else {
        // written out for k = 0 .. 3: binaryen does not unroll, and a loop here cost ~10 %
        let q = v128.load(p + 8), lo = lowNibbles(q), hi = highNibblesBeside(q);
        let s0 = quad(lo, hi, x0, 0, z), s1 = quad(lo, hi, x1, 0, z), s2 = quad(lo, hi, x2, 0, z), s3 = quad(lo, hi, x3, 0, z);
        q = v128.load(p + 24), lo = lowNibbles(q), hi = highNibblesBeside(q);
        s0 = quad(lo, hi, x0, 1, s0), s1 = quad(lo, hi, x1, 1, s1), s2 = quad(lo, hi, x2, 1, s2), s3 = quad(lo, hi, x3, 1, s3);
        q = v128.load(p + 40), lo = lowNibbles(q), hi = highNibblesBeside(q);
        s0 = quad(lo, hi, x0, 2, s0), s1 = quad(lo, hi, x1, 2, s1), s2 = quad(lo, hi, x2, 2, s2), s3 = quad(lo, hi, x3, 2, s3);
        q = v128.load(p + 56), lo = lowNibbles(q), hi = highNibblesBeside(q);
        s0 = quad(lo, hi, x0, 3, s0), s1 = quad(lo, hi, x1, 3, s1), s2 = quad(lo, hi, x2, 3, s2), s3 = quad(lo, hi, x3, 3, s3);
        const ds = scales4(p);
        a0 = finish4(s0, s, d, ds, a0);
        a1 = finish4(s1, s + sStride, d + dStride, ds, a1);
        a2 = finish4(s2, s + 2 * sStride, d + 2 * dStride, ds, a2);
        a3 = finish4(s3, s + 3 * sStride, d + 3 * dStride, ds, a3);
      }
      p += 72;
      x0 += 32;
      d += 4;
      s += 4;
    }
    v128.store(at(out, rows, t, r), a0);
    v128.store(at(out, rows, t + 1, r), a1);
    v128.store(at(out, rows, t + 2, r), a2);
    v128.store(at(out, rows, t + 3, r), a3);
  }
}

/** Zeroes an eight-token tile's float sums (eight vectors at sums: tileSums). */
// @ts-ignore: decorator
@inline function clearSums8(sums: usize): void {
  for (let i: usize = 0; i < 8; i++) v128.store(sums + (i << 4), f32x4.splat(0));
}

/** An eight-token tile's float sums (rows r .. r+3) as tokens t .. t+7 of out. */
// @ts-ignore: decorator
@inline function storeSums8(sums: usize, out: usize, rows: i32, t: i32, r: i32): void {
  for (let i = 0; i < 8; i++) v128.store(at(out, rows, t + i, r), v128.load(sums + (<usize>i << 4)));
}

/**
 * packedQ4_0's eight-token tiles with four-way dots (tokens t0 .. t0 + T8 - 1, a multiple of 8):
 * as tilesK4x8, one chain per token and the float sums in the thread's scratch; each (row,
 * token) runs tilesQ4_0's float operations, so the same bits; written out, as tilesK4x8, for the
 * loads' immediates (tilesQ5_0x8 repeats it with the fifth bit). It loads a word PREFETCH bytes
 * ahead per block as the one-token loop does: without, with its matrices coming from memory (a
 * decode step of 8 rows), it ran 1.55x slower than two four-token passes (300 vs 193 µs a
 * 1536 × 576 matrix, 160 matrices cycling), with, 1.13x faster (171); the step 42.6 -> 37-38 ms.
 */
// @ts-ignore: decorator
@inline function tilesQ4_0x8(p0: usize, nb: i32, xq: usize, xd: usize, xb: usize, t0: i32, T8: i32, out: usize, rows: i32, r: i32, last: usize): void {
  const cols = nb << 5;
  const xStride = <usize>cols, dStride = <usize>nb * 4, sStride = dStride;
  const sums = tileSums();
  let touched: u32 = 0;
  const z = i32x4.splat(0);
  const m = splatAtRunTime(0x0f, nb);
  for (let t = t0; t < t0 + T8; t += 8) {
    clearSums8(sums);
    let p = p0;
    let x0 = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xb + <usize>t * sStride;
    for (let b = 0; b < nb; b++) {
      const x1 = x0 + xStride, x2 = x0 + 2 * xStride, x3 = x0 + 3 * xStride;
      const x4 = x0 + 4 * xStride, x5 = x0 + 5 * xStride, x6 = x0 + 6 * xStride, x7 = x0 + 7 * xStride;
      let q: v128, lo: v128, hi: v128, e0: v128, e1: v128, e2: v128, e3: v128, e4: v128, e5: v128, e6: v128, e7: v128;
      q = v128.load(p, 8), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
      e0 = dotV(lo, v128.load32_splat(x0, 0), z); e1 = dotV(lo, v128.load32_splat(x1, 0), z); e2 = dotV(lo, v128.load32_splat(x2, 0), z); e3 = dotV(lo, v128.load32_splat(x3, 0), z);
      e4 = dotV(lo, v128.load32_splat(x4, 0), z); e5 = dotV(lo, v128.load32_splat(x5, 0), z); e6 = dotV(lo, v128.load32_splat(x6, 0), z); e7 = dotV(lo, v128.load32_splat(x7, 0), z);
      e0 = dotV(hi, v128.load32_splat(x0, 16), e0); e1 = dotV(hi, v128.load32_splat(x1, 16), e1); e2 = dotV(hi, v128.load32_splat(x2, 16), e2); e3 = dotV(hi, v128.load32_splat(x3, 16), e3);
      e4 = dotV(hi, v128.load32_splat(x4, 16), e4); e5 = dotV(hi, v128.load32_splat(x5, 16), e5); e6 = dotV(hi, v128.load32_splat(x6, 16), e6); e7 = dotV(hi, v128.load32_splat(x7, 16), e7);
      keepOrder();
      q = v128.load(p, 24), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
      e0 = dotV(lo, v128.load32_splat(x0, 4), e0); e1 = dotV(lo, v128.load32_splat(x1, 4), e1); e2 = dotV(lo, v128.load32_splat(x2, 4), e2); e3 = dotV(lo, v128.load32_splat(x3, 4), e3);
      e4 = dotV(lo, v128.load32_splat(x4, 4), e4); e5 = dotV(lo, v128.load32_splat(x5, 4), e5); e6 = dotV(lo, v128.load32_splat(x6, 4), e6); e7 = dotV(lo, v128.load32_splat(x7, 4), e7);
      e0 = dotV(hi, v128.load32_splat(x0, 20), e0); e1 = dotV(hi, v128.load32_splat(x1, 20), e1); e2 = dotV(hi, v128.load32_splat(x2, 20), e2); e3 = dotV(hi, v128.load32_splat(x3, 20), e3);
      e4 = dotV(hi, v128.load32_splat(x4, 20), e4); e5 = dotV(hi, v128.load32_splat(x5, 20), e5); e6 = dotV(hi, v128.load32_splat(x6, 20), e6); e7 = dotV(hi, v128.load32_splat(x7, 20), e7);
      keepOrder();
      q = v128.load(p, 40), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
      e0 = dotV(lo, v128.load32_splat(x0, 8), e0); e1 = dotV(lo, v128.load32_splat(x1, 8), e1); e2 = dotV(lo, v128.load32_splat(x2, 8), e2); e3 = dotV(lo, v128.load32_splat(x3, 8), e3);
      e4 = dotV(lo, v128.load32_splat(x4, 8), e4); e5 = dotV(lo, v128.load32_splat(x5, 8), e5); e6 = dotV(lo, v128.load32_splat(x6, 8), e6); e7 = dotV(lo, v128.load32_splat(x7, 8), e7);
      e0 = dotV(hi, v128.load32_splat(x0, 24), e0); e1 = dotV(hi, v128.load32_splat(x1, 24), e1); e2 = dotV(hi, v128.load32_splat(x2, 24), e2); e3 = dotV(hi, v128.load32_splat(x3, 24), e3);
      e4 = dotV(hi, v128.load32_splat(x4, 24), e4); e5 = dotV(hi, v128.load32_splat(x5, 24), e5); e6 = dotV(hi, v128.load32_splat(x6, 24), e6); e7 = dotV(hi, v128.load32_splat(x7, 24), e7);
      keepOrder();
      q = v128.load(p, 56), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
      e0 = dotV(lo, v128.load32_splat(x0, 12), e0); e1 = dotV(lo, v128.load32_splat(x1, 12), e1); e2 = dotV(lo, v128.load32_splat(x2, 12), e2); e3 = dotV(lo, v128.load32_splat(x3, 12), e3);
      e4 = dotV(lo, v128.load32_splat(x4, 12), e4); e5 = dotV(lo, v128.load32_splat(x5, 12), e5); e6 = dotV(lo, v128.load32_splat(x6, 12), e6); e7 = dotV(lo, v128.load32_splat(x7, 12), e7);
      e0 = dotV(hi, v128.load32_splat(x0, 28), e0); e1 = dotV(hi, v128.load32_splat(x1, 28), e1); e2 = dotV(hi, v128.load32_splat(x2, 28), e2); e3 = dotV(hi, v128.load32_splat(x3, 28), e3);
      e4 = dotV(hi, v128.load32_splat(x4, 28), e4); e5 = dotV(hi, v128.load32_splat(x5, 28), e5); e6 = dotV(hi, v128.load32_splat(x6, 28), e6); e7 = dotV(hi, v128.load32_splat(x7, 28), e7);
      keepOrder();
      const ds = scales4(p);
      v128.store(sums, finishD(e0, s + 0 * sStride, d + 0 * dStride, ds, v128.load(sums, 0)), 0);
      v128.store(sums, finishD(e1, s + 1 * sStride, d + 1 * dStride, ds, v128.load(sums, 16)), 16);
      v128.store(sums, finishD(e2, s + 2 * sStride, d + 2 * dStride, ds, v128.load(sums, 32)), 32);
      v128.store(sums, finishD(e3, s + 3 * sStride, d + 3 * dStride, ds, v128.load(sums, 48)), 48);
      v128.store(sums, finishD(e4, s + 4 * sStride, d + 4 * dStride, ds, v128.load(sums, 64)), 64);
      v128.store(sums, finishD(e5, s + 5 * sStride, d + 5 * dStride, ds, v128.load(sums, 80)), 80);
      v128.store(sums, finishD(e6, s + 6 * sStride, d + 6 * dStride, ds, v128.load(sums, 96)), 96);
      v128.store(sums, finishD(e7, s + 7 * sStride, d + 7 * dStride, ds, v128.load(sums, 112)), 112);
      touched ^= touch(p, last);
      p += 72;
      x0 += 32;
      d += 4;
      s += 4;
    }
    storeSums8(sums, out, rows, t, r);
  }
  sink ^= touched;
}

// @ts-ignore: decorator
@inline function packedQ4_0(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32, fourWay: bool): void {
  const nb = cols >> 5;
  const groupBytes = <usize>nb * 72;
  const last = w + <usize>(rows >> 2) * groupBytes - 4;
  let touched: u32 = 0;
  const xStride = <usize>cols, dStride = <usize>(cols >> 5) * 4, sStride = dStride;
  const xb = sums32(xs, T, cols);
  const T4 = T & ~3;
  if (T == 1) {
    // A decode step: two groups at a time, half the chunk apart, so memory is read as two
    // streams (a 2048 × 2048 matrix from memory 0.47 -> 0.36 ms, 8192 × 2048 1.72 -> 1.32, the
    // 49152-row head 2.96 -> 2.03); two neighbouring groups, one stream, measured no faster. Each
    // row's operations are those of the loop below, in the same order.
    const groups = (r1 - r0) >> 2, half = groups >> 1;
    for (let g = 0; g < half; g++) {
      const ra = r0 + (g << 2), rb = ra + (half << 2);
      let pa = w + <usize>(ra >> 2) * groupBytes, pb = w + <usize>(rb >> 2) * groupBytes;
      let a = f32x4.splat(0), c = f32x4.splat(0);
      let x = xq, d = xd, s = xb;
      for (let b = 0; b < nb; b++) {
        a = tokenBlockQ4(pa, x, d, s, a, fourWay);
        c = tokenBlockQ4(pb, x, d, s, c, fourWay);
        touched ^= touchPage(pa, last, 72) ^ touchPage(pb, last, 72);
        pa += 72;
        pb += 72;
        x += 32;
        d += 4;
        s += 4;
      }
      v128.store(at(out, rows, 0, ra), a);
      v128.store(at(out, rows, 0, rb), c);
    }
    r0 += half << 3;
    if (r0 >= r1) {
      sink = touched;
      return;
    }
  }
  for (let r = r0; r < r1; r += 4) {
    const p0 = w + <usize>(r >> 2) * groupBytes;
    // eight tokens at a time with four-way dots, then four: each block's codes decoded once for them
    const T8 = fourWay ? T & ~7 : 0;
    if (T8 > 0) tilesQ4_0x8(p0, nb, xq, xd, xb, 0, T8, out, rows, r, last);
    tilesQ4_0(p0, nb, xq, xd, xb, T8, T4, out, rows, r, fourWay);
    // the rest (every decode step): one token at a time, the same operations
    for (let t = T4; t < T; t++) {
      let a = f32x4.splat(0);
      let p = p0;
      let x = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xb + <usize>t * sStride;
      for (let b = 0; b < nb; b++) {
        a = tokenBlockQ4(p, x, d, s, a, fourWay);
        touched ^= touch(p, last);
        p += 72;
        x += 32;
        d += 4;
        s += 4;
      }
      v128.store(at(out, rows, t, r), a);
    }
  }
  sink = touched;
}

// ---- Q5_0 with its rows in fours (relaxed SIMD) ---------------------------------------------------
// Q4_0's packing plus the high bits (Kernels.store): 88 bytes per block of four rows, the four
// scales, the nibbles as Q4_0's, then 16 bytes in which bit m of byte 4r + i is row r's high bit
// of weight 4m + i: the high bits of Q4_0's code vector m, where they go, one shift and mask each
// (the stored layout spreads 32 bits per row per block by a swizzle, compare and mask: decode
// ran 6.5 GMAC/s). Codes reach 31, so a 16-bit lane sums at most 8 products (|31 · 127 · 8| <
// 2^15): the sums widen to 32 bits every two code vectors of each half.

/** The high bits of code vector m (0..7, a constant) as 16s: bit m of each byte of h moved to bit 4 (16-bit shifts: what crosses a byte is masked off). */
// @ts-ignore: decorator
@inline function fifthBit(m10: v128, h: v128, m: i32): v128 {
  const v = m < 4 ? i16x8.shl(h, 4 - m) : m > 4 ? i16x8.shr_u(h, m - 4) : h;
  return v128.and(v, m10);
}

/** acc + a block's four row sums less 16 Σ inputs, times the rows' scales d and the token's scale at xd. */
// @ts-ignore: decorator
@inline function finishQ5_0(ints: v128, xs: usize, xd: usize, d: v128, acc: v128): v128 {
  const biased = i32x4.sub(ints, i32x4.shl(v128.load32_splat(xs), 4));
  return fmaV(acc, biased, f32x4.mul(d, v128.load32_splat(xd)));
}

// Written out, block by block and vector by vector (the repetition is deliberate): binaryen does not unroll.
/** acc + one token's products with the packed Q5_0 block of four rows at p (the one-token loop's body). */
// @ts-ignore: decorator
@inline function tokenBlockQ5(p: usize, x: usize, d: usize, s: usize, acc: v128, m: v128, m10: v128): v128 {
  let a0 = acc;
  const h = v128.load(p, 72);
  let q: v128, lo: v128, hi: v128;
  let s0: v128, i0: v128;
  q = v128.load(p, 8);
  lo = v128.or(nibblesLo(m, q), fifthBit(m10, h, 0));
  hi = v128.or(highNibblesBeside(q), fifthBit(m10, h, 4));
  s0 = quad(lo, hi, x, 0, i16x8.splat(0));
  q = v128.load(p, 24);
  lo = v128.or(nibblesLo(m, q), fifthBit(m10, h, 1));
  hi = v128.or(highNibblesBeside(q), fifthBit(m10, h, 5));
  s0 = quad(lo, hi, x, 1, s0);
  i0 = i32x4.dot_i16x8_s(s0, i16x8.splat(1));
  q = v128.load(p, 40);
  lo = v128.or(nibblesLo(m, q), fifthBit(m10, h, 2));
  hi = v128.or(highNibblesBeside(q), fifthBit(m10, h, 6));
  s0 = quad(lo, hi, x, 2, i16x8.splat(0));
  q = v128.load(p, 56);
  lo = v128.or(nibblesLo(m, q), fifthBit(m10, h, 3));
  hi = v128.or(highNibblesBeside(q), fifthBit(m10, h, 7));
  s0 = quad(lo, hi, x, 3, s0);
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(s0, i16x8.splat(1)));
  const ds = scales4(p);
  a0 = finishQ5_0(i0, s, d, ds, a0);
  return a0;
}

/**
 * packedQ5_0's eight-token tiles with four-way dots (tokens t0 .. t0 + T8 - 1, a multiple of 8),
 * as tilesQ4_0x8: the codes topped with their fifth bit, one chain per token (32-bit sums: no
 * widening every two vectors), the same integers as the 16-bit tile's, so the same bits. Without
 * Q4_0's load ahead: with it, 8 tokens from memory took 195 µs a 1536 × 576 matrix, without 176.
 */
// @ts-ignore: decorator
@inline function tilesQ5_0x8(p0: usize, nb: i32, xq: usize, xd: usize, xb: usize, t0: i32, T8: i32, out: usize, rows: i32, r: i32, m: v128, m10: v128): void {
  const cols = nb << 5;
  const xStride = <usize>cols, dStride = <usize>nb * 4, sStride = dStride;
  const sums = tileSums();
  const z = i32x4.splat(0);
  for (let t = t0; t < t0 + T8; t += 8) {
    clearSums8(sums);
    let p = p0;
    let x0 = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xb + <usize>t * sStride;
    for (let b = 0; b < nb; b++) {
      const x1 = x0 + xStride, x2 = x0 + 2 * xStride, x3 = x0 + 3 * xStride;
      const x4 = x0 + 4 * xStride, x5 = x0 + 5 * xStride, x6 = x0 + 6 * xStride, x7 = x0 + 7 * xStride;
      const h = v128.load(p, 72);
      let q: v128, nib: v128, lo: v128, hi: v128, e0: v128, e1: v128, e2: v128, e3: v128, e4: v128, e5: v128, e6: v128, e7: v128;
      q = v128.load(p, 8), nib = nibblesLo(m, q);
      lo = v128.or(nib, fifthBit(m10, h, 0)), hi = v128.or(i16x8.shr_u(v128.xor(q, nib), 4), fifthBit(m10, h, 4));
      e0 = dotV(lo, v128.load32_splat(x0, 0), z); e1 = dotV(lo, v128.load32_splat(x1, 0), z); e2 = dotV(lo, v128.load32_splat(x2, 0), z); e3 = dotV(lo, v128.load32_splat(x3, 0), z);
      e4 = dotV(lo, v128.load32_splat(x4, 0), z); e5 = dotV(lo, v128.load32_splat(x5, 0), z); e6 = dotV(lo, v128.load32_splat(x6, 0), z); e7 = dotV(lo, v128.load32_splat(x7, 0), z);
      e0 = dotV(hi, v128.load32_splat(x0, 16), e0); e1 = dotV(hi, v128.load32_splat(x1, 16), e1); e2 = dotV(hi, v128.load32_splat(x2, 16), e2); e3 = dotV(hi, v128.load32_splat(x3, 16), e3);
      e4 = dotV(hi, v128.load32_splat(x4, 16), e4); e5 = dotV(hi, v128.load32_splat(x5, 16), e5); e6 = dotV(hi, v128.load32_splat(x6, 16), e6); e7 = dotV(hi, v128.load32_splat(x7, 16), e7);
      keepOrder();
      q = v128.load(p, 24), nib = nibblesLo(m, q);
      lo = v128.or(nib, fifthBit(m10, h, 1)), hi = v128.or(i16x8.shr_u(v128.xor(q, nib), 4), fifthBit(m10, h, 5));
      e0 = dotV(lo, v128.load32_splat(x0, 4), e0); e1 = dotV(lo, v128.load32_splat(x1, 4), e1); e2 = dotV(lo, v128.load32_splat(x2, 4), e2); e3 = dotV(lo, v128.load32_splat(x3, 4), e3);
      e4 = dotV(lo, v128.load32_splat(x4, 4), e4); e5 = dotV(lo, v128.load32_splat(x5, 4), e5); e6 = dotV(lo, v128.load32_splat(x6, 4), e6); e7 = dotV(lo, v128.load32_splat(x7, 4), e7);
      e0 = dotV(hi, v128.load32_splat(x0, 20), e0); e1 = dotV(hi, v128.load32_splat(x1, 20), e1); e2 = dotV(hi, v128.load32_splat(x2, 20), e2); e3 = dotV(hi, v128.load32_splat(x3, 20), e3);
      e4 = dotV(hi, v128.load32_splat(x4, 20), e4); e5 = dotV(hi, v128.load32_splat(x5, 20), e5); e6 = dotV(hi, v128.load32_splat(x6, 20), e6); e7 = dotV(hi, v128.load32_splat(x7, 20), e7);
      keepOrder();
      q = v128.load(p, 40), nib = nibblesLo(m, q);
      lo = v128.or(nib, fifthBit(m10, h, 2)), hi = v128.or(i16x8.shr_u(v128.xor(q, nib), 4), fifthBit(m10, h, 6));
      e0 = dotV(lo, v128.load32_splat(x0, 8), e0); e1 = dotV(lo, v128.load32_splat(x1, 8), e1); e2 = dotV(lo, v128.load32_splat(x2, 8), e2); e3 = dotV(lo, v128.load32_splat(x3, 8), e3);
      e4 = dotV(lo, v128.load32_splat(x4, 8), e4); e5 = dotV(lo, v128.load32_splat(x5, 8), e5); e6 = dotV(lo, v128.load32_splat(x6, 8), e6); e7 = dotV(lo, v128.load32_splat(x7, 8), e7);
      e0 = dotV(hi, v128.load32_splat(x0, 24), e0); e1 = dotV(hi, v128.load32_splat(x1, 24), e1); e2 = dotV(hi, v128.load32_splat(x2, 24), e2); e3 = dotV(hi, v128.load32_splat(x3, 24), e3);
      e4 = dotV(hi, v128.load32_splat(x4, 24), e4); e5 = dotV(hi, v128.load32_splat(x5, 24), e5); e6 = dotV(hi, v128.load32_splat(x6, 24), e6); e7 = dotV(hi, v128.load32_splat(x7, 24), e7);
      keepOrder();
      q = v128.load(p, 56), nib = nibblesLo(m, q);
      lo = v128.or(nib, fifthBit(m10, h, 3)), hi = v128.or(i16x8.shr_u(v128.xor(q, nib), 4), fifthBit(m10, h, 7));
      e0 = dotV(lo, v128.load32_splat(x0, 12), e0); e1 = dotV(lo, v128.load32_splat(x1, 12), e1); e2 = dotV(lo, v128.load32_splat(x2, 12), e2); e3 = dotV(lo, v128.load32_splat(x3, 12), e3);
      e4 = dotV(lo, v128.load32_splat(x4, 12), e4); e5 = dotV(lo, v128.load32_splat(x5, 12), e5); e6 = dotV(lo, v128.load32_splat(x6, 12), e6); e7 = dotV(lo, v128.load32_splat(x7, 12), e7);
      e0 = dotV(hi, v128.load32_splat(x0, 28), e0); e1 = dotV(hi, v128.load32_splat(x1, 28), e1); e2 = dotV(hi, v128.load32_splat(x2, 28), e2); e3 = dotV(hi, v128.load32_splat(x3, 28), e3);
      e4 = dotV(hi, v128.load32_splat(x4, 28), e4); e5 = dotV(hi, v128.load32_splat(x5, 28), e5); e6 = dotV(hi, v128.load32_splat(x6, 28), e6); e7 = dotV(hi, v128.load32_splat(x7, 28), e7);
      keepOrder();
      const ds = scales4(p);
      v128.store(sums, finishQ5_0(e0, s + 0 * sStride, d + 0 * dStride, ds, v128.load(sums, 0)), 0);
      v128.store(sums, finishQ5_0(e1, s + 1 * sStride, d + 1 * dStride, ds, v128.load(sums, 16)), 16);
      v128.store(sums, finishQ5_0(e2, s + 2 * sStride, d + 2 * dStride, ds, v128.load(sums, 32)), 32);
      v128.store(sums, finishQ5_0(e3, s + 3 * sStride, d + 3 * dStride, ds, v128.load(sums, 48)), 48);
      v128.store(sums, finishQ5_0(e4, s + 4 * sStride, d + 4 * dStride, ds, v128.load(sums, 64)), 64);
      v128.store(sums, finishQ5_0(e5, s + 5 * sStride, d + 5 * dStride, ds, v128.load(sums, 80)), 80);
      v128.store(sums, finishQ5_0(e6, s + 6 * sStride, d + 6 * dStride, ds, v128.load(sums, 96)), 96);
      v128.store(sums, finishQ5_0(e7, s + 7 * sStride, d + 7 * dStride, ds, v128.load(sums, 112)), 112);
      p += 88;
      x0 += 32;
      d += 4;
      s += 4;
    }
    storeSums8(sums, out, rows, t, r);
  }
}

// @ts-ignore: decorator
@inline function packedQ5_0(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32, fourWay: bool): void {
  const m = splatAtRunTime(0x0f, cols), m10 = splatAtRunTime(0x10, cols);
  const nb = cols >> 5;
  const groupBytes = <usize>nb * 88;
  const xStride = <usize>cols, dStride = <usize>(cols >> 5) * 4, sStride = dStride;
  const xb = sums32(xs, T, cols);
  const T4 = T & ~3;
  if (T == 1) {
    // a decode step: two groups at a time, half the chunk apart (two streams: packedQ4_0)
    const groups = (r1 - r0) >> 2, half = groups >> 1;
    for (let g = 0; g < half; g++) {
      const ra = r0 + (g << 2), rb = ra + (half << 2);
      let pa = w + <usize>(ra >> 2) * groupBytes, pb = w + <usize>(rb >> 2) * groupBytes;
      let a = f32x4.splat(0), c = f32x4.splat(0);
      let x = xq, d = xd, s = xb;
      for (let b = 0; b < nb; b++) {
        a = tokenBlockQ5(pa, x, d, s, a, m, m10);
        c = tokenBlockQ5(pb, x, d, s, c, m, m10);
        pa += 88;
        pb += 88;
        x += 32;
        d += 4;
        s += 4;
      }
      v128.store(at(out, rows, 0, ra), a);
      v128.store(at(out, rows, 0, rb), c);
    }
    r0 += half << 3;
  }
  for (let r = r0; r < r1; r += 4) {
    const p0 = w + <usize>(r >> 2) * groupBytes;
    // eight tokens at a time with four-way dots, then four: each block's codes decoded once for them
    const T8 = fourWay ? T & ~7 : 0;
    if (T8 > 0) tilesQ5_0x8(p0, nb, xq, xd, xb, 0, T8, out, rows, r, m, m10);
    for (let t = T8; t < T4; t += 4) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let p = p0;
      let x = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xb + <usize>t * sStride;
      for (let b = 0; b < nb; b++) {
        const h = v128.load(p, 72);
        let q: v128, lo: v128, hi: v128;
        let s0: v128, i0: v128, s1: v128, i1: v128, s2: v128, i2: v128, s3: v128, i3: v128;
        q = v128.load(p, 8);
        lo = v128.or(nibblesLo(m, q), fifthBit(m10, h, 0));
        hi = v128.or(highNibblesBeside(q), fifthBit(m10, h, 4));
        s0 = quad(lo, hi, x, 0, i16x8.splat(0));
        s1 = quad(lo, hi, x + xStride, 0, i16x8.splat(0));
        s2 = quad(lo, hi, x + 2 * xStride, 0, i16x8.splat(0));
        s3 = quad(lo, hi, x + 3 * xStride, 0, i16x8.splat(0));
        q = v128.load(p, 24);
        lo = v128.or(nibblesLo(m, q), fifthBit(m10, h, 1));
        hi = v128.or(highNibblesBeside(q), fifthBit(m10, h, 5));
        s0 = quad(lo, hi, x, 1, s0);
        s1 = quad(lo, hi, x + xStride, 1, s1);
        s2 = quad(lo, hi, x + 2 * xStride, 1, s2);
        s3 = quad(lo, hi, x + 3 * xStride, 1, s3);
        i0 = i32x4.dot_i16x8_s(s0, i16x8.splat(1));
        i1 = i32x4.dot_i16x8_s(s1, i16x8.splat(1));
        i2 = i32x4.dot_i16x8_s(s2, i16x8.splat(1));
        i3 = i32x4.dot_i16x8_s(s3, i16x8.splat(1));
        q = v128.load(p, 40);
        lo = v128.or(nibblesLo(m, q), fifthBit(m10, h, 2));
        hi = v128.or(highNibblesBeside(q), fifthBit(m10, h, 6));
        s0 = quad(lo, hi, x, 2, i16x8.splat(0));
        s1 = quad(lo, hi, x + xStride, 2, i16x8.splat(0));
        s2 = quad(lo, hi, x + 2 * xStride, 2, i16x8.splat(0));
        s3 = quad(lo, hi, x + 3 * xStride, 2, i16x8.splat(0));
        q = v128.load(p, 56);
        lo = v128.or(nibblesLo(m, q), fifthBit(m10, h, 3));
        hi = v128.or(highNibblesBeside(q), fifthBit(m10, h, 7));
        s0 = quad(lo, hi, x, 3, s0);
        s1 = quad(lo, hi, x + xStride, 3, s1);
        s2 = quad(lo, hi, x + 2 * xStride, 3, s2);
        s3 = quad(lo, hi, x + 3 * xStride, 3, s3);
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(s0, i16x8.splat(1)));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(s1, i16x8.splat(1)));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(s2, i16x8.splat(1)));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(s3, i16x8.splat(1)));
        const ds = scales4(p);
        a0 = finishQ5_0(i0, s, d, ds, a0);
        a1 = finishQ5_0(i1, s + sStride, d + dStride, ds, a1);
        a2 = finishQ5_0(i2, s + 2 * sStride, d + 2 * dStride, ds, a2);
        a3 = finishQ5_0(i3, s + 3 * sStride, d + 3 * dStride, ds, a3);
        p += 88;
        x += 32;
        d += 4;
        s += 4;
      }
      v128.store(at(out, rows, t + 0, r), a0);
      v128.store(at(out, rows, t + 1, r), a1);
      v128.store(at(out, rows, t + 2, r), a2);
      v128.store(at(out, rows, t + 3, r), a3);
    }
    // the rest (every decode step): one token at a time, the same operations
    for (let t = T4; t < T; t++) {
      let a0 = f32x4.splat(0);
      let p = p0;
      let x = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xb + <usize>t * sStride;
      for (let b = 0; b < nb; b++) {
        a0 = tokenBlockQ5(p, x, d, s, a0, m, m10);
        p += 88;
        x += 32;
        d += 4;
        s += 4;
      }
      v128.store(at(out, rows, t + 0, r), a0);
    }
  }
}

// ---- Q6_K with its rows in fours (relaxed SIMD) ---------------------------------------------------
// Kernels.store lays each super-block of four Q6_K rows out in their 840 bytes as: the four d,
// the 16 scales of each row by sub-block (byte 8 + 4u + r: row r's scale of weights 16u ..),
// then per block of 32 weights c the low four bits of its codes as Q4_0's nibbles (72 + 64c),
// then their high two bits (584 + 32c: bits 2k, 2k+1 of byte 16h + 4r + i belong to code 16h +
// 4k + i of row r), each where its code vector needs it. A 16-bit lane then sums four products (at
// most 63 · 127 · 4 < 2^15) before the 32-bit widening, which multiplies by the row's scale in
// the same instruction (i32x4.dot_i16x8_s with the scale in both 16-bit halves of the row's
// lane); the codes' offset of 32 times each row's scales and the token's sums per 16 is one more
// such dot. Written out, block by block and vector by vector (the repetition is deliberate): binaryen does not unroll.
// The prompt tile calls keepOrder after each pair of code vectors' four tokens: 1.22x (the
// chains nested by binaryen had their loads hoisted and spilled, as in tilesK4).

/** The high two bits of code vector k (0..3, a constant) of h as 16s and 32s (16-bit shifts: what crosses a byte is masked off by m30, splatAtRunTime(0x30)). */
// @ts-ignore: decorator
@inline function highPair(m30: v128, h: v128, k: i32): v128 {
  const v = k == 0 ? i16x8.shl(h, 4) : k == 1 ? i16x8.shl(h, 2) : k == 2 ? h : i16x8.shr_u(h, 2);
  return v128.and(v, m30);
}

/**
 * acc + a block's four row sums (ints: Σ code · input · scale over its two sub-blocks) less 32
 * times each row's scales (scAB: sub-block A's and B's scale of each row, 16-bit pairs) times
 * the token's sums of their inputs (at xs), times the rows' d and the token's scale at xd.
 */
// @ts-ignore: decorator
@inline function finishQ6K(ints: v128, scAB: v128, xs: usize, xd: usize, d: v128, acc: v128): v128 {
  const sums = v128.load64_splat(xs);
  const offset = i32x4.dot_i16x8_s(scAB, i16x8.narrow_i32x4_s(sums, sums));
  return fmaV(acc, i32x4.sub(ints, i32x4.shl(offset, 5)), f32x4.mul(d, v128.load32_splat(xd)));
}

/** acc + one token's products with the packed Q6_K super-block of four rows at p (the one-token loop's body). */
// @ts-ignore: decorator
@inline function tokenSuperQ6(p: usize, x: usize, d: usize, s: usize, acc: v128, m: v128, m30: v128): v128 {
  let a0 = acc;
  const dd = scales4(p);
  let h0: v128, h1: v128, sc: v128, scA: v128, scB: v128, scAB: v128, c0: v128, c1: v128, q: v128, i0: v128;
  // block 0: sub-blocks 0 (codes 0..15) and 1 (16..31)
  h0 = v128.load(p, 584), h1 = v128.load(p, 600);
  sc = v128.load64_zero(p + 8);
  scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
  scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  c0 = v128.or(nibblesLo(m, v128.load(p, 72)), highPair(m30, h0, 0));
  c1 = v128.or(nibblesLo(m, v128.load(p, 88)), highPair(m30, h0, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 0 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 0 + 4), c1));
  i0 = i32x4.dot_i16x8_s(q, scA);
  c0 = v128.or(nibblesLo(m, v128.load(p, 104)), highPair(m30, h0, 2));
  c1 = v128.or(nibblesLo(m, v128.load(p, 120)), highPair(m30, h0, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 0 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 0 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
  c0 = v128.or(nibblesHi(m, v128.load(p, 72)), highPair(m30, h1, 0));
  c1 = v128.or(nibblesHi(m, v128.load(p, 88)), highPair(m30, h1, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 16 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 16 + 4), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  c0 = v128.or(nibblesHi(m, v128.load(p, 104)), highPair(m30, h1, 2));
  c1 = v128.or(nibblesHi(m, v128.load(p, 120)), highPair(m30, h1, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 16 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 16 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  a0 = finishQ6K(i0, scAB, s + 0, d + 0, dd, a0);
  // block 1: sub-blocks 2 (codes 0..15) and 3 (16..31)
  h0 = v128.load(p, 616), h1 = v128.load(p, 632);
  sc = v128.load64_zero(p + 16);
  scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
  scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  c0 = v128.or(nibblesLo(m, v128.load(p, 136)), highPair(m30, h0, 0));
  c1 = v128.or(nibblesLo(m, v128.load(p, 152)), highPair(m30, h0, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 32 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 32 + 4), c1));
  i0 = i32x4.dot_i16x8_s(q, scA);
  c0 = v128.or(nibblesLo(m, v128.load(p, 168)), highPair(m30, h0, 2));
  c1 = v128.or(nibblesLo(m, v128.load(p, 184)), highPair(m30, h0, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 32 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 32 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
  c0 = v128.or(nibblesHi(m, v128.load(p, 136)), highPair(m30, h1, 0));
  c1 = v128.or(nibblesHi(m, v128.load(p, 152)), highPair(m30, h1, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 48 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 48 + 4), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  c0 = v128.or(nibblesHi(m, v128.load(p, 168)), highPair(m30, h1, 2));
  c1 = v128.or(nibblesHi(m, v128.load(p, 184)), highPair(m30, h1, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 48 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 48 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  a0 = finishQ6K(i0, scAB, s + 8, d + 4, dd, a0);
  // block 2: sub-blocks 4 (codes 0..15) and 5 (16..31)
  h0 = v128.load(p, 648), h1 = v128.load(p, 664);
  sc = v128.load64_zero(p + 24);
  scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
  scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  c0 = v128.or(nibblesLo(m, v128.load(p, 200)), highPair(m30, h0, 0));
  c1 = v128.or(nibblesLo(m, v128.load(p, 216)), highPair(m30, h0, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 64 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 64 + 4), c1));
  i0 = i32x4.dot_i16x8_s(q, scA);
  c0 = v128.or(nibblesLo(m, v128.load(p, 232)), highPair(m30, h0, 2));
  c1 = v128.or(nibblesLo(m, v128.load(p, 248)), highPair(m30, h0, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 64 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 64 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
  c0 = v128.or(nibblesHi(m, v128.load(p, 200)), highPair(m30, h1, 0));
  c1 = v128.or(nibblesHi(m, v128.load(p, 216)), highPair(m30, h1, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 80 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 80 + 4), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  c0 = v128.or(nibblesHi(m, v128.load(p, 232)), highPair(m30, h1, 2));
  c1 = v128.or(nibblesHi(m, v128.load(p, 248)), highPair(m30, h1, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 80 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 80 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  a0 = finishQ6K(i0, scAB, s + 16, d + 8, dd, a0);
  // block 3: sub-blocks 6 (codes 0..15) and 7 (16..31)
  h0 = v128.load(p, 680), h1 = v128.load(p, 696);
  sc = v128.load64_zero(p + 32);
  scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
  scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  c0 = v128.or(nibblesLo(m, v128.load(p, 264)), highPair(m30, h0, 0));
  c1 = v128.or(nibblesLo(m, v128.load(p, 280)), highPair(m30, h0, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 96 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 96 + 4), c1));
  i0 = i32x4.dot_i16x8_s(q, scA);
  c0 = v128.or(nibblesLo(m, v128.load(p, 296)), highPair(m30, h0, 2));
  c1 = v128.or(nibblesLo(m, v128.load(p, 312)), highPair(m30, h0, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 96 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 96 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
  c0 = v128.or(nibblesHi(m, v128.load(p, 264)), highPair(m30, h1, 0));
  c1 = v128.or(nibblesHi(m, v128.load(p, 280)), highPair(m30, h1, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 112 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 112 + 4), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  c0 = v128.or(nibblesHi(m, v128.load(p, 296)), highPair(m30, h1, 2));
  c1 = v128.or(nibblesHi(m, v128.load(p, 312)), highPair(m30, h1, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 112 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 112 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  a0 = finishQ6K(i0, scAB, s + 24, d + 12, dd, a0);
  // block 4: sub-blocks 8 (codes 0..15) and 9 (16..31)
  h0 = v128.load(p, 712), h1 = v128.load(p, 728);
  sc = v128.load64_zero(p + 40);
  scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
  scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  c0 = v128.or(nibblesLo(m, v128.load(p, 328)), highPair(m30, h0, 0));
  c1 = v128.or(nibblesLo(m, v128.load(p, 344)), highPair(m30, h0, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 128 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 128 + 4), c1));
  i0 = i32x4.dot_i16x8_s(q, scA);
  c0 = v128.or(nibblesLo(m, v128.load(p, 360)), highPair(m30, h0, 2));
  c1 = v128.or(nibblesLo(m, v128.load(p, 376)), highPair(m30, h0, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 128 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 128 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
  c0 = v128.or(nibblesHi(m, v128.load(p, 328)), highPair(m30, h1, 0));
  c1 = v128.or(nibblesHi(m, v128.load(p, 344)), highPair(m30, h1, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 144 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 144 + 4), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  c0 = v128.or(nibblesHi(m, v128.load(p, 360)), highPair(m30, h1, 2));
  c1 = v128.or(nibblesHi(m, v128.load(p, 376)), highPair(m30, h1, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 144 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 144 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  a0 = finishQ6K(i0, scAB, s + 32, d + 16, dd, a0);
  // block 5: sub-blocks 10 (codes 0..15) and 11 (16..31)
  h0 = v128.load(p, 744), h1 = v128.load(p, 760);
  sc = v128.load64_zero(p + 48);
  scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
  scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  c0 = v128.or(nibblesLo(m, v128.load(p, 392)), highPair(m30, h0, 0));
  c1 = v128.or(nibblesLo(m, v128.load(p, 408)), highPair(m30, h0, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 160 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 160 + 4), c1));
  i0 = i32x4.dot_i16x8_s(q, scA);
  c0 = v128.or(nibblesLo(m, v128.load(p, 424)), highPair(m30, h0, 2));
  c1 = v128.or(nibblesLo(m, v128.load(p, 440)), highPair(m30, h0, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 160 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 160 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
  c0 = v128.or(nibblesHi(m, v128.load(p, 392)), highPair(m30, h1, 0));
  c1 = v128.or(nibblesHi(m, v128.load(p, 408)), highPair(m30, h1, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 176 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 176 + 4), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  c0 = v128.or(nibblesHi(m, v128.load(p, 424)), highPair(m30, h1, 2));
  c1 = v128.or(nibblesHi(m, v128.load(p, 440)), highPair(m30, h1, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 176 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 176 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  a0 = finishQ6K(i0, scAB, s + 40, d + 20, dd, a0);
  // block 6: sub-blocks 12 (codes 0..15) and 13 (16..31)
  h0 = v128.load(p, 776), h1 = v128.load(p, 792);
  sc = v128.load64_zero(p + 56);
  scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
  scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  c0 = v128.or(nibblesLo(m, v128.load(p, 456)), highPair(m30, h0, 0));
  c1 = v128.or(nibblesLo(m, v128.load(p, 472)), highPair(m30, h0, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 192 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 192 + 4), c1));
  i0 = i32x4.dot_i16x8_s(q, scA);
  c0 = v128.or(nibblesLo(m, v128.load(p, 488)), highPair(m30, h0, 2));
  c1 = v128.or(nibblesLo(m, v128.load(p, 504)), highPair(m30, h0, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 192 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 192 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
  c0 = v128.or(nibblesHi(m, v128.load(p, 456)), highPair(m30, h1, 0));
  c1 = v128.or(nibblesHi(m, v128.load(p, 472)), highPair(m30, h1, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 208 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 208 + 4), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  c0 = v128.or(nibblesHi(m, v128.load(p, 488)), highPair(m30, h1, 2));
  c1 = v128.or(nibblesHi(m, v128.load(p, 504)), highPair(m30, h1, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 208 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 208 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  a0 = finishQ6K(i0, scAB, s + 48, d + 24, dd, a0);
  // block 7: sub-blocks 14 (codes 0..15) and 15 (16..31)
  h0 = v128.load(p, 808), h1 = v128.load(p, 824);
  sc = v128.load64_zero(p + 64);
  scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
  scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  c0 = v128.or(nibblesLo(m, v128.load(p, 520)), highPair(m30, h0, 0));
  c1 = v128.or(nibblesLo(m, v128.load(p, 536)), highPair(m30, h0, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 224 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 224 + 4), c1));
  i0 = i32x4.dot_i16x8_s(q, scA);
  c0 = v128.or(nibblesLo(m, v128.load(p, 552)), highPair(m30, h0, 2));
  c1 = v128.or(nibblesLo(m, v128.load(p, 568)), highPair(m30, h0, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 224 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 224 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
  c0 = v128.or(nibblesHi(m, v128.load(p, 520)), highPair(m30, h1, 0));
  c1 = v128.or(nibblesHi(m, v128.load(p, 536)), highPair(m30, h1, 1));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 240 + 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 240 + 4), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  c0 = v128.or(nibblesHi(m, v128.load(p, 552)), highPair(m30, h1, 2));
  c1 = v128.or(nibblesHi(m, v128.load(p, 568)), highPair(m30, h1, 3));
  q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 240 + 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x + 240 + 12), c1));
  i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
  scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
  a0 = finishQ6K(i0, scAB, s + 56, d + 28, dd, a0);
  return a0;
}

/**
 * packedQ6_K's eight-token tiles with four-way dots (tokens t0 .. t0 + T8 - 1, a multiple of 8),
 * block of 32 by block (a loop: its pointers step, the inputs' offsets stay immediates): each
 * sub-block's code vectors decoded once for eight tokens, one chain of dot-adds per token, the
 * 32-bit sums times the rows' scales (i32x4.mul), the float sums in the thread's scratch. The
 * integers are those of the 16-bit tile's dot_i16x8_s (exact either way), so the same bits.
 */
// @ts-ignore: decorator
@inline function tilesQ6Kx8(p0: usize, nb: i32, xq: usize, xd: usize, xs: usize, t0: i32, T8: i32, out: usize, rows: i32, r: i32, m: v128, m30: v128): void {
  const cols = nb << 8;
  const xStride = <usize>cols, dStride = <usize>(cols >> 5) * 4, sStride = <usize>(cols >> 4) * 4;
  const sums = tileSums();
  const z = i32x4.splat(0);
  for (let t = t0; t < t0 + T8; t += 8) {
    clearSums8(sums);
    let p = p0;
    let x = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xs + <usize>t * sStride;
    for (let b = 0; b < nb; b++) {
      const dd = scales4(p);
      let pc = p, x0 = x, dc = d, sc = s;
      for (let c = 0; c < 8; c++) {
        const x1 = x0 + xStride, x2 = x0 + 2 * xStride, x3 = x0 + 3 * xStride;
        const x4 = x0 + 4 * xStride, x5 = x0 + 5 * xStride, x6 = x0 + 6 * xStride, x7 = x0 + 7 * xStride;
        // this block's scales: sub-block A's of rows 0..3 in bytes 0..3, B's in 4..7
        const sc8 = v128.load64_zero(p + 8 + (<usize>c << 3));
        const sc16 = i16x8.extend_low_i8x16_s(sc8);
        const scA = i32x4.extend_low_i16x8_s(sc16), scB = i32x4.extend_high_i16x8_s(sc16);
        let q: v128, h: v128, e0: v128, e1: v128, e2: v128, e3: v128, e4: v128, e5: v128, e6: v128, e7: v128;
        let i0: v128, i1: v128, i2: v128, i3: v128, i4: v128, i5: v128, i6: v128, i7: v128;
        // sub-block A: codes 0..15 (low nibbles)
        h = v128.load(p + (<usize>c << 5), 584);
        q = v128.or(nibblesLo(m, v128.load(pc, 72)), highPair(m30, h, 0));
        e0 = dotV(q, v128.load32_splat(x0, 0), z); e1 = dotV(q, v128.load32_splat(x1, 0), z); e2 = dotV(q, v128.load32_splat(x2, 0), z); e3 = dotV(q, v128.load32_splat(x3, 0), z);
        e4 = dotV(q, v128.load32_splat(x4, 0), z); e5 = dotV(q, v128.load32_splat(x5, 0), z); e6 = dotV(q, v128.load32_splat(x6, 0), z); e7 = dotV(q, v128.load32_splat(x7, 0), z);
        keepOrder();
        q = v128.or(nibblesLo(m, v128.load(pc, 88)), highPair(m30, h, 1));
        e0 = dotV(q, v128.load32_splat(x0, 4), e0); e1 = dotV(q, v128.load32_splat(x1, 4), e1); e2 = dotV(q, v128.load32_splat(x2, 4), e2); e3 = dotV(q, v128.load32_splat(x3, 4), e3);
        e4 = dotV(q, v128.load32_splat(x4, 4), e4); e5 = dotV(q, v128.load32_splat(x5, 4), e5); e6 = dotV(q, v128.load32_splat(x6, 4), e6); e7 = dotV(q, v128.load32_splat(x7, 4), e7);
        keepOrder();
        q = v128.or(nibblesLo(m, v128.load(pc, 104)), highPair(m30, h, 2));
        e0 = dotV(q, v128.load32_splat(x0, 8), e0); e1 = dotV(q, v128.load32_splat(x1, 8), e1); e2 = dotV(q, v128.load32_splat(x2, 8), e2); e3 = dotV(q, v128.load32_splat(x3, 8), e3);
        e4 = dotV(q, v128.load32_splat(x4, 8), e4); e5 = dotV(q, v128.load32_splat(x5, 8), e5); e6 = dotV(q, v128.load32_splat(x6, 8), e6); e7 = dotV(q, v128.load32_splat(x7, 8), e7);
        keepOrder();
        q = v128.or(nibblesLo(m, v128.load(pc, 120)), highPair(m30, h, 3));
        e0 = dotV(q, v128.load32_splat(x0, 12), e0); e1 = dotV(q, v128.load32_splat(x1, 12), e1); e2 = dotV(q, v128.load32_splat(x2, 12), e2); e3 = dotV(q, v128.load32_splat(x3, 12), e3);
        e4 = dotV(q, v128.load32_splat(x4, 12), e4); e5 = dotV(q, v128.load32_splat(x5, 12), e5); e6 = dotV(q, v128.load32_splat(x6, 12), e6); e7 = dotV(q, v128.load32_splat(x7, 12), e7);
        keepOrder();
        i0 = i32x4.mul(e0, scA); i1 = i32x4.mul(e1, scA); i2 = i32x4.mul(e2, scA); i3 = i32x4.mul(e3, scA); i4 = i32x4.mul(e4, scA); i5 = i32x4.mul(e5, scA); i6 = i32x4.mul(e6, scA); i7 = i32x4.mul(e7, scA);
        // sub-block B: codes 16..31 (high nibbles)
        h = v128.load(p + (<usize>c << 5), 600);
        q = v128.or(nibblesHi(m, v128.load(pc, 72)), highPair(m30, h, 0));
        e0 = dotV(q, v128.load32_splat(x0, 16), z); e1 = dotV(q, v128.load32_splat(x1, 16), z); e2 = dotV(q, v128.load32_splat(x2, 16), z); e3 = dotV(q, v128.load32_splat(x3, 16), z);
        e4 = dotV(q, v128.load32_splat(x4, 16), z); e5 = dotV(q, v128.load32_splat(x5, 16), z); e6 = dotV(q, v128.load32_splat(x6, 16), z); e7 = dotV(q, v128.load32_splat(x7, 16), z);
        keepOrder();
        q = v128.or(nibblesHi(m, v128.load(pc, 88)), highPair(m30, h, 1));
        e0 = dotV(q, v128.load32_splat(x0, 20), e0); e1 = dotV(q, v128.load32_splat(x1, 20), e1); e2 = dotV(q, v128.load32_splat(x2, 20), e2); e3 = dotV(q, v128.load32_splat(x3, 20), e3);
        e4 = dotV(q, v128.load32_splat(x4, 20), e4); e5 = dotV(q, v128.load32_splat(x5, 20), e5); e6 = dotV(q, v128.load32_splat(x6, 20), e6); e7 = dotV(q, v128.load32_splat(x7, 20), e7);
        keepOrder();
        q = v128.or(nibblesHi(m, v128.load(pc, 104)), highPair(m30, h, 2));
        e0 = dotV(q, v128.load32_splat(x0, 24), e0); e1 = dotV(q, v128.load32_splat(x1, 24), e1); e2 = dotV(q, v128.load32_splat(x2, 24), e2); e3 = dotV(q, v128.load32_splat(x3, 24), e3);
        e4 = dotV(q, v128.load32_splat(x4, 24), e4); e5 = dotV(q, v128.load32_splat(x5, 24), e5); e6 = dotV(q, v128.load32_splat(x6, 24), e6); e7 = dotV(q, v128.load32_splat(x7, 24), e7);
        keepOrder();
        q = v128.or(nibblesHi(m, v128.load(pc, 120)), highPair(m30, h, 3));
        e0 = dotV(q, v128.load32_splat(x0, 28), e0); e1 = dotV(q, v128.load32_splat(x1, 28), e1); e2 = dotV(q, v128.load32_splat(x2, 28), e2); e3 = dotV(q, v128.load32_splat(x3, 28), e3);
        e4 = dotV(q, v128.load32_splat(x4, 28), e4); e5 = dotV(q, v128.load32_splat(x5, 28), e5); e6 = dotV(q, v128.load32_splat(x6, 28), e6); e7 = dotV(q, v128.load32_splat(x7, 28), e7);
        keepOrder();
        i0 = i32x4.add(i0, i32x4.mul(e0, scB)); i1 = i32x4.add(i1, i32x4.mul(e1, scB)); i2 = i32x4.add(i2, i32x4.mul(e2, scB)); i3 = i32x4.add(i3, i32x4.mul(e3, scB)); i4 = i32x4.add(i4, i32x4.mul(e4, scB)); i5 = i32x4.add(i5, i32x4.mul(e5, scB)); i6 = i32x4.add(i6, i32x4.mul(e6, scB)); i7 = i32x4.add(i7, i32x4.mul(e7, scB));
        const scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc8, sc8, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        v128.store(sums, finishQ6K(i0, scAB, sc + 0 * sStride, dc + 0 * dStride, dd, v128.load(sums, 0)), 0);
        v128.store(sums, finishQ6K(i1, scAB, sc + 1 * sStride, dc + 1 * dStride, dd, v128.load(sums, 16)), 16);
        v128.store(sums, finishQ6K(i2, scAB, sc + 2 * sStride, dc + 2 * dStride, dd, v128.load(sums, 32)), 32);
        v128.store(sums, finishQ6K(i3, scAB, sc + 3 * sStride, dc + 3 * dStride, dd, v128.load(sums, 48)), 48);
        v128.store(sums, finishQ6K(i4, scAB, sc + 4 * sStride, dc + 4 * dStride, dd, v128.load(sums, 64)), 64);
        v128.store(sums, finishQ6K(i5, scAB, sc + 5 * sStride, dc + 5 * dStride, dd, v128.load(sums, 80)), 80);
        v128.store(sums, finishQ6K(i6, scAB, sc + 6 * sStride, dc + 6 * dStride, dd, v128.load(sums, 96)), 96);
        v128.store(sums, finishQ6K(i7, scAB, sc + 7 * sStride, dc + 7 * dStride, dd, v128.load(sums, 112)), 112);
        pc += 64;
        x0 += 32;
        dc += 4;
        sc += 8;
      }
      p += 840;
      x += 256;
      d += 32;
      s += 64;
    }
    storeSums8(sums, out, rows, t, r);
  }
}

// @ts-ignore: decorator
@inline function packedQ6_K(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32, fourWay: bool): void {
  const m = splatAtRunTime(0x0f, cols), m30 = splatAtRunTime(0x30, cols);
  const nb = cols >> 8;
  const groupBytes = <usize>nb * 840;
  const xStride = <usize>cols, dStride = <usize>(cols >> 5) * 4, sStride = <usize>(cols >> 4) * 4;
  const T4 = T & ~3;
  if (T == 1) {
    // a decode step: two groups at a time, half the chunk apart (two streams: packedQ4_0)
    const groups = (r1 - r0) >> 2, half = groups >> 1;
    for (let g = 0; g < half; g++) {
      const ra = r0 + (g << 2), rb = ra + (half << 2);
      let pa = w + <usize>(ra >> 2) * groupBytes, pb = w + <usize>(rb >> 2) * groupBytes;
      let a = f32x4.splat(0), c = f32x4.splat(0);
      let x = xq, d = xd, s = xs;
      for (let b = 0; b < nb; b++) {
        a = tokenSuperQ6(pa, x, d, s, a, m, m30);
        c = tokenSuperQ6(pb, x, d, s, c, m, m30);
        pa += 840;
        pb += 840;
        x += 256;
        d += 32;
        s += 64;
      }
      v128.store(at(out, rows, 0, ra), a);
      v128.store(at(out, rows, 0, rb), c);
    }
    r0 += half << 3;
  }
  for (let r = r0; r < r1; r += 4) {
    const p0 = w + <usize>(r >> 2) * groupBytes;
    // eight tokens at a time with four-way dots, then four: each block's codes decoded once for them
    const T8 = fourWay ? T & ~7 : 0;
    if (T8 > 0) tilesQ6Kx8(p0, nb, xq, xd, xs, 0, T8, out, rows, r, m, m30);
    for (let t = T8; t < T4; t += 4) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let p = p0;
      let x = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xs + <usize>t * sStride;
      for (let b = 0; b < nb; b++) {
        const dd = scales4(p);
        const x0 = x, x1 = x + xStride, x2 = x + 2 * xStride, x3 = x + 3 * xStride;
        let h0: v128, h1: v128, sc: v128, scA: v128, scB: v128, scAB: v128, c0: v128, c1: v128, q: v128, i0: v128, i1: v128, i2: v128, i3: v128;
        // block 0: sub-blocks 0 (codes 0..15) and 1 (16..31)
        h0 = v128.load(p, 584), h1 = v128.load(p, 600);
        sc = v128.load64_zero(p + 8);
        scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
        scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        c0 = v128.or(nibblesLo(m, v128.load(p, 72)), highPair(m30, h0, 0));
        c1 = v128.or(nibblesLo(m, v128.load(p, 88)), highPair(m30, h0, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 4), c1));
        i0 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 4), c1));
        i1 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 4), c1));
        i2 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 0), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 4), c1));
        i3 = i32x4.dot_i16x8_s(q, scA);
        keepOrder();
        c0 = v128.or(nibblesLo(m, v128.load(p, 104)), highPair(m30, h0, 2));
        c1 = v128.or(nibblesLo(m, v128.load(p, 120)), highPair(m30, h0, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 12), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 12), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 12), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 8), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 12), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scA));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 72)), highPair(m30, h1, 0));
        c1 = v128.or(nibblesHi(m, v128.load(p, 88)), highPair(m30, h1, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 16), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 20), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 16), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 20), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 16), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 20), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 16), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 20), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 104)), highPair(m30, h1, 2));
        c1 = v128.or(nibblesHi(m, v128.load(p, 120)), highPair(m30, h1, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 24), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 28), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 24), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 28), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 24), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 28), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 24), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 28), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        a0 = finishQ6K(i0, scAB, s + 0, d + 0, dd, a0);
        a1 = finishQ6K(i1, scAB, s + sStride + 0, d + dStride + 0, dd, a1);
        a2 = finishQ6K(i2, scAB, s + 2 * sStride + 0, d + 2 * dStride + 0, dd, a2);
        a3 = finishQ6K(i3, scAB, s + 3 * sStride + 0, d + 3 * dStride + 0, dd, a3);
        // block 1: sub-blocks 2 (codes 0..15) and 3 (16..31)
        h0 = v128.load(p, 616), h1 = v128.load(p, 632);
        sc = v128.load64_zero(p + 16);
        scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
        scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        c0 = v128.or(nibblesLo(m, v128.load(p, 136)), highPair(m30, h0, 0));
        c1 = v128.or(nibblesLo(m, v128.load(p, 152)), highPair(m30, h0, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 32), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 36), c1));
        i0 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 32), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 36), c1));
        i1 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 32), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 36), c1));
        i2 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 32), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 36), c1));
        i3 = i32x4.dot_i16x8_s(q, scA);
        keepOrder();
        c0 = v128.or(nibblesLo(m, v128.load(p, 168)), highPair(m30, h0, 2));
        c1 = v128.or(nibblesLo(m, v128.load(p, 184)), highPair(m30, h0, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 40), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 44), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 40), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 44), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 40), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 44), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 40), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 44), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scA));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 136)), highPair(m30, h1, 0));
        c1 = v128.or(nibblesHi(m, v128.load(p, 152)), highPair(m30, h1, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 48), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 52), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 48), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 52), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 48), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 52), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 48), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 52), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 168)), highPair(m30, h1, 2));
        c1 = v128.or(nibblesHi(m, v128.load(p, 184)), highPair(m30, h1, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 56), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 60), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 56), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 60), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 56), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 60), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 56), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 60), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        a0 = finishQ6K(i0, scAB, s + 8, d + 4, dd, a0);
        a1 = finishQ6K(i1, scAB, s + sStride + 8, d + dStride + 4, dd, a1);
        a2 = finishQ6K(i2, scAB, s + 2 * sStride + 8, d + 2 * dStride + 4, dd, a2);
        a3 = finishQ6K(i3, scAB, s + 3 * sStride + 8, d + 3 * dStride + 4, dd, a3);
        // block 2: sub-blocks 4 (codes 0..15) and 5 (16..31)
        h0 = v128.load(p, 648), h1 = v128.load(p, 664);
        sc = v128.load64_zero(p + 24);
        scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
        scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        c0 = v128.or(nibblesLo(m, v128.load(p, 200)), highPair(m30, h0, 0));
        c1 = v128.or(nibblesLo(m, v128.load(p, 216)), highPair(m30, h0, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 64), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 68), c1));
        i0 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 64), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 68), c1));
        i1 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 64), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 68), c1));
        i2 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 64), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 68), c1));
        i3 = i32x4.dot_i16x8_s(q, scA);
        keepOrder();
        c0 = v128.or(nibblesLo(m, v128.load(p, 232)), highPair(m30, h0, 2));
        c1 = v128.or(nibblesLo(m, v128.load(p, 248)), highPair(m30, h0, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 72), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 76), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 72), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 76), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 72), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 76), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 72), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 76), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scA));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 200)), highPair(m30, h1, 0));
        c1 = v128.or(nibblesHi(m, v128.load(p, 216)), highPair(m30, h1, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 80), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 84), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 80), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 84), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 80), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 84), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 80), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 84), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 232)), highPair(m30, h1, 2));
        c1 = v128.or(nibblesHi(m, v128.load(p, 248)), highPair(m30, h1, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 88), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 92), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 88), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 92), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 88), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 92), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 88), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 92), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        a0 = finishQ6K(i0, scAB, s + 16, d + 8, dd, a0);
        a1 = finishQ6K(i1, scAB, s + sStride + 16, d + dStride + 8, dd, a1);
        a2 = finishQ6K(i2, scAB, s + 2 * sStride + 16, d + 2 * dStride + 8, dd, a2);
        a3 = finishQ6K(i3, scAB, s + 3 * sStride + 16, d + 3 * dStride + 8, dd, a3);
        // block 3: sub-blocks 6 (codes 0..15) and 7 (16..31)
        h0 = v128.load(p, 680), h1 = v128.load(p, 696);
        sc = v128.load64_zero(p + 32);
        scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
        scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        c0 = v128.or(nibblesLo(m, v128.load(p, 264)), highPair(m30, h0, 0));
        c1 = v128.or(nibblesLo(m, v128.load(p, 280)), highPair(m30, h0, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 96), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 100), c1));
        i0 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 96), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 100), c1));
        i1 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 96), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 100), c1));
        i2 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 96), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 100), c1));
        i3 = i32x4.dot_i16x8_s(q, scA);
        keepOrder();
        c0 = v128.or(nibblesLo(m, v128.load(p, 296)), highPair(m30, h0, 2));
        c1 = v128.or(nibblesLo(m, v128.load(p, 312)), highPair(m30, h0, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 104), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 108), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 104), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 108), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 104), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 108), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 104), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 108), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scA));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 264)), highPair(m30, h1, 0));
        c1 = v128.or(nibblesHi(m, v128.load(p, 280)), highPair(m30, h1, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 112), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 116), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 112), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 116), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 112), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 116), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 112), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 116), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 296)), highPair(m30, h1, 2));
        c1 = v128.or(nibblesHi(m, v128.load(p, 312)), highPair(m30, h1, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 120), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 124), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 120), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 124), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 120), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 124), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 120), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 124), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        a0 = finishQ6K(i0, scAB, s + 24, d + 12, dd, a0);
        a1 = finishQ6K(i1, scAB, s + sStride + 24, d + dStride + 12, dd, a1);
        a2 = finishQ6K(i2, scAB, s + 2 * sStride + 24, d + 2 * dStride + 12, dd, a2);
        a3 = finishQ6K(i3, scAB, s + 3 * sStride + 24, d + 3 * dStride + 12, dd, a3);
        // block 4: sub-blocks 8 (codes 0..15) and 9 (16..31)
        h0 = v128.load(p, 712), h1 = v128.load(p, 728);
        sc = v128.load64_zero(p + 40);
        scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
        scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        c0 = v128.or(nibblesLo(m, v128.load(p, 328)), highPair(m30, h0, 0));
        c1 = v128.or(nibblesLo(m, v128.load(p, 344)), highPair(m30, h0, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 128), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 132), c1));
        i0 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 128), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 132), c1));
        i1 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 128), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 132), c1));
        i2 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 128), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 132), c1));
        i3 = i32x4.dot_i16x8_s(q, scA);
        keepOrder();
        c0 = v128.or(nibblesLo(m, v128.load(p, 360)), highPair(m30, h0, 2));
        c1 = v128.or(nibblesLo(m, v128.load(p, 376)), highPair(m30, h0, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 136), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 140), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 136), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 140), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 136), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 140), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 136), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 140), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scA));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 328)), highPair(m30, h1, 0));
        c1 = v128.or(nibblesHi(m, v128.load(p, 344)), highPair(m30, h1, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 144), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 148), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 144), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 148), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 144), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 148), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 144), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 148), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 360)), highPair(m30, h1, 2));
        c1 = v128.or(nibblesHi(m, v128.load(p, 376)), highPair(m30, h1, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 152), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 156), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 152), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 156), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 152), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 156), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 152), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 156), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        a0 = finishQ6K(i0, scAB, s + 32, d + 16, dd, a0);
        a1 = finishQ6K(i1, scAB, s + sStride + 32, d + dStride + 16, dd, a1);
        a2 = finishQ6K(i2, scAB, s + 2 * sStride + 32, d + 2 * dStride + 16, dd, a2);
        a3 = finishQ6K(i3, scAB, s + 3 * sStride + 32, d + 3 * dStride + 16, dd, a3);
        // block 5: sub-blocks 10 (codes 0..15) and 11 (16..31)
        h0 = v128.load(p, 744), h1 = v128.load(p, 760);
        sc = v128.load64_zero(p + 48);
        scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
        scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        c0 = v128.or(nibblesLo(m, v128.load(p, 392)), highPair(m30, h0, 0));
        c1 = v128.or(nibblesLo(m, v128.load(p, 408)), highPair(m30, h0, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 160), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 164), c1));
        i0 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 160), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 164), c1));
        i1 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 160), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 164), c1));
        i2 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 160), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 164), c1));
        i3 = i32x4.dot_i16x8_s(q, scA);
        keepOrder();
        c0 = v128.or(nibblesLo(m, v128.load(p, 424)), highPair(m30, h0, 2));
        c1 = v128.or(nibblesLo(m, v128.load(p, 440)), highPair(m30, h0, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 168), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 172), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 168), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 172), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 168), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 172), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 168), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 172), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scA));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 392)), highPair(m30, h1, 0));
        c1 = v128.or(nibblesHi(m, v128.load(p, 408)), highPair(m30, h1, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 176), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 180), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 176), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 180), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 176), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 180), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 176), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 180), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 424)), highPair(m30, h1, 2));
        c1 = v128.or(nibblesHi(m, v128.load(p, 440)), highPair(m30, h1, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 184), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 188), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 184), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 188), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 184), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 188), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 184), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 188), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        a0 = finishQ6K(i0, scAB, s + 40, d + 20, dd, a0);
        a1 = finishQ6K(i1, scAB, s + sStride + 40, d + dStride + 20, dd, a1);
        a2 = finishQ6K(i2, scAB, s + 2 * sStride + 40, d + 2 * dStride + 20, dd, a2);
        a3 = finishQ6K(i3, scAB, s + 3 * sStride + 40, d + 3 * dStride + 20, dd, a3);
        // block 6: sub-blocks 12 (codes 0..15) and 13 (16..31)
        h0 = v128.load(p, 776), h1 = v128.load(p, 792);
        sc = v128.load64_zero(p + 56);
        scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
        scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        c0 = v128.or(nibblesLo(m, v128.load(p, 456)), highPair(m30, h0, 0));
        c1 = v128.or(nibblesLo(m, v128.load(p, 472)), highPair(m30, h0, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 192), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 196), c1));
        i0 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 192), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 196), c1));
        i1 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 192), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 196), c1));
        i2 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 192), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 196), c1));
        i3 = i32x4.dot_i16x8_s(q, scA);
        keepOrder();
        c0 = v128.or(nibblesLo(m, v128.load(p, 488)), highPair(m30, h0, 2));
        c1 = v128.or(nibblesLo(m, v128.load(p, 504)), highPair(m30, h0, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 200), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 204), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 200), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 204), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 200), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 204), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 200), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 204), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scA));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 456)), highPair(m30, h1, 0));
        c1 = v128.or(nibblesHi(m, v128.load(p, 472)), highPair(m30, h1, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 208), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 212), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 208), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 212), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 208), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 212), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 208), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 212), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 488)), highPair(m30, h1, 2));
        c1 = v128.or(nibblesHi(m, v128.load(p, 504)), highPair(m30, h1, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 216), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 220), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 216), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 220), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 216), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 220), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 216), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 220), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        a0 = finishQ6K(i0, scAB, s + 48, d + 24, dd, a0);
        a1 = finishQ6K(i1, scAB, s + sStride + 48, d + dStride + 24, dd, a1);
        a2 = finishQ6K(i2, scAB, s + 2 * sStride + 48, d + 2 * dStride + 24, dd, a2);
        a3 = finishQ6K(i3, scAB, s + 3 * sStride + 48, d + 3 * dStride + 24, dd, a3);
        // block 7: sub-blocks 14 (codes 0..15) and 15 (16..31)
        h0 = v128.load(p, 808), h1 = v128.load(p, 824);
        sc = v128.load64_zero(p + 64);
        scA = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0));
        scB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 4, 4, 5, 5, 6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        c0 = v128.or(nibblesLo(m, v128.load(p, 520)), highPair(m30, h0, 0));
        c1 = v128.or(nibblesLo(m, v128.load(p, 536)), highPair(m30, h0, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 224), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 228), c1));
        i0 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 224), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 228), c1));
        i1 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 224), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 228), c1));
        i2 = i32x4.dot_i16x8_s(q, scA);
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 224), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 228), c1));
        i3 = i32x4.dot_i16x8_s(q, scA);
        keepOrder();
        c0 = v128.or(nibblesLo(m, v128.load(p, 552)), highPair(m30, h0, 2));
        c1 = v128.or(nibblesLo(m, v128.load(p, 568)), highPair(m30, h0, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 232), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 236), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 232), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 236), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 232), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 236), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scA));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 232), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 236), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scA));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 520)), highPair(m30, h1, 0));
        c1 = v128.or(nibblesHi(m, v128.load(p, 536)), highPair(m30, h1, 1));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 240), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 244), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 240), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 244), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 240), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 244), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 240), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 244), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        c0 = v128.or(nibblesHi(m, v128.load(p, 552)), highPair(m30, h1, 2));
        c1 = v128.or(nibblesHi(m, v128.load(p, 568)), highPair(m30, h1, 3));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 248), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x0, 252), c1));
        i0 = i32x4.add(i0, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 248), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x1, 252), c1));
        i1 = i32x4.add(i1, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 248), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x2, 252), c1));
        i2 = i32x4.add(i2, i32x4.dot_i16x8_s(q, scB));
        q = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 248), c0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x3, 252), c1));
        i3 = i32x4.add(i3, i32x4.dot_i16x8_s(q, scB));
        keepOrder();
        scAB = i16x8.extend_low_i8x16_s(i8x16.shuffle(sc, sc, 0, 4, 1, 5, 2, 6, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0));
        a0 = finishQ6K(i0, scAB, s + 56, d + 28, dd, a0);
        a1 = finishQ6K(i1, scAB, s + sStride + 56, d + dStride + 28, dd, a1);
        a2 = finishQ6K(i2, scAB, s + 2 * sStride + 56, d + 2 * dStride + 28, dd, a2);
        a3 = finishQ6K(i3, scAB, s + 3 * sStride + 56, d + 3 * dStride + 28, dd, a3);
        p += 840;
        x += 256;
        d += 32;
        s += 64;
      }
      v128.store(at(out, rows, t + 0, r), a0);
      v128.store(at(out, rows, t + 1, r), a1);
      v128.store(at(out, rows, t + 2, r), a2);
      v128.store(at(out, rows, t + 3, r), a3);
    }
    // the rest (every decode step): one token at a time, the same operations
    for (let t = T4; t < T; t++) {
      let a0 = f32x4.splat(0);
      let p = p0;
      let x = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xs + <usize>t * sStride;
      for (let b = 0; b < nb; b++) {
        a0 = tokenSuperQ6(p, x, d, s, a0, m, m30);
        p += 840;
        x += 256;
        d += 32;
        s += 64;
      }
      v128.store(at(out, rows, t + 0, r), a0);
    }
  }
}

// ---- Q4_K with its rows in fours (relaxed SIMD) ---------------------------------------------------
// The same idea for Q4_K (Kernels.store): each super-block of four rows is 576 bytes, the rows'
// four d (float16), four dmin, their 12 bytes of 6-bit scales and mins one row after another, then
// per pair of sub-blocks j (2j, 2j+1) 128 bytes in which bytes 16k + 4r .. 16k + 4r + 3 are row
// r's nibble bytes 32j + 4k .. 32j + 4k + 3: low nibbles codes 4k .. 4k+3 of sub-block 2j, high
// nibbles those of sub-block 2j+1. A sub-block's integer sum (16 products per 16-bit lane:
// |15 · 127 · 16| < 2^15) leaves as four rows, times the rows' d · scale and the token's scale;
// the mins are taken off once per super-block, each sub-block's min times dmin against the
// token's scale times sum of those 32 inputs.

/** The scales of four rows' scalesMinsK4, sub-block-major: byte 4s + r, sub-blocks 0..3 (part 0) or 4..7 (part 1). */
// @ts-ignore: decorator
@inline function rowsOfK4(m0: v128, m1: v128, m2: v128, m3: v128, part: i32): v128 {
  // rows 0, 1 and rows 2, 3 interleaved byte by byte, then the pairs interleaved by two bytes
  const a = i8x16.shuffle(m0, m1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const b = i8x16.shuffle(m2, m3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  return part == 0 ? i8x16.shuffle(a, b, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23) : i8x16.shuffle(a, b, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
}

/** Sub-block q (0..3, a constant) of rowsOfK4's vector v: the four rows' values as floats, times f (four rows). */
// @ts-ignore: decorator
@inline function laneK4(v: v128, q: i32, f: v128): v128 {
  const z = i32x4.splat(0);
  const ints = q == 0 ? i8x16.shuffle(v, z, 0, 16, 16, 16, 1, 16, 16, 16, 2, 16, 16, 16, 3, 16, 16, 16)
    : q == 1 ? i8x16.shuffle(v, z, 4, 16, 16, 16, 5, 16, 16, 16, 6, 16, 16, 16, 7, 16, 16, 16)
    : q == 2 ? i8x16.shuffle(v, z, 8, 16, 16, 16, 9, 16, 16, 16, 10, 16, 16, 16, 11, 16, 16, 16)
    : i8x16.shuffle(v, z, 12, 16, 16, 16, 13, 16, 16, 16, 14, 16, 16, 16, 15, 16, 16, 16);
  return f32x4.mul(f32x4.convert_i32x4_s(ints), f);
}

/** laneK4 for a q known only at run time (a loop's): bytes 4q .. 4q+3 picked by a swizzle (index lanes of 0x80 and up give 0). */
// @ts-ignore: decorator
@inline function laneVarK4(v: v128, q: i32, f: v128): v128 {
  const index = i8x16.add(i8x16(0, -128, -128, -128, 1, -128, -128, -128, 2, -128, -128, -128, 3, -128, -128, -128), i8x16.splat(<i8>(q << 2)));
  return f32x4.mul(f32x4.convert_i32x4_s(i8x16.swizzle(v, index)), f);
}

/** One row's mins (bytes 8..15 of its scalesMinsK4) of sub-blocks 0..3 (part 0) or 4..7 (part 1), as floats. */
// @ts-ignore: decorator
@inline function rowMinsK4(sm: v128, part: i32): v128 {
  const z = i32x4.splat(0);
  return f32x4.convert_i32x4_s(part == 0
    ? i8x16.shuffle(sm, z, 8, 16, 16, 16, 9, 16, 16, 16, 10, 16, 16, 16, 11, 16, 16, 16)
    : i8x16.shuffle(sm, z, 12, 16, 16, 16, 13, 16, 16, 16, 14, 16, 16, 16, 15, 16, 16, 16));
}

/** The four lanes' sums of a, b, c and e, as [Σa, Σb, Σc, Σe]. */
// @ts-ignore: decorator
@inline function sums4(a: v128, b: v128, c: v128, e: v128): v128 {
  const ab = f32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const ce = f32x4.add(i32x4.shuffle(c, e, 0, 4, 1, 5), i32x4.shuffle(c, e, 2, 6, 3, 7));
  return f32x4.add(i32x4.shuffle(ab, ce, 0, 1, 4, 5), i32x4.shuffle(ab, ce, 2, 3, 6, 7));
}

/**
 * acc less one token's mins of a packed Q4_K super-block: per row, its mins (rowMinsK4: ra
 * sub-blocks 0..3, rb 4..7) against the inputs' scale times their sum per sub-block (at xb: sums32), the four
 * rows' sums then times their dmin.
 */
// @ts-ignore: decorator
@inline function minsPackedK4(r0a: v128, r0b: v128, r1a: v128, r1b: v128, r2a: v128, r2b: v128, r3a: v128, r3b: v128, dmin: v128, xd: usize, xb: usize, acc: v128): v128 {
  const x03 = f32x4.mul(v128.load(xd), f32x4.convert_i32x4_s(v128.load(xb)));
  const x47 = f32x4.mul(v128.load(xd + 16), f32x4.convert_i32x4_s(v128.load(xb + 16)));
  const m = sums4(
    f32x4.relaxed_madd(r0b, x47, f32x4.mul(r0a, x03)),
    f32x4.relaxed_madd(r1b, x47, f32x4.mul(r1a, x03)),
    f32x4.relaxed_madd(r2b, x47, f32x4.mul(r2a, x03)),
    f32x4.relaxed_madd(r3b, x47, f32x4.mul(r3a, x03)),
  );
  return f32x4.sub(acc, f32x4.mul(m, dmin));
}

/** s + codes c (4k .. 4k+3 of a sub-block, four rows) times the token's inputs at x. */
// @ts-ignore: decorator
@inline function dot16(c: v128, x: usize, s: v128): v128 {
  return i16x8.add(s, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x), c));
}

/** acc + a sub-block's 16-bit partial sums s of four rows, times their d · scale (dsc) and the token's scale at xd. */
// @ts-ignore: decorator
@inline function subPackedK4(s: v128, dsc: v128, xd: usize, acc: v128): v128 {
  return fmaV(acc, i32x4.dot_i16x8_s(s, i16x8.splat(1)), f32x4.mul(dsc, v128.load32_splat(xd)));
}

/** acc + one token's products with the packed Q4_K super-block of four rows at p (the one-token loop's body). */
// @ts-ignore: decorator
@inline function tokenSuperK4(p: usize, x: usize, d: usize, s: usize, acc: v128): v128 {
  let a0 = acc;
  const sm0 = scalesMinsK4(p + 16), sm1 = scalesMinsK4(p + 28), sm2 = scalesMinsK4(p + 40), sm3 = scalesMinsK4(p + 52);
  {
    const dmin = scales4(p + 8);
    const r0a = rowMinsK4(sm0, 0), r0b = rowMinsK4(sm0, 1), r1a = rowMinsK4(sm1, 0), r1b = rowMinsK4(sm1, 1);
    const r2a = rowMinsK4(sm2, 0), r2b = rowMinsK4(sm2, 1), r3a = rowMinsK4(sm3, 0), r3b = rowMinsK4(sm3, 1);
    a0 = minsPackedK4(r0a, r0b, r1a, r1b, r2a, r2b, r3a, r3b, dmin, d, s, a0);
  }
  const dd = scales4(p);
  const sc03 = rowsOfK4(sm0, sm1, sm2, sm3, 0), sc47 = rowsOfK4(sm0, sm1, sm2, sm3, 1);
  let q: v128, se: v128, so: v128;
  q = v128.load(p, 64);
  se = dot16(lowNibbles(q), x + 0, i16x8.splat(0));
  so = dot16(highNibblesBeside(q), x + 32, i16x8.splat(0));
  q = v128.load(p, 80);
  se = dot16(lowNibbles(q), x + 4, se);
  so = dot16(highNibblesBeside(q), x + 36, so);
  q = v128.load(p, 96);
  se = dot16(lowNibbles(q), x + 8, se);
  so = dot16(highNibblesBeside(q), x + 40, so);
  q = v128.load(p, 112);
  se = dot16(lowNibbles(q), x + 12, se);
  so = dot16(highNibblesBeside(q), x + 44, so);
  q = v128.load(p, 128);
  se = dot16(lowNibbles(q), x + 16, se);
  so = dot16(highNibblesBeside(q), x + 48, so);
  q = v128.load(p, 144);
  se = dot16(lowNibbles(q), x + 20, se);
  so = dot16(highNibblesBeside(q), x + 52, so);
  q = v128.load(p, 160);
  se = dot16(lowNibbles(q), x + 24, se);
  so = dot16(highNibblesBeside(q), x + 56, so);
  q = v128.load(p, 176);
  se = dot16(lowNibbles(q), x + 28, se);
  so = dot16(highNibblesBeside(q), x + 60, so);
  a0 = subPackedK4(se, laneK4(sc03, 0, dd), d + 0, a0);
  a0 = subPackedK4(so, laneK4(sc03, 1, dd), d + 4, a0);
  q = v128.load(p, 192);
  se = dot16(lowNibbles(q), x + 64, i16x8.splat(0));
  so = dot16(highNibblesBeside(q), x + 96, i16x8.splat(0));
  q = v128.load(p, 208);
  se = dot16(lowNibbles(q), x + 68, se);
  so = dot16(highNibblesBeside(q), x + 100, so);
  q = v128.load(p, 224);
  se = dot16(lowNibbles(q), x + 72, se);
  so = dot16(highNibblesBeside(q), x + 104, so);
  q = v128.load(p, 240);
  se = dot16(lowNibbles(q), x + 76, se);
  so = dot16(highNibblesBeside(q), x + 108, so);
  q = v128.load(p, 256);
  se = dot16(lowNibbles(q), x + 80, se);
  so = dot16(highNibblesBeside(q), x + 112, so);
  q = v128.load(p, 272);
  se = dot16(lowNibbles(q), x + 84, se);
  so = dot16(highNibblesBeside(q), x + 116, so);
  q = v128.load(p, 288);
  se = dot16(lowNibbles(q), x + 88, se);
  so = dot16(highNibblesBeside(q), x + 120, so);
  q = v128.load(p, 304);
  se = dot16(lowNibbles(q), x + 92, se);
  so = dot16(highNibblesBeside(q), x + 124, so);
  a0 = subPackedK4(se, laneK4(sc03, 2, dd), d + 8, a0);
  a0 = subPackedK4(so, laneK4(sc03, 3, dd), d + 12, a0);
  q = v128.load(p, 320);
  se = dot16(lowNibbles(q), x + 128, i16x8.splat(0));
  so = dot16(highNibblesBeside(q), x + 160, i16x8.splat(0));
  q = v128.load(p, 336);
  se = dot16(lowNibbles(q), x + 132, se);
  so = dot16(highNibblesBeside(q), x + 164, so);
  q = v128.load(p, 352);
  se = dot16(lowNibbles(q), x + 136, se);
  so = dot16(highNibblesBeside(q), x + 168, so);
  q = v128.load(p, 368);
  se = dot16(lowNibbles(q), x + 140, se);
  so = dot16(highNibblesBeside(q), x + 172, so);
  q = v128.load(p, 384);
  se = dot16(lowNibbles(q), x + 144, se);
  so = dot16(highNibblesBeside(q), x + 176, so);
  q = v128.load(p, 400);
  se = dot16(lowNibbles(q), x + 148, se);
  so = dot16(highNibblesBeside(q), x + 180, so);
  q = v128.load(p, 416);
  se = dot16(lowNibbles(q), x + 152, se);
  so = dot16(highNibblesBeside(q), x + 184, so);
  q = v128.load(p, 432);
  se = dot16(lowNibbles(q), x + 156, se);
  so = dot16(highNibblesBeside(q), x + 188, so);
  a0 = subPackedK4(se, laneK4(sc47, 0, dd), d + 16, a0);
  a0 = subPackedK4(so, laneK4(sc47, 1, dd), d + 20, a0);
  q = v128.load(p, 448);
  se = dot16(lowNibbles(q), x + 192, i16x8.splat(0));
  so = dot16(highNibblesBeside(q), x + 224, i16x8.splat(0));
  q = v128.load(p, 464);
  se = dot16(lowNibbles(q), x + 196, se);
  so = dot16(highNibblesBeside(q), x + 228, so);
  q = v128.load(p, 480);
  se = dot16(lowNibbles(q), x + 200, se);
  so = dot16(highNibblesBeside(q), x + 232, so);
  q = v128.load(p, 496);
  se = dot16(lowNibbles(q), x + 204, se);
  so = dot16(highNibblesBeside(q), x + 236, so);
  q = v128.load(p, 512);
  se = dot16(lowNibbles(q), x + 208, se);
  so = dot16(highNibblesBeside(q), x + 240, so);
  q = v128.load(p, 528);
  se = dot16(lowNibbles(q), x + 212, se);
  so = dot16(highNibblesBeside(q), x + 244, so);
  q = v128.load(p, 544);
  se = dot16(lowNibbles(q), x + 216, se);
  so = dot16(highNibblesBeside(q), x + 248, so);
  q = v128.load(p, 560);
  se = dot16(lowNibbles(q), x + 220, se);
  so = dot16(highNibblesBeside(q), x + 252, so);
  a0 = subPackedK4(se, laneK4(sc47, 2, dd), d + 24, a0);
  a0 = subPackedK4(so, laneK4(sc47, 3, dd), d + 28, a0);
  return a0;
}

/**
 * packedQ4_K's eight-token tiles with four-way dots (tokens t0 .. t0 + T8 - 1, a multiple of 8):
 * each code vector decoded once for eight tokens, one chain of dot-adds per token (eight in
 * flight, as tilesK4's two per token for four), the tokens' float sums in the thread's scratch
 * (eight more registers than x64 has; contiguous, where rows of `out` can be a multiple of 4 KB
 * apart: 1.0-1.1x). Each (row, token) runs tilesK4's float operations in its order, so the
 * same bits. No load ahead (tilesQ4_0x8's): the K-quants' tiles spend more time per byte, and
 * measured no faster with it. Written out, both halves (the repetition is deliberate): the
 * inputs' offsets must be literals to be the loads' immediates.
 */
// @ts-ignore: decorator
@inline function tilesK4x8(p0: usize, nb: i32, xq: usize, xd: usize, xb: usize, t0: i32, T8: i32, out: usize, rows: i32, r: i32): void {
  const cols = nb << 8;
  const xStride = <usize>cols, dStride = <usize>(cols >> 5) * 4, sStride = dStride;
  const sums = tileSums();
  const z = i32x4.splat(0);
  const m = splatAtRunTime(0x0f, nb);
  for (let t = t0; t < t0 + T8; t += 8) {
    clearSums8(sums);
    let p = p0;
    let x = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xb + <usize>t * sStride;
    for (let b = 0; b < nb; b++) {
      const sm0 = scalesMinsK4(p + 16), sm1 = scalesMinsK4(p + 28), sm2 = scalesMinsK4(p + 40), sm3 = scalesMinsK4(p + 52);
      {
        const dmin = scales4(p + 8);
        const r0a = rowMinsK4(sm0, 0), r0b = rowMinsK4(sm0, 1), r1a = rowMinsK4(sm1, 0), r1b = rowMinsK4(sm1, 1);
        const r2a = rowMinsK4(sm2, 0), r2b = rowMinsK4(sm2, 1), r3a = rowMinsK4(sm3, 0), r3b = rowMinsK4(sm3, 1);
        for (let i: usize = 0; i < 8; i++) {
          const si = sums + (i << 4);
          v128.store(si, minsPackedK4(r0a, r0b, r1a, r1b, r2a, r2b, r3a, r3b, dmin, d + i * dStride, s + i * sStride, v128.load(si)));
        }
      }
      const dd = scales4(p);
      const sc03 = rowsOfK4(sm0, sm1, sm2, sm3, 0), sc47 = rowsOfK4(sm0, sm1, sm2, sm3, 1);
      for (let j = 0; j < 4; j++) {
        const pj = p + 64 + (<usize>j << 7), dj = d + (<usize>j << 3);
        const x0 = x + (<usize>j << 6), x1 = x0 + xStride, x2 = x0 + 2 * xStride, x3 = x0 + 3 * xStride;
        const x4 = x0 + 4 * xStride, x5 = x0 + 5 * xStride, x6 = x0 + 6 * xStride, x7 = x0 + 7 * xStride;
        const sc = j < 2 ? sc03 : sc47;
        let c: v128, e0: v128, e1: v128, e2: v128, e3: v128, e4: v128, e5: v128, e6: v128, e7: v128;
        {
          // sub-block 2j + 0: the low nibbles
          c = v128.and(m, v128.load(pj, 0));
          e0 = dotV(c, v128.load32_splat(x0, 0), z); e1 = dotV(c, v128.load32_splat(x1, 0), z); e2 = dotV(c, v128.load32_splat(x2, 0), z); e3 = dotV(c, v128.load32_splat(x3, 0), z);
          e4 = dotV(c, v128.load32_splat(x4, 0), z); e5 = dotV(c, v128.load32_splat(x5, 0), z); e6 = dotV(c, v128.load32_splat(x6, 0), z); e7 = dotV(c, v128.load32_splat(x7, 0), z);
          c = v128.and(m, v128.load(pj, 16));
          e0 = dotV(c, v128.load32_splat(x0, 4), e0); e1 = dotV(c, v128.load32_splat(x1, 4), e1); e2 = dotV(c, v128.load32_splat(x2, 4), e2); e3 = dotV(c, v128.load32_splat(x3, 4), e3);
          e4 = dotV(c, v128.load32_splat(x4, 4), e4); e5 = dotV(c, v128.load32_splat(x5, 4), e5); e6 = dotV(c, v128.load32_splat(x6, 4), e6); e7 = dotV(c, v128.load32_splat(x7, 4), e7);
          keepOrder();
          c = v128.and(m, v128.load(pj, 32));
          e0 = dotV(c, v128.load32_splat(x0, 8), e0); e1 = dotV(c, v128.load32_splat(x1, 8), e1); e2 = dotV(c, v128.load32_splat(x2, 8), e2); e3 = dotV(c, v128.load32_splat(x3, 8), e3);
          e4 = dotV(c, v128.load32_splat(x4, 8), e4); e5 = dotV(c, v128.load32_splat(x5, 8), e5); e6 = dotV(c, v128.load32_splat(x6, 8), e6); e7 = dotV(c, v128.load32_splat(x7, 8), e7);
          c = v128.and(m, v128.load(pj, 48));
          e0 = dotV(c, v128.load32_splat(x0, 12), e0); e1 = dotV(c, v128.load32_splat(x1, 12), e1); e2 = dotV(c, v128.load32_splat(x2, 12), e2); e3 = dotV(c, v128.load32_splat(x3, 12), e3);
          e4 = dotV(c, v128.load32_splat(x4, 12), e4); e5 = dotV(c, v128.load32_splat(x5, 12), e5); e6 = dotV(c, v128.load32_splat(x6, 12), e6); e7 = dotV(c, v128.load32_splat(x7, 12), e7);
          keepOrder();
          c = v128.and(m, v128.load(pj, 64));
          e0 = dotV(c, v128.load32_splat(x0, 16), e0); e1 = dotV(c, v128.load32_splat(x1, 16), e1); e2 = dotV(c, v128.load32_splat(x2, 16), e2); e3 = dotV(c, v128.load32_splat(x3, 16), e3);
          e4 = dotV(c, v128.load32_splat(x4, 16), e4); e5 = dotV(c, v128.load32_splat(x5, 16), e5); e6 = dotV(c, v128.load32_splat(x6, 16), e6); e7 = dotV(c, v128.load32_splat(x7, 16), e7);
          c = v128.and(m, v128.load(pj, 80));
          e0 = dotV(c, v128.load32_splat(x0, 20), e0); e1 = dotV(c, v128.load32_splat(x1, 20), e1); e2 = dotV(c, v128.load32_splat(x2, 20), e2); e3 = dotV(c, v128.load32_splat(x3, 20), e3);
          e4 = dotV(c, v128.load32_splat(x4, 20), e4); e5 = dotV(c, v128.load32_splat(x5, 20), e5); e6 = dotV(c, v128.load32_splat(x6, 20), e6); e7 = dotV(c, v128.load32_splat(x7, 20), e7);
          keepOrder();
          c = v128.and(m, v128.load(pj, 96));
          e0 = dotV(c, v128.load32_splat(x0, 24), e0); e1 = dotV(c, v128.load32_splat(x1, 24), e1); e2 = dotV(c, v128.load32_splat(x2, 24), e2); e3 = dotV(c, v128.load32_splat(x3, 24), e3);
          e4 = dotV(c, v128.load32_splat(x4, 24), e4); e5 = dotV(c, v128.load32_splat(x5, 24), e5); e6 = dotV(c, v128.load32_splat(x6, 24), e6); e7 = dotV(c, v128.load32_splat(x7, 24), e7);
          c = v128.and(m, v128.load(pj, 112));
          e0 = dotV(c, v128.load32_splat(x0, 28), e0); e1 = dotV(c, v128.load32_splat(x1, 28), e1); e2 = dotV(c, v128.load32_splat(x2, 28), e2); e3 = dotV(c, v128.load32_splat(x3, 28), e3);
          e4 = dotV(c, v128.load32_splat(x4, 28), e4); e5 = dotV(c, v128.load32_splat(x5, 28), e5); e6 = dotV(c, v128.load32_splat(x6, 28), e6); e7 = dotV(c, v128.load32_splat(x7, 28), e7);
          keepOrder();
          const dsc = laneVarK4(sc, ((<i32>j << 1) + 0) & 3, dd);
          v128.store(sums, fmaV(v128.load(sums, 0), e0, f32x4.mul(dsc, v128.load32_splat(dj + 0 * dStride + 0))), 0);
          v128.store(sums, fmaV(v128.load(sums, 16), e1, f32x4.mul(dsc, v128.load32_splat(dj + 1 * dStride + 0))), 16);
          v128.store(sums, fmaV(v128.load(sums, 32), e2, f32x4.mul(dsc, v128.load32_splat(dj + 2 * dStride + 0))), 32);
          v128.store(sums, fmaV(v128.load(sums, 48), e3, f32x4.mul(dsc, v128.load32_splat(dj + 3 * dStride + 0))), 48);
          v128.store(sums, fmaV(v128.load(sums, 64), e4, f32x4.mul(dsc, v128.load32_splat(dj + 4 * dStride + 0))), 64);
          v128.store(sums, fmaV(v128.load(sums, 80), e5, f32x4.mul(dsc, v128.load32_splat(dj + 5 * dStride + 0))), 80);
          v128.store(sums, fmaV(v128.load(sums, 96), e6, f32x4.mul(dsc, v128.load32_splat(dj + 6 * dStride + 0))), 96);
          v128.store(sums, fmaV(v128.load(sums, 112), e7, f32x4.mul(dsc, v128.load32_splat(dj + 7 * dStride + 0))), 112);
        }
        {
          // sub-block 2j + 1: the high nibbles
          c = v128.and(m, i16x8.shr_u(v128.load(pj, 0), 4));
          e0 = dotV(c, v128.load32_splat(x0, 32), z); e1 = dotV(c, v128.load32_splat(x1, 32), z); e2 = dotV(c, v128.load32_splat(x2, 32), z); e3 = dotV(c, v128.load32_splat(x3, 32), z);
          e4 = dotV(c, v128.load32_splat(x4, 32), z); e5 = dotV(c, v128.load32_splat(x5, 32), z); e6 = dotV(c, v128.load32_splat(x6, 32), z); e7 = dotV(c, v128.load32_splat(x7, 32), z);
          c = v128.and(m, i16x8.shr_u(v128.load(pj, 16), 4));
          e0 = dotV(c, v128.load32_splat(x0, 36), e0); e1 = dotV(c, v128.load32_splat(x1, 36), e1); e2 = dotV(c, v128.load32_splat(x2, 36), e2); e3 = dotV(c, v128.load32_splat(x3, 36), e3);
          e4 = dotV(c, v128.load32_splat(x4, 36), e4); e5 = dotV(c, v128.load32_splat(x5, 36), e5); e6 = dotV(c, v128.load32_splat(x6, 36), e6); e7 = dotV(c, v128.load32_splat(x7, 36), e7);
          keepOrder();
          c = v128.and(m, i16x8.shr_u(v128.load(pj, 32), 4));
          e0 = dotV(c, v128.load32_splat(x0, 40), e0); e1 = dotV(c, v128.load32_splat(x1, 40), e1); e2 = dotV(c, v128.load32_splat(x2, 40), e2); e3 = dotV(c, v128.load32_splat(x3, 40), e3);
          e4 = dotV(c, v128.load32_splat(x4, 40), e4); e5 = dotV(c, v128.load32_splat(x5, 40), e5); e6 = dotV(c, v128.load32_splat(x6, 40), e6); e7 = dotV(c, v128.load32_splat(x7, 40), e7);
          c = v128.and(m, i16x8.shr_u(v128.load(pj, 48), 4));
          e0 = dotV(c, v128.load32_splat(x0, 44), e0); e1 = dotV(c, v128.load32_splat(x1, 44), e1); e2 = dotV(c, v128.load32_splat(x2, 44), e2); e3 = dotV(c, v128.load32_splat(x3, 44), e3);
          e4 = dotV(c, v128.load32_splat(x4, 44), e4); e5 = dotV(c, v128.load32_splat(x5, 44), e5); e6 = dotV(c, v128.load32_splat(x6, 44), e6); e7 = dotV(c, v128.load32_splat(x7, 44), e7);
          keepOrder();
          c = v128.and(m, i16x8.shr_u(v128.load(pj, 64), 4));
          e0 = dotV(c, v128.load32_splat(x0, 48), e0); e1 = dotV(c, v128.load32_splat(x1, 48), e1); e2 = dotV(c, v128.load32_splat(x2, 48), e2); e3 = dotV(c, v128.load32_splat(x3, 48), e3);
          e4 = dotV(c, v128.load32_splat(x4, 48), e4); e5 = dotV(c, v128.load32_splat(x5, 48), e5); e6 = dotV(c, v128.load32_splat(x6, 48), e6); e7 = dotV(c, v128.load32_splat(x7, 48), e7);
          c = v128.and(m, i16x8.shr_u(v128.load(pj, 80), 4));
          e0 = dotV(c, v128.load32_splat(x0, 52), e0); e1 = dotV(c, v128.load32_splat(x1, 52), e1); e2 = dotV(c, v128.load32_splat(x2, 52), e2); e3 = dotV(c, v128.load32_splat(x3, 52), e3);
          e4 = dotV(c, v128.load32_splat(x4, 52), e4); e5 = dotV(c, v128.load32_splat(x5, 52), e5); e6 = dotV(c, v128.load32_splat(x6, 52), e6); e7 = dotV(c, v128.load32_splat(x7, 52), e7);
          keepOrder();
          c = v128.and(m, i16x8.shr_u(v128.load(pj, 96), 4));
          e0 = dotV(c, v128.load32_splat(x0, 56), e0); e1 = dotV(c, v128.load32_splat(x1, 56), e1); e2 = dotV(c, v128.load32_splat(x2, 56), e2); e3 = dotV(c, v128.load32_splat(x3, 56), e3);
          e4 = dotV(c, v128.load32_splat(x4, 56), e4); e5 = dotV(c, v128.load32_splat(x5, 56), e5); e6 = dotV(c, v128.load32_splat(x6, 56), e6); e7 = dotV(c, v128.load32_splat(x7, 56), e7);
          c = v128.and(m, i16x8.shr_u(v128.load(pj, 112), 4));
          e0 = dotV(c, v128.load32_splat(x0, 60), e0); e1 = dotV(c, v128.load32_splat(x1, 60), e1); e2 = dotV(c, v128.load32_splat(x2, 60), e2); e3 = dotV(c, v128.load32_splat(x3, 60), e3);
          e4 = dotV(c, v128.load32_splat(x4, 60), e4); e5 = dotV(c, v128.load32_splat(x5, 60), e5); e6 = dotV(c, v128.load32_splat(x6, 60), e6); e7 = dotV(c, v128.load32_splat(x7, 60), e7);
          keepOrder();
          const dsc = laneVarK4(sc, ((<i32>j << 1) + 1) & 3, dd);
          v128.store(sums, fmaV(v128.load(sums, 0), e0, f32x4.mul(dsc, v128.load32_splat(dj + 0 * dStride + 4))), 0);
          v128.store(sums, fmaV(v128.load(sums, 16), e1, f32x4.mul(dsc, v128.load32_splat(dj + 1 * dStride + 4))), 16);
          v128.store(sums, fmaV(v128.load(sums, 32), e2, f32x4.mul(dsc, v128.load32_splat(dj + 2 * dStride + 4))), 32);
          v128.store(sums, fmaV(v128.load(sums, 48), e3, f32x4.mul(dsc, v128.load32_splat(dj + 3 * dStride + 4))), 48);
          v128.store(sums, fmaV(v128.load(sums, 64), e4, f32x4.mul(dsc, v128.load32_splat(dj + 4 * dStride + 4))), 64);
          v128.store(sums, fmaV(v128.load(sums, 80), e5, f32x4.mul(dsc, v128.load32_splat(dj + 5 * dStride + 4))), 80);
          v128.store(sums, fmaV(v128.load(sums, 96), e6, f32x4.mul(dsc, v128.load32_splat(dj + 6 * dStride + 4))), 96);
          v128.store(sums, fmaV(v128.load(sums, 112), e7, f32x4.mul(dsc, v128.load32_splat(dj + 7 * dStride + 4))), 112);
        }
      }
      p += 576;
      x += 256;
      d += 32;
      s += 32;
    }
    storeSums8(sums, out, rows, t, r);
  }
}

/**
 * packedQ4_K's four-token tiles (rows r .. r+3, their super-blocks from p0, the inputs' sums of
 * 32 at xb), with 16-bit dots (dot16) or four-way ones. With four-way dots each token keeps two
 * chains of dot-adds per sub-block (even and odd code vectors: one chain waits ~5 cycles per dot,
 * tilesQ4_0), the same integers as dot16's 16-bit sums, so the same bits.
 * Kernels alone: 1.09-1.13x the 16-bit tile, 1.07-1.16x more with the mask made at run time, and
 * 1.10-1.18x more with keepOrder after every second code vector (binaryen had nested each chain,
 * and V8 spilled the codes loaded up front; after every vector, or in the 16-bit tile, it measured
 * no faster) and the inputs' offsets in the loads' immediates (no address add per dot). Each
 * load feeding both sub-blocks of its pair (chains per sub-block instead) measured 0.92-0.97x:
 * V8 then keeps more codes live and spills them.
 */
// @ts-ignore: decorator
@inline function tilesK4(p0: usize, nb: i32, xq: usize, xd: usize, xb: usize, t0: i32, T4: i32, out: usize, rows: i32, r: i32, fourWay: bool): void {
  const cols = nb << 8;
  const xStride = <usize>cols, dStride = <usize>(cols >> 5) * 4, sStride = dStride;
  const z = i32x4.splat(0);
  const m = splatAtRunTime(0x0f, nb);
  for (let t = t0; t < T4; t += 4) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let p = p0;
    let x = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xb + <usize>t * sStride;
    for (let b = 0; b < nb; b++) {
      const sm0 = scalesMinsK4(p + 16), sm1 = scalesMinsK4(p + 28), sm2 = scalesMinsK4(p + 40), sm3 = scalesMinsK4(p + 52);
      {
        const dmin = scales4(p + 8);
        const r0a = rowMinsK4(sm0, 0), r0b = rowMinsK4(sm0, 1), r1a = rowMinsK4(sm1, 0), r1b = rowMinsK4(sm1, 1);
        const r2a = rowMinsK4(sm2, 0), r2b = rowMinsK4(sm2, 1), r3a = rowMinsK4(sm3, 0), r3b = rowMinsK4(sm3, 1);
        a0 = minsPackedK4(r0a, r0b, r1a, r1b, r2a, r2b, r3a, r3b, dmin, d, s, a0);
        a1 = minsPackedK4(r0a, r0b, r1a, r1b, r2a, r2b, r3a, r3b, dmin, d + dStride, s + sStride, a1);
        a2 = minsPackedK4(r0a, r0b, r1a, r1b, r2a, r2b, r3a, r3b, dmin, d + 2 * dStride, s + 2 * sStride, a2);
        a3 = minsPackedK4(r0a, r0b, r1a, r1b, r2a, r2b, r3a, r3b, dmin, d + 3 * dStride, s + 3 * sStride, a3);
      }
      const dd = scales4(p);
      const sc03 = rowsOfK4(sm0, sm1, sm2, sm3, 0), sc47 = rowsOfK4(sm0, sm1, sm2, sm3, 1);
      if (fourWay) {
        for (let j = 0; j < 4; j++) {
          const pj = p + 64 + (<usize>j << 7), xj = x + (<usize>j << 6), dj = d + (<usize>j << 3);
          const x1 = xj + xStride, x2 = xj + 2 * xStride, x3 = xj + 3 * xStride;
          const sc = j < 2 ? sc03 : sc47;
          let c: v128;
          {
            // sub-block 2j + 0: the low nibbles
            c = v128.and(m, v128.load(pj, 0));
            let e0 = dotV(c, v128.load32_splat(xj, 0), z); let e1 = dotV(c, v128.load32_splat(x1, 0), z); let e2 = dotV(c, v128.load32_splat(x2, 0), z); let e3 = dotV(c, v128.load32_splat(x3, 0), z);
            c = v128.and(m, v128.load(pj, 16));
            let o0 = dotV(c, v128.load32_splat(xj, 4), z); let o1 = dotV(c, v128.load32_splat(x1, 4), z); let o2 = dotV(c, v128.load32_splat(x2, 4), z); let o3 = dotV(c, v128.load32_splat(x3, 4), z);
            keepOrder();
            c = v128.and(m, v128.load(pj, 32));
            e0 = dotV(c, v128.load32_splat(xj, 8), e0); e1 = dotV(c, v128.load32_splat(x1, 8), e1); e2 = dotV(c, v128.load32_splat(x2, 8), e2); e3 = dotV(c, v128.load32_splat(x3, 8), e3);
            c = v128.and(m, v128.load(pj, 48));
            o0 = dotV(c, v128.load32_splat(xj, 12), o0); o1 = dotV(c, v128.load32_splat(x1, 12), o1); o2 = dotV(c, v128.load32_splat(x2, 12), o2); o3 = dotV(c, v128.load32_splat(x3, 12), o3);
            keepOrder();
            c = v128.and(m, v128.load(pj, 64));
            e0 = dotV(c, v128.load32_splat(xj, 16), e0); e1 = dotV(c, v128.load32_splat(x1, 16), e1); e2 = dotV(c, v128.load32_splat(x2, 16), e2); e3 = dotV(c, v128.load32_splat(x3, 16), e3);
            c = v128.and(m, v128.load(pj, 80));
            o0 = dotV(c, v128.load32_splat(xj, 20), o0); o1 = dotV(c, v128.load32_splat(x1, 20), o1); o2 = dotV(c, v128.load32_splat(x2, 20), o2); o3 = dotV(c, v128.load32_splat(x3, 20), o3);
            keepOrder();
            c = v128.and(m, v128.load(pj, 96));
            e0 = dotV(c, v128.load32_splat(xj, 24), e0); e1 = dotV(c, v128.load32_splat(x1, 24), e1); e2 = dotV(c, v128.load32_splat(x2, 24), e2); e3 = dotV(c, v128.load32_splat(x3, 24), e3);
            c = v128.and(m, v128.load(pj, 112));
            o0 = dotV(c, v128.load32_splat(xj, 28), o0); o1 = dotV(c, v128.load32_splat(x1, 28), o1); o2 = dotV(c, v128.load32_splat(x2, 28), o2); o3 = dotV(c, v128.load32_splat(x3, 28), o3);
            keepOrder();
            const dsc = laneVarK4(sc, ((<i32>j << 1) + 0) & 3, dd);
            a0 = fmaV(a0, i32x4.add(e0, o0), f32x4.mul(dsc, v128.load32_splat(dj + 0)));
            a1 = fmaV(a1, i32x4.add(e1, o1), f32x4.mul(dsc, v128.load32_splat(dj + dStride + 0)));
            a2 = fmaV(a2, i32x4.add(e2, o2), f32x4.mul(dsc, v128.load32_splat(dj + 2 * dStride + 0)));
            a3 = fmaV(a3, i32x4.add(e3, o3), f32x4.mul(dsc, v128.load32_splat(dj + 3 * dStride + 0)));
          }
          {
            // sub-block 2j + 1: the high nibbles
            c = v128.and(m, i16x8.shr_u(v128.load(pj, 0), 4));
            let e0 = dotV(c, v128.load32_splat(xj, 32), z); let e1 = dotV(c, v128.load32_splat(x1, 32), z); let e2 = dotV(c, v128.load32_splat(x2, 32), z); let e3 = dotV(c, v128.load32_splat(x3, 32), z);
            c = v128.and(m, i16x8.shr_u(v128.load(pj, 16), 4));
            let o0 = dotV(c, v128.load32_splat(xj, 36), z); let o1 = dotV(c, v128.load32_splat(x1, 36), z); let o2 = dotV(c, v128.load32_splat(x2, 36), z); let o3 = dotV(c, v128.load32_splat(x3, 36), z);
            keepOrder();
            c = v128.and(m, i16x8.shr_u(v128.load(pj, 32), 4));
            e0 = dotV(c, v128.load32_splat(xj, 40), e0); e1 = dotV(c, v128.load32_splat(x1, 40), e1); e2 = dotV(c, v128.load32_splat(x2, 40), e2); e3 = dotV(c, v128.load32_splat(x3, 40), e3);
            c = v128.and(m, i16x8.shr_u(v128.load(pj, 48), 4));
            o0 = dotV(c, v128.load32_splat(xj, 44), o0); o1 = dotV(c, v128.load32_splat(x1, 44), o1); o2 = dotV(c, v128.load32_splat(x2, 44), o2); o3 = dotV(c, v128.load32_splat(x3, 44), o3);
            keepOrder();
            c = v128.and(m, i16x8.shr_u(v128.load(pj, 64), 4));
            e0 = dotV(c, v128.load32_splat(xj, 48), e0); e1 = dotV(c, v128.load32_splat(x1, 48), e1); e2 = dotV(c, v128.load32_splat(x2, 48), e2); e3 = dotV(c, v128.load32_splat(x3, 48), e3);
            c = v128.and(m, i16x8.shr_u(v128.load(pj, 80), 4));
            o0 = dotV(c, v128.load32_splat(xj, 52), o0); o1 = dotV(c, v128.load32_splat(x1, 52), o1); o2 = dotV(c, v128.load32_splat(x2, 52), o2); o3 = dotV(c, v128.load32_splat(x3, 52), o3);
            keepOrder();
            c = v128.and(m, i16x8.shr_u(v128.load(pj, 96), 4));
            e0 = dotV(c, v128.load32_splat(xj, 56), e0); e1 = dotV(c, v128.load32_splat(x1, 56), e1); e2 = dotV(c, v128.load32_splat(x2, 56), e2); e3 = dotV(c, v128.load32_splat(x3, 56), e3);
            c = v128.and(m, i16x8.shr_u(v128.load(pj, 112), 4));
            o0 = dotV(c, v128.load32_splat(xj, 60), o0); o1 = dotV(c, v128.load32_splat(x1, 60), o1); o2 = dotV(c, v128.load32_splat(x2, 60), o2); o3 = dotV(c, v128.load32_splat(x3, 60), o3);
            keepOrder();
            const dsc = laneVarK4(sc, ((<i32>j << 1) + 1) & 3, dd);
            a0 = fmaV(a0, i32x4.add(e0, o0), f32x4.mul(dsc, v128.load32_splat(dj + 4)));
            a1 = fmaV(a1, i32x4.add(e1, o1), f32x4.mul(dsc, v128.load32_splat(dj + dStride + 4)));
            a2 = fmaV(a2, i32x4.add(e2, o2), f32x4.mul(dsc, v128.load32_splat(dj + 2 * dStride + 4)));
            a3 = fmaV(a3, i32x4.add(e3, o3), f32x4.mul(dsc, v128.load32_splat(dj + 3 * dStride + 4)));
          }
        }
      } else {
        for (let j = 0; j < 4; j++) {
          const pj = p + 64 + (<usize>j << 7), xj = x + (<usize>j << 6), dj = d + (<usize>j << 3);
          const sc = j < 2 ? sc03 : sc47;
          let c: v128, s0: v128, s1: v128, s2: v128, s3: v128;
          c = nibblesLo(m, v128.load(pj, 0));
          s0 = dot16(c, xj + 0, i16x8.splat(0));
          s1 = dot16(c, xj + xStride + 0, i16x8.splat(0));
          s2 = dot16(c, xj + 2 * xStride + 0, i16x8.splat(0));
          s3 = dot16(c, xj + 3 * xStride + 0, i16x8.splat(0));
          c = nibblesLo(m, v128.load(pj, 16));
          s0 = dot16(c, xj + 4, s0);
          s1 = dot16(c, xj + xStride + 4, s1);
          s2 = dot16(c, xj + 2 * xStride + 4, s2);
          s3 = dot16(c, xj + 3 * xStride + 4, s3);
          c = nibblesLo(m, v128.load(pj, 32));
          s0 = dot16(c, xj + 8, s0);
          s1 = dot16(c, xj + xStride + 8, s1);
          s2 = dot16(c, xj + 2 * xStride + 8, s2);
          s3 = dot16(c, xj + 3 * xStride + 8, s3);
          c = nibblesLo(m, v128.load(pj, 48));
          s0 = dot16(c, xj + 12, s0);
          s1 = dot16(c, xj + xStride + 12, s1);
          s2 = dot16(c, xj + 2 * xStride + 12, s2);
          s3 = dot16(c, xj + 3 * xStride + 12, s3);
          c = nibblesLo(m, v128.load(pj, 64));
          s0 = dot16(c, xj + 16, s0);
          s1 = dot16(c, xj + xStride + 16, s1);
          s2 = dot16(c, xj + 2 * xStride + 16, s2);
          s3 = dot16(c, xj + 3 * xStride + 16, s3);
          c = nibblesLo(m, v128.load(pj, 80));
          s0 = dot16(c, xj + 20, s0);
          s1 = dot16(c, xj + xStride + 20, s1);
          s2 = dot16(c, xj + 2 * xStride + 20, s2);
          s3 = dot16(c, xj + 3 * xStride + 20, s3);
          c = nibblesLo(m, v128.load(pj, 96));
          s0 = dot16(c, xj + 24, s0);
          s1 = dot16(c, xj + xStride + 24, s1);
          s2 = dot16(c, xj + 2 * xStride + 24, s2);
          s3 = dot16(c, xj + 3 * xStride + 24, s3);
          c = nibblesLo(m, v128.load(pj, 112));
          s0 = dot16(c, xj + 28, s0);
          s1 = dot16(c, xj + xStride + 28, s1);
          s2 = dot16(c, xj + 2 * xStride + 28, s2);
          s3 = dot16(c, xj + 3 * xStride + 28, s3);
          const dsc0 = laneVarK4(sc, ((<i32>j << 1) + 0) & 3, dd);
          a0 = subPackedK4(s0, dsc0, dj + 0, a0);
          a1 = subPackedK4(s1, dsc0, dj + dStride + 0, a1);
          a2 = subPackedK4(s2, dsc0, dj + 2 * dStride + 0, a2);
          a3 = subPackedK4(s3, dsc0, dj + 3 * dStride + 0, a3);
          c = nibblesHi(m, v128.load(pj, 0));
          s0 = dot16(c, xj + 32, i16x8.splat(0));
          s1 = dot16(c, xj + xStride + 32, i16x8.splat(0));
          s2 = dot16(c, xj + 2 * xStride + 32, i16x8.splat(0));
          s3 = dot16(c, xj + 3 * xStride + 32, i16x8.splat(0));
          c = nibblesHi(m, v128.load(pj, 16));
          s0 = dot16(c, xj + 36, s0);
          s1 = dot16(c, xj + xStride + 36, s1);
          s2 = dot16(c, xj + 2 * xStride + 36, s2);
          s3 = dot16(c, xj + 3 * xStride + 36, s3);
          c = nibblesHi(m, v128.load(pj, 32));
          s0 = dot16(c, xj + 40, s0);
          s1 = dot16(c, xj + xStride + 40, s1);
          s2 = dot16(c, xj + 2 * xStride + 40, s2);
          s3 = dot16(c, xj + 3 * xStride + 40, s3);
          c = nibblesHi(m, v128.load(pj, 48));
          s0 = dot16(c, xj + 44, s0);
          s1 = dot16(c, xj + xStride + 44, s1);
          s2 = dot16(c, xj + 2 * xStride + 44, s2);
          s3 = dot16(c, xj + 3 * xStride + 44, s3);
          c = nibblesHi(m, v128.load(pj, 64));
          s0 = dot16(c, xj + 48, s0);
          s1 = dot16(c, xj + xStride + 48, s1);
          s2 = dot16(c, xj + 2 * xStride + 48, s2);
          s3 = dot16(c, xj + 3 * xStride + 48, s3);
          c = nibblesHi(m, v128.load(pj, 80));
          s0 = dot16(c, xj + 52, s0);
          s1 = dot16(c, xj + xStride + 52, s1);
          s2 = dot16(c, xj + 2 * xStride + 52, s2);
          s3 = dot16(c, xj + 3 * xStride + 52, s3);
          c = nibblesHi(m, v128.load(pj, 96));
          s0 = dot16(c, xj + 56, s0);
          s1 = dot16(c, xj + xStride + 56, s1);
          s2 = dot16(c, xj + 2 * xStride + 56, s2);
          s3 = dot16(c, xj + 3 * xStride + 56, s3);
          c = nibblesHi(m, v128.load(pj, 112));
          s0 = dot16(c, xj + 60, s0);
          s1 = dot16(c, xj + xStride + 60, s1);
          s2 = dot16(c, xj + 2 * xStride + 60, s2);
          s3 = dot16(c, xj + 3 * xStride + 60, s3);
          const dsc1 = laneVarK4(sc, ((<i32>j << 1) + 1) & 3, dd);
          a0 = subPackedK4(s0, dsc1, dj + 4, a0);
          a1 = subPackedK4(s1, dsc1, dj + dStride + 4, a1);
          a2 = subPackedK4(s2, dsc1, dj + 2 * dStride + 4, a2);
          a3 = subPackedK4(s3, dsc1, dj + 3 * dStride + 4, a3);
        }
      }
      p += 576;
      x += 256;
      d += 32;
      s += 32;
    }
    v128.store(at(out, rows, t + 0, r), a0);
    v128.store(at(out, rows, t + 1, r), a1);
    v128.store(at(out, rows, t + 2, r), a2);
    v128.store(at(out, rows, t + 3, r), a3);
  }
}

// Written out where it measured faster (the repetition is deliberate; binaryen does not
// unroll): the one-token loop entirely (as loops, with a shift of 0 or 4 choosing the nibble half,
// it ran 0.7x), the tile within each pair of sub-blocks (its pairs unrolled too ran 0.9x). A tile
// reads each pair's bytes twice, once per nibble half, so that four tokens' sums fit in
// registers; one token takes both halves from one load.
// @ts-ignore: decorator
@inline function packedQ4_K(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32, fourWay: bool): void {
  const xb = sums32(xs, T, cols);
  const nb = cols >> 8;
  const groupBytes = <usize>nb * 576;
  const xStride = <usize>cols, dStride = <usize>(cols >> 5) * 4, sStride = dStride;
  const T4 = T & ~3;
  if (T == 1) {
    // a decode step: two groups at a time, half the chunk apart (two streams: packedQ4_0)
    const groups = (r1 - r0) >> 2, half = groups >> 1;
    for (let g = 0; g < half; g++) {
      const ra = r0 + (g << 2), rb = ra + (half << 2);
      let pa = w + <usize>(ra >> 2) * groupBytes, pb = w + <usize>(rb >> 2) * groupBytes;
      let a = f32x4.splat(0), c = f32x4.splat(0);
      let x = xq, d = xd, s = xb;
      for (let b = 0; b < nb; b++) {
        a = tokenSuperK4(pa, x, d, s, a);
        c = tokenSuperK4(pb, x, d, s, c);
        pa += 576;
        pb += 576;
        x += 256;
        d += 32;
        s += 32;
      }
      v128.store(at(out, rows, 0, ra), a);
      v128.store(at(out, rows, 0, rb), c);
    }
    r0 += half << 3;
  }
  for (let r = r0; r < r1; r += 4) {
    const p0 = w + <usize>(r >> 2) * groupBytes;
    // eight tokens at a time with four-way dots, then four: each super-block's scales and codes decoded once for them
    const T8 = fourWay ? T & ~7 : 0;
    if (T8 > 0) tilesK4x8(p0, nb, xq, xd, xb, 0, T8, out, rows, r);
    tilesK4(p0, nb, xq, xd, xb, T8, T4, out, rows, r, fourWay);
    // the rest (every decode step): one token at a time, the same operations
    for (let t = T4; t < T; t++) {
      let a0 = f32x4.splat(0);
      let p = p0;
      let x = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xb + <usize>t * sStride;
      for (let b = 0; b < nb; b++) {
        a0 = tokenSuperK4(p, x, d, s, a0);
        p += 576;
        x += 256;
        d += 32;
        s += 32;
      }
      v128.store(at(out, rows, t + 0, r), a0);
    }
  }
}

// ---- exports ------------------------------------------------------------------------------------

// ---- Q8_0 with its rows in fours (four-way dots) -------------------------------------------------
// Under four-way dots Kernels.store lays a Q8_0 matrix whose rows come in fours out as Q4_0's:
// per block of 32 columns of four rows 136 bytes, the four float16 scales, then for k = 0..7 the
// rows' code bytes 4k .. 4k+3 (row r's at 16k + 4r). The four-way dot multiplies the signed inputs
// by codes of 0 .. 127 only, and Q8_0's codes are signed: flipped to c + 128 (xor 0x80) they are
// 0 .. 255, whose nibbles h and l are codes of 0 .. 15, and x · c = 16 (x · h) + x · l - 128 Σ x.
// So each (rows, token) keeps two 32-bit sums, and the input's broadcast serves both nibbles. The
// stored layout's kernel (rows32, two rows at a time, the codes widened to 16 bits) read the 135M
// model's 49152-row head at 17.5 GMAC/s for eight tokens.

/** acc + the four rows' sums 16 h + l less 128 Σ inputs (their sum at xs), times the rows' scales d and the token's at xd. */
// @ts-ignore: decorator
@inline function finishQ8(h: v128, l: v128, xs: usize, xd: usize, d: v128, acc: v128): v128 {
  const ints = i32x4.sub(i32x4.add(i32x4.shl(h, 4), l), i32x4.shl(v128.load32_splat(xs), 7));
  return fmaV(acc, ints, f32x4.mul(d, v128.load32_splat(xd)));
}

/** acc + one token's products with the packed Q8_0 block of four rows at p (its inputs at x, their scale at d, their sum at s). */
// @ts-ignore: decorator
@inline function tokenBlockQ8(p: usize, x: usize, d: usize, s: usize, m: v128, flip: v128, acc: v128): v128 {
  let l = i32x4.splat(0), h = i32x4.splat(0);
  let q: v128, lo: v128, hi: v128, v: v128;
  // written out for k = 0 .. 7 (binaryen does not unroll), the offsets the loads' own
  q = v128.xor(v128.load(p, 8), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4), v = v128.load32_splat(x, 0);
  l = dotV(lo, v, l), h = dotV(hi, v, h);
  q = v128.xor(v128.load(p, 24), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4), v = v128.load32_splat(x, 4);
  l = dotV(lo, v, l), h = dotV(hi, v, h);
  q = v128.xor(v128.load(p, 40), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4), v = v128.load32_splat(x, 8);
  l = dotV(lo, v, l), h = dotV(hi, v, h);
  q = v128.xor(v128.load(p, 56), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4), v = v128.load32_splat(x, 12);
  l = dotV(lo, v, l), h = dotV(hi, v, h);
  q = v128.xor(v128.load(p, 72), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4), v = v128.load32_splat(x, 16);
  l = dotV(lo, v, l), h = dotV(hi, v, h);
  q = v128.xor(v128.load(p, 88), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4), v = v128.load32_splat(x, 20);
  l = dotV(lo, v, l), h = dotV(hi, v, h);
  q = v128.xor(v128.load(p, 104), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4), v = v128.load32_splat(x, 24);
  l = dotV(lo, v, l), h = dotV(hi, v, h);
  q = v128.xor(v128.load(p, 120), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4), v = v128.load32_splat(x, 28);
  l = dotV(lo, v, l), h = dotV(hi, v, h);
  return finishQ8(h, l, s, d, scales4(p), acc);
}

/** packedQ8_0's four-token tiles (rows r .. r+3, their blocks from p0; tokens 0 .. T4 - 1): eight 32-bit sums in flight, each (row, token) tokenBlockQ8's operations. */
// @ts-ignore: decorator
@inline function tilesQ8_0(p0: usize, nb: i32, xq: usize, xd: usize, xb: usize, T4: i32, out: usize, rows: i32, r: i32, m: v128, flip: v128): void {
  const cols = nb << 5;
  const xStride = <usize>cols, dStride = <usize>nb * 4, sStride = dStride;
  for (let t = 0; t < T4; t += 4) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let p = p0;
    let x0 = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xb + <usize>t * sStride;
    for (let b = 0; b < nb; b++) {
      const x1 = x0 + xStride, x2 = x0 + 2 * xStride, x3 = x0 + 3 * xStride;
      let l0 = i32x4.splat(0), l1 = i32x4.splat(0), l2 = i32x4.splat(0), l3 = i32x4.splat(0);
      let h0 = i32x4.splat(0), h1 = i32x4.splat(0), h2 = i32x4.splat(0), h3 = i32x4.splat(0);
      let q: v128, lo: v128, hi: v128, v: v128;
      q = v128.xor(v128.load(p, 8), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
      v = v128.load32_splat(x0, 0), l0 = dotV(lo, v, l0), h0 = dotV(hi, v, h0);
      v = v128.load32_splat(x1, 0), l1 = dotV(lo, v, l1), h1 = dotV(hi, v, h1);
      v = v128.load32_splat(x2, 0), l2 = dotV(lo, v, l2), h2 = dotV(hi, v, h2);
      v = v128.load32_splat(x3, 0), l3 = dotV(lo, v, l3), h3 = dotV(hi, v, h3);
      q = v128.xor(v128.load(p, 24), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
      v = v128.load32_splat(x0, 4), l0 = dotV(lo, v, l0), h0 = dotV(hi, v, h0);
      v = v128.load32_splat(x1, 4), l1 = dotV(lo, v, l1), h1 = dotV(hi, v, h1);
      v = v128.load32_splat(x2, 4), l2 = dotV(lo, v, l2), h2 = dotV(hi, v, h2);
      v = v128.load32_splat(x3, 4), l3 = dotV(lo, v, l3), h3 = dotV(hi, v, h3);
      q = v128.xor(v128.load(p, 40), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
      v = v128.load32_splat(x0, 8), l0 = dotV(lo, v, l0), h0 = dotV(hi, v, h0);
      v = v128.load32_splat(x1, 8), l1 = dotV(lo, v, l1), h1 = dotV(hi, v, h1);
      v = v128.load32_splat(x2, 8), l2 = dotV(lo, v, l2), h2 = dotV(hi, v, h2);
      v = v128.load32_splat(x3, 8), l3 = dotV(lo, v, l3), h3 = dotV(hi, v, h3);
      q = v128.xor(v128.load(p, 56), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
      v = v128.load32_splat(x0, 12), l0 = dotV(lo, v, l0), h0 = dotV(hi, v, h0);
      v = v128.load32_splat(x1, 12), l1 = dotV(lo, v, l1), h1 = dotV(hi, v, h1);
      v = v128.load32_splat(x2, 12), l2 = dotV(lo, v, l2), h2 = dotV(hi, v, h2);
      v = v128.load32_splat(x3, 12), l3 = dotV(lo, v, l3), h3 = dotV(hi, v, h3);
      q = v128.xor(v128.load(p, 72), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
      v = v128.load32_splat(x0, 16), l0 = dotV(lo, v, l0), h0 = dotV(hi, v, h0);
      v = v128.load32_splat(x1, 16), l1 = dotV(lo, v, l1), h1 = dotV(hi, v, h1);
      v = v128.load32_splat(x2, 16), l2 = dotV(lo, v, l2), h2 = dotV(hi, v, h2);
      v = v128.load32_splat(x3, 16), l3 = dotV(lo, v, l3), h3 = dotV(hi, v, h3);
      q = v128.xor(v128.load(p, 88), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
      v = v128.load32_splat(x0, 20), l0 = dotV(lo, v, l0), h0 = dotV(hi, v, h0);
      v = v128.load32_splat(x1, 20), l1 = dotV(lo, v, l1), h1 = dotV(hi, v, h1);
      v = v128.load32_splat(x2, 20), l2 = dotV(lo, v, l2), h2 = dotV(hi, v, h2);
      v = v128.load32_splat(x3, 20), l3 = dotV(lo, v, l3), h3 = dotV(hi, v, h3);
      q = v128.xor(v128.load(p, 104), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
      v = v128.load32_splat(x0, 24), l0 = dotV(lo, v, l0), h0 = dotV(hi, v, h0);
      v = v128.load32_splat(x1, 24), l1 = dotV(lo, v, l1), h1 = dotV(hi, v, h1);
      v = v128.load32_splat(x2, 24), l2 = dotV(lo, v, l2), h2 = dotV(hi, v, h2);
      v = v128.load32_splat(x3, 24), l3 = dotV(lo, v, l3), h3 = dotV(hi, v, h3);
      q = v128.xor(v128.load(p, 120), flip), lo = v128.and(m, q), hi = i16x8.shr_u(v128.xor(q, lo), 4);
      v = v128.load32_splat(x0, 28), l0 = dotV(lo, v, l0), h0 = dotV(hi, v, h0);
      v = v128.load32_splat(x1, 28), l1 = dotV(lo, v, l1), h1 = dotV(hi, v, h1);
      v = v128.load32_splat(x2, 28), l2 = dotV(lo, v, l2), h2 = dotV(hi, v, h2);
      v = v128.load32_splat(x3, 28), l3 = dotV(lo, v, l3), h3 = dotV(hi, v, h3);
      const ds = scales4(p);
      a0 = finishQ8(h0, l0, s, d, ds, a0);
      a1 = finishQ8(h1, l1, s + sStride, d + dStride, ds, a1);
      a2 = finishQ8(h2, l2, s + 2 * sStride, d + 2 * dStride, ds, a2);
      a3 = finishQ8(h3, l3, s + 3 * sStride, d + 3 * dStride, ds, a3);
      p += 136;
      x0 += 32;
      d += 4;
      s += 4;
    }
    v128.store(at(out, rows, t, r), a0);
    v128.store(at(out, rows, t + 1, r), a1);
    v128.store(at(out, rows, t + 2, r), a2);
    v128.store(at(out, rows, t + 3, r), a3);
  }
}

// @ts-ignore: decorator
@inline function packedQ8_0(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const nb = cols >> 5;
  const groupBytes = <usize>nb * 136;
  const xStride = <usize>cols, dStride = <usize>nb * 4, sStride = dStride;
  const xb = sums32(xs, T, cols);
  const T4 = T & ~3;
  const m = splatAtRunTime(0x0f, nb), flip = splatAtRunTime(0x80, nb);
  if (T == 1) {
    // A decode step, read as packedQ4_0's: two groups half the chunk apart (two streams from
    // memory), a word PREFETCH bytes ahead loaded once per page (touchPage); each row's
    // operations those of the loop below.
    const last = w + <usize>(rows >> 2) * groupBytes - 4;
    let touched: u32 = 0;
    const groups = (r1 - r0) >> 2, half = groups >> 1;
    for (let g = 0; g < half; g++) {
      const ra = r0 + (g << 2), rb = ra + (half << 2);
      let pa = w + <usize>(ra >> 2) * groupBytes, pb = w + <usize>(rb >> 2) * groupBytes;
      let a = f32x4.splat(0), c = f32x4.splat(0);
      let x = xq, d = xd, s = xb;
      for (let b = 0; b < nb; b++) {
        a = tokenBlockQ8(pa, x, d, s, m, flip, a);
        c = tokenBlockQ8(pb, x, d, s, m, flip, c);
        touched ^= touchPage(pa, last, 136) ^ touchPage(pb, last, 136);
        pa += 136;
        pb += 136;
        x += 32;
        d += 4;
        s += 4;
      }
      v128.store(at(out, rows, 0, ra), a);
      v128.store(at(out, rows, 0, rb), c);
    }
    sink ^= touched;
    r0 += half << 3;
  }
  for (let r = r0; r < r1; r += 4) {
    const p0 = w + <usize>(r >> 2) * groupBytes;
    tilesQ8_0(p0, nb, xq, xd, xb, T4, out, rows, r, m, flip);
    // the rest (every decode step): one token at a time, the same operations
    for (let t = T4; t < T; t++) {
      let a = f32x4.splat(0);
      let p = p0;
      let x = xq + <usize>t * xStride, d = xd + <usize>t * dStride, s = xb + <usize>t * sStride;
      for (let b = 0; b < nb; b++) {
        a = tokenBlockQ8(p, x, d, s, m, flip, a);
        p += 136;
        x += 32;
        d += 4;
        s += 4;
      }
      v128.store(at(out, rows, t, r), a);
    }
  }
}

// @ts-ignore: decorator
@inline function at(out: usize, rows: i32, t: i32, r: i32): usize {
  return out + ((<usize>t * <usize>rows + <usize>r) << 2);
}

export function matmul_f32(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  rowsFloat<F32>(w, cols, xf, T, out, rows, r0, r1);
}
export function matmul_f16(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  rowsFloat<F16>(w, cols, xf, T, out, rows, r0, r1);
}
export function matmul_bf16(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  rowsFloat<BF16>(w, cols, xf, T, out, rows, r0, r1);
}
export function matmul_q4_0(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  rows32<Q4_0>(w, cols, xq, xd, xs, T, out, rows, r0, r1);
}
/** Q4_0 as Kernels.store packs it for relaxed SIMD (rows in fours; r0 and rows multiples of 4). */
export function matmul_q4_0x4(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  // Plain SIMD's inputs are int16 and Kernels.store never packs for it: reaching here is a host bug.
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else packedQ4_0(w, cols, xq, xd, xs, T, out, rows, r0, r1, false);
}
/** Q8_0 with its rows in fours, four-way dots only (see packedQ8_0). */
export function matmul_q8_0x4d(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else packedQ8_0(w, cols, xq, xd, xs, T, out, rows, r0, r1);
}
/** matmul_q4_0x4 with four-way dots (see quadD). */
export function matmul_q4_0x4d(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else packedQ4_0(w, cols, xq, xd, xs, T, out, rows, r0, r1, true);
}
export function matmul_q4_1(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  rows32<Q4_1>(w, cols, xq, xd, xs, T, out, rows, r0, r1);
}
export function matmul_q5_0(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  rows32<Q5_0>(w, cols, xq, xd, xs, T, out, rows, r0, r1);
}
/** Q5_0 as Kernels.store packs it for relaxed SIMD (rows in fours; r0 and rows multiples of 4). */
export function matmul_q5_0x4(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  // Plain SIMD's inputs are int16 and Kernels.store never packs for it: reaching here is a host bug.
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else packedQ5_0(w, cols, xq, xd, xs, T, out, rows, r0, r1, false);
}
/** matmul_q5_0x4 with four-way dots in its eight-token tiles (tilesQ5_0x8). */
export function matmul_q5_0x4d(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else packedQ5_0(w, cols, xq, xd, xs, T, out, rows, r0, r1, true);
}
export function matmul_q5_1(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  rows32<Q5_1>(w, cols, xq, xd, xs, T, out, rows, r0, r1);
}
export function matmul_q8_0(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  rows32<Q8_0>(w, cols, xq, xd, xs, T, out, rows, r0, r1);
}
export function matmul_iq4_nl(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  rows32<IQ4_NL>(w, cols, xq, xd, xs, T, out, rows, r0, r1);
}
export function matmul_q2_k(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const T4 = T & ~3;
  if (T4 > 0) tilesQ2K(w, cols, xq, xd, xs, T4, out, rows, r0, r1);
  rowsOf<Q2_K>(w, cols, xq, xd, xs, T4, T, out, rows, r0, r1);
}
export function matmul_q3_k(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const T4 = T & ~3;
  if (T4 > 0) tilesScaled<TileQ3K>(w, cols, xq, xd, xs, T4, out, rows, r0, r1);
  rowsOf<Q3_K>(w, cols, xq, xd, xs, T4, T, out, rows, r0, r1);
}
export function matmul_q4_k(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const T4 = T & ~3;
  if (T4 > 0) tilesK45(false, w, cols, xq, xd, xs, T4, out, rows, r0, r1);
  rowsOf<Q4_K>(w, cols, xq, xd, xs, T4, T, out, rows, r0, r1);
}
/** Q4_K as Kernels.store packs it for relaxed SIMD (rows in fours; r0 and rows multiples of 4). */
export function matmul_q4_kx4(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  // Plain SIMD's inputs are int16 and Kernels.store never packs for it: reaching here is a host bug.
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else packedQ4_K(w, cols, xq, xd, xs, T, out, rows, r0, r1, false);
}
/** matmul_q4_kx4 with four-way dots in its prompt tiles (tilesK4). */
export function matmul_q4_kx4d(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  // Plain SIMD's inputs are int16 and Kernels.store never packs for it: reaching here is a host bug.
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else packedQ4_K(w, cols, xq, xd, xs, T, out, rows, r0, r1, true);
}
export function matmul_q5_k(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const T4 = T & ~3;
  if (T4 > 0) tilesK45(true, w, cols, xq, xd, xs, T4, out, rows, r0, r1);
  rowsOf<Q5_K>(w, cols, xq, xd, xs, T4, T, out, rows, r0, r1);
}
export function matmul_q6_k(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const T4 = T & ~3;
  if (T4 > 0) tilesScaled<TileQ6K>(w, cols, xq, xd, xs, T4, out, rows, r0, r1);
  rowsOf<Q6_K>(w, cols, xq, xd, xs, T4, T, out, rows, r0, r1);
}
/** Q6_K as Kernels.store packs it for relaxed SIMD (rows in fours; r0 and rows multiples of 4). */
export function matmul_q6_kx4(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  // Plain SIMD's inputs are int16 and Kernels.store never packs for it: reaching here is a host bug.
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else packedQ6_K(w, cols, xq, xd, xs, T, out, rows, r0, r1, false);
}
/** matmul_q6_kx4 with four-way dots in its eight-token tiles (tilesQ6Kx8). */
export function matmul_q6_kx4d(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  if (!ASC_FEATURE_RELAXED_SIMD) unreachable();
  else packedQ6_K(w, cols, xq, xd, xs, T, out, rows, r0, r1, true);
}
export function matmul_iq4_xs(w: usize, cols: i32, xq: usize, xd: usize, xs: usize, xf: usize, T: i32, out: usize, rows: i32, r0: i32, r1: i32): void {
  const T4 = T & ~3;
  if (T4 > 0) tilesScaled<TileIQ4XS>(w, cols, xq, xd, xs, T4, out, rows, r0, r1);
  rowsOf<IQ4_XS>(w, cols, xq, xd, xs, T4, T, out, rows, r0, r1);
}
