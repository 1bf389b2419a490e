// SIMD building blocks shared by the kernels (AssemblyScript, compiled by scripts/build-wasm.ts).
//
// Two builds come from this source: plain SIMD128, and SIMD128 + relaxed SIMD. They differ only
// in dotU: relaxed SIMD's i32x4.relaxed_dot_i8x16_i7x16_add_s multiplies 16 unsigned 7-bit weights
// by 16 signed int8 inputs and adds groups of four in one instruction (pmaddubsw + pmaddwd on x86,
// sdot on Arm), where plain SIMD needs to widen both to int16 first.

/** The float32 value of every float16 bit pattern (65536 entries), written by the host at load. */
let F16_TABLE: usize = 0;

export function setF16Table(table: usize): void {
  F16_TABLE = table;
}

/** The float16 stored at p, as float32. */
// @ts-ignore: decorator
@inline export function f16(p: usize): f32 {
  return load<f32>(F16_TABLE + ((<usize>load<u16>(p)) << 2));
}

/**
 * Four float16 values (the low or high half of 8 in v) as float32: the exponent and mantissa
 * shifted into place and rescaled by 2^112, which turns float16 subnormals into float32 normals
 * exactly; infinities and NaNs (exponent 31) are set apart.
 */
// @ts-ignore: decorator
@inline export function f16x4(h: v128): v128 {
  const abs = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  const scaled = f32x4.mul(abs, f32x4.splat(reinterpret<f32>(0x77800000))); // 2^112
  const special = i32x4.ge_u(abs, i32x4.splat(0x0f800000)); // exponent 31
  const value = v128.bitselect(v128.or(abs, i32x4.splat(0x7f800000)), scaled, special);
  return v128.or(value, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

// The rounded inputs (quantize.ts) are stored as the build's dot products read them: int8 for
// relaxed SIMD, int16 for plain SIMD128, which then widens only the weights. `g` counts groups of
// 16 inputs from x, the row's first.

/** The address of input group g. */
// @ts-ignore: decorator
@inline export function inputAt(x: usize, g: i32): usize {
  return ASC_FEATURE_RELAXED_SIMD ? x + (<usize>g << 4) : x + (<usize>g << 5);
}

/**
 * Σ w·a over 16 inputs held in registers, in four lanes; w: 16 unsigned bytes in 0..127. The
 * inputs are one int8 vector `a` (relaxed; `b` unused) or two int16 vectors `a`, `b` (plain).
 */
// @ts-ignore: decorator
@inline export function dotUv(w: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(a, w, i32x4.splat(0));
  return i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(w), a), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(w), b));
}

/** acc + dotUv(w, a, b): relaxed SIMD adds into its accumulator in the same instruction. */
// @ts-ignore: decorator
@inline export function dotUvAcc(w: v128, a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(a, w, acc);
  return i32x4.add(acc, dotUv(w, a, b));
}

/** acc + dotU(w, x, g). */
// @ts-ignore: decorator
@inline export function dotUAcc(w: v128, x: usize, g: i32, acc: v128): v128 {
  return dotUvAcc(w, inputA(x, g), inputB(x, g), acc);
}

/** dotUv for 16 signed weights (no relaxed form: its weights must be 7-bit). */
// @ts-ignore: decorator
@inline export function dotSv(w: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i32x4.add(
      i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w), i16x8.extend_low_i8x16_s(a)),
      i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w), i16x8.extend_high_i8x16_s(a)),
    );
  }
  return i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w), a), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w), b));
}

/** The first register of input group g (dotUv's `a`). */
// @ts-ignore: decorator
@inline export function inputA(x: usize, g: i32): v128 {
  return v128.load(inputAt(x, g));
}

/**
 * Where quantize leaves each block of 32 inputs' sum, after the sums per 16: one i32 per block,
 * laid out as the scales (xd) are. The packed Q4_0/Q5_0 kernels take a block's offset times it
 * with one load instead of adding the two sums of 16 and splatting them (tiles 1.05-1.09x), and
 * the packed Q4_K mins read four sub-blocks' sums with one.
 */
// @ts-ignore: decorator
@inline export function sums32(xs: usize, T: i32, n: i32): usize {
  return xs + ((<usize>T * <usize>(n >> 4)) << 2);
}

/** The second register of input group g (dotUv's `b`; none for relaxed SIMD). */
// @ts-ignore: decorator
@inline export function inputB(x: usize, g: i32): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? i32x4.splat(0) : v128.load(inputAt(x, g) + 16);
}

/** Σ w·a over input group g, in four lanes; w: 16 unsigned bytes in 0..127. */
// @ts-ignore: decorator
@inline export function dotU(w: v128, x: usize, g: i32): v128 {
  return dotUv(w, inputA(x, g), inputB(x, g));
}

/** Σ w·a over input group g, in four lanes; w: 16 signed bytes. */
// @ts-ignore: decorator
@inline export function dotS(w: v128, x: usize, g: i32): v128 {
  return dotSv(w, inputA(x, g), inputB(x, g));
}

// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** acc + float(i) × s (fused where relaxed SIMD lets the CPU fuse it: one rounding fewer, within the tests' tolerances). */
// @ts-ignore: decorator
@inline export function fma(acc: v128, i: v128, s: f32): v128 {
  return fmaV(acc, i, f32x4.splat(s));
}

/** fma with the scale already in every lane of s. */
// @ts-ignore: decorator
@inline export function fmaV(acc: v128, i: v128, s: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(f32x4.convert_i32x4_s(i), s, acc);
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(i), s));
}

/**
 * This instance's own scratch, THREAD_SCRATCH bytes (Kernels.create gives each thread its own):
 * keepOrder's word in the first cache line, then the eight-token tiles' float sums (tileSums).
 */
let SCRATCH: usize = 0;

export function setThreadScratch(p: usize): void {
  SCRATCH = p;
}

/** Room for eight vectors of this thread's own, contiguous (two cache lines). */
// @ts-ignore: decorator
@inline export function tileSums(): usize {
  return SCRATCH + 64;
}

/**
 * Keeps loads from moving across this point: binaryen moves no load past a store. Without it,
 * binaryen's simplify-locals folds each chain of dot-adds (s = dot(x, c, s), step after step)
 * into one nested expression whose operands, every step's loads, wasm then evaluates first; V8
 * keeps loads in the module's order, so a prompt tile loaded every code vector of a sub-block
 * before its first dot and spilled them to the stack (the four-way Q4_K tile: 64 dot-adds, ~100
 * spill moves). A store to a word of this thread's own costs next to nothing.
 */
// @ts-ignore: decorator
@inline export function keepOrder(): void {
  store<u32>(SCRATCH, 0);
}

/** The low nibble of every byte. */
// @ts-ignore: decorator
@inline export function lowNibbles(q: v128): v128 {
  return v128.and(q, i8x16.splat(0x0f));
}

/**
 * i8x16.splat(byte) as a value computed at run time (n: any number ≥ 0 the caller has, such as
 * its columns): V8 materialises a constant vector afresh at every use (a load and two shuffles,
 * ~600 of them in the Q6_K kernel), a value once per call.
 */
// @ts-ignore: decorator
@inline export function splatAtRunTime(byte: i32, n: i32): v128 {
  return i8x16.splat(<i8>(byte | (n >> 31)));
}

/** lowNibbles with its mask m (splatAtRunTime(0x0f)). */
// @ts-ignore: decorator
@inline export function nibblesLo(m: v128, q: v128): v128 {
  return v128.and(q, m);
}

/** highNibbles with its mask m (splatAtRunTime(0x0f)). */
// @ts-ignore: decorator
@inline export function nibblesHi(m: v128, q: v128): v128 {
  return v128.and(i16x8.shr_u(q, 4), m);
}

/** The high nibble of every byte. */
// @ts-ignore: decorator
@inline export function highNibbles(q: v128): v128 {
  return v128.and(i16x8.shr_u(q, 4), i8x16.splat(0x0f));
}

/**
 * highNibbles for a caller that takes lowNibbles(q) too: q with its low nibbles cleared (that
 * and, shared), shifted down as 16-bit lanes (nothing crosses a byte), so the mask is used once
 * (V8 rebuilds it from an immediate at every use). Alone it costs an op more than highNibbles
 * (Q5_K decode rows 0.96x); beside lowNibbles, the Q4_0 prompt tile ran 1.05x.
 */
// @ts-ignore: decorator
@inline export function highNibblesBeside(q: v128): v128 {
  return i16x8.shr_u(v128.xor(q, lowNibbles(q)), 4);
}

/** Bits 0..15 (half 0) or 16..31 (half 1) of `bits`, one per byte lane, as 0 or `value`. */
// @ts-ignore: decorator
@inline export function spreadBits(bits: u32, half: i32, value: i8): v128 {
  const v = i32x4.splat(bits);
  const bytes = half == 0
    ? i8x16.swizzle(v, i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1))
    : i8x16.swizzle(v, i8x16(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  const select = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return v128.and(i8x16.eq(v128.and(bytes, select), select), i8x16.splat(value));
}

/**
 * expNeg's constants, each in four lanes, in the module's data: a load per use (which V8 may fold
 * into the arithmetic), where a constant vector in the code is rebuilt at every use (a load and
 * two shuffles: ~14 per exp).
 */
const EXP_K: usize = memory.data<f32>([
  -87, -87, -87, -87,
  1.44269504088896341, 1.44269504088896341, 1.44269504088896341, 1.44269504088896341,
  12582912, 12582912, 12582912, 12582912,
  0.693359375, 0.693359375, 0.693359375, 0.693359375,
  -2.12194440e-4, -2.12194440e-4, -2.12194440e-4, -2.12194440e-4,
  1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4,
  1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3,
  8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3,
  4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2,
  1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1,
  5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1,
  1, 1, 1, 1,
], 16);

/** EXP_K's i-th constant. */
// @ts-ignore: decorator
@inline function k(i: i32): v128 {
  return v128.load(EXP_K + (<usize>i << 4));
}

/**
 * e^x for x ≤ 0, four lanes (Cephes' expf: x = n ln2 + r, a degree-6 polynomial in r, 2^n put
 * into the exponent); exactly 0 below -87, where 2^n would leave the normal range, and for -∞
 * and NaN. The clamp is pmax (one instruction; max is seven in V8, for NaN and -0 rules that do
 * not matter here: a NaN lane is zeroed by `live`, and ±0 are kept either way).
 */
// @ts-ignore: decorator
@inline export function expNeg(x: v128): v128 {
  const live = f32x4.gt(x, k(0));
  const c = f32x4.pmax(x, k(0));
  // n = round(c / ln2) to the nearest even, by adding 1.5 · 2^23 (its bits then hold n in the low
  // mantissa): what f32x4.nearest gives, without a float → int conversion (several instructions in V8)
  const t = f32x4.add(f32x4.mul(c, k(1)), k(2));
  const n = f32x4.sub(t, k(2));
  let r = f32x4.sub(c, f32x4.mul(n, k(3)));
  r = f32x4.sub(r, f32x4.mul(n, k(4)));
  let p = k(5);
  p = f32x4.add(f32x4.mul(p, r), k(6));
  p = f32x4.add(f32x4.mul(p, r), k(7));
  p = f32x4.add(f32x4.mul(p, r), k(8));
  p = f32x4.add(f32x4.mul(p, r), k(9));
  p = f32x4.add(f32x4.mul(p, r), k(10));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), k(11));
  // 2^n: n + 127 into the exponent field (t's bits are 0x4B400000 + n; the shift drops the rest)
  const pow2 = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  return v128.and(f32x4.mul(p, pow2), live);
}
