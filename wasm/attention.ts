// Attention over the paged KV cache, float32 as in the CPU reference: scores q·k × scale
// (soft-capped for Gemma 2), softmax, and the weighted sum of the values. Grouped-query heads share
// their kv head. The work is split into units of one query row and the query heads of one kv head
// (or a part of them, when a step has too few units for the threads), and each head is computed in
// the same order whatever else runs (which rows and heads share the call, which thread takes it):
// that is what makes a batched step give a sequence's solo results bit for bit, and lets threads
// share a prompt's attention (src/engine/wasm/kernels.ts).
//
// A unit walks its positions one KV block (16 positions) at a time, as flash attention does, its
// heads taking each block in turn while the block is in L1 (a long context's keys and values do
// not fit the caches, and a unit of one head read them once per head): the block's 16 scores
// (four keys per pass, reduced by a transpose), a running maximum and sum, and the values'
// weighted sum rescaled when the maximum grows. So no score array as long as the context, and exp
// is a four-lane polynomial instead of a float64 call per score.
//
// The cache of a layer is rows of kvDim elements, float32 or float16 (`half`); a sequence's
// position p lives in row table[p / 16] × 16 + p % 16 (16: KV_BLOCK_SIZE, src/engine/backend.ts).
import { expNeg, f16, f16x4, hsum } from './simd';

// @ts-ignore: decorator
@inline const BLOCK_SHIFT = 4;

/**
 * This instance's tile: room for one KV block's keys and values of one kv head widened to float32
 * (16 rows of up to TILE_DIM each), set by the host. Globals are per instance, and each thread has
 * its own instance, so each thread has its own tile.
 */
let TILE: usize = 0;
// @ts-ignore: decorator
@inline const TILE_DIM = 512;

export function setKvTile(tile: usize): void {
  TILE = tile;
}

/** The job header's words (i32 or f32), written by the host; the rows' (position, table) pairs follow. */
export const JOB_WORDS = 16;
// @ts-ignore: decorator
@inline const Q = 0, KC = 1, VC = 2, OUT = 3, SCRATCH = 4, HEADS = 5, KV_HEADS = 6, HEAD_DIM = 7, WINDOW = 8, SCALE = 9, SOFTCAP = 10, HALF = 11, SPAN = 12;

/** Four cache elements at element index i of the row at r, as float32. */
// @ts-ignore: decorator
@inline function load4(r: usize, i: i32, half: bool): v128 {
  return half ? f16x4(v128.load16x4_u(r + (<usize>i << 1))) : v128.load(r + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function load1(r: usize, i: i32, half: bool): f32 {
  return half ? f16(r + (<usize>i << 1)) : load<f32>(r + (<usize>i << 2));
}

/** acc + a × b, fused where relaxed SIMD lets the CPU fuse it. */
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** softcap · tanh(s / softcap), lane by lane (Gemma 2 only: float64 as the CPU reference). */
// @ts-ignore: decorator
@inline function capped(s: v128, cap: f32): v128 {
  s = f32x4.replace_lane(s, 0, cap * <f32>Math.tanh(<f64>(f32x4.extract_lane(s, 0) / cap)));
  s = f32x4.replace_lane(s, 1, cap * <f32>Math.tanh(<f64>(f32x4.extract_lane(s, 1) / cap)));
  s = f32x4.replace_lane(s, 2, cap * <f32>Math.tanh(<f64>(f32x4.extract_lane(s, 2) / cap)));
  return f32x4.replace_lane(s, 3, cap * <f32>Math.tanh(<f64>(f32x4.extract_lane(s, 3) / cap)));
}

/**
 * q · the four consecutive cache rows from r (rowBytes apart), n elements: four scores in one
 * vector. Eight sums, two per row (alternate groups of four elements), so eight multiply-adds are
 * in flight: with four, each waited on the one before (8 rows at 96 positions 121 -> 107 µs).
 */
// @ts-ignore: decorator
@inline function dot4(q: usize, r: usize, rowBytes: usize, n: i32, half: bool): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  let d = 0;
  for (; d + 8 <= n; d += 8) {
    const qv = v128.load(q + (<usize>d << 2)), qw = v128.load(q + (<usize>d << 2), 16);
    a0 = madd(qv, load4(r, d, half), a0);
    a1 = madd(qv, load4(r + rowBytes, d, half), a1);
    a2 = madd(qv, load4(r + 2 * rowBytes, d, half), a2);
    a3 = madd(qv, load4(r + 3 * rowBytes, d, half), a3);
    b0 = madd(qw, load4(r, d + 4, half), b0);
    b1 = madd(qw, load4(r + rowBytes, d + 4, half), b1);
    b2 = madd(qw, load4(r + 2 * rowBytes, d + 4, half), b2);
    b3 = madd(qw, load4(r + 3 * rowBytes, d + 4, half), b3);
  }
  for (; d + 4 <= n; d += 4) {
    const qv = v128.load(q + (<usize>d << 2));
    a0 = madd(qv, load4(r, d, half), a0);
    a1 = madd(qv, load4(r + rowBytes, d, half), a1);
    a2 = madd(qv, load4(r + 2 * rowBytes, d, half), a2);
    a3 = madd(qv, load4(r + 3 * rowBytes, d, half), a3);
  }
  a0 = f32x4.add(a0, b0);
  a1 = f32x4.add(a1, b1);
  a2 = f32x4.add(a2, b2);
  a3 = f32x4.add(a3, b3);
  // [a0, a1, a2, a3] lane sums by a 4 × 4 transpose
  const t0 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const t1 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  let s = f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  for (; d < n; d++) {
    const qd = load<f32>(q + (<usize>d << 2));
    s = f32x4.replace_lane(s, 0, f32x4.extract_lane(s, 0) + qd * load1(r, d, half));
    s = f32x4.replace_lane(s, 1, f32x4.extract_lane(s, 1) + qd * load1(r + rowBytes, d, half));
    s = f32x4.replace_lane(s, 2, f32x4.extract_lane(s, 2) + qd * load1(r + 2 * rowBytes, d, half));
    s = f32x4.replace_lane(s, 3, f32x4.extract_lane(s, 3) + qd * load1(r + 3 * rowBytes, d, half));
  }
  return s;
}

// @ts-ignore: decorator
@inline function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/**
 * One KV block (positions lo .. hi of the block whose keys start at kb, values at vb) for one
 * query q: its scores, then the running maximum and sum (ml: m, l) and the weighted sum o (headDim
 * floats) moved on past the block. e: 16 floats of scratch (the block's weights).
 */
// @ts-ignore: decorator
@inline function attendBlock(q: usize, kb: usize, vb: usize, o: usize, e: usize, ml: usize, lo: i32, hi: i32, headDim: i32, rowBytes: usize, scale: f32, softcap: f32, half: bool): void {
  const lanes = i32x4(0, 1, 2, 3);
  const m = load<f32>(ml);
  // the scores of every group of four holding a live position; the others, and dead lanes, -∞
  let mx = f32x4.splat(-Infinity);
  for (let g = 0; g < 16; g += 4) {
    let s = f32x4.splat(-Infinity);
    if (g <= hi && g + 3 >= lo) {
      s = f32x4.mul(dot4(q, kb + <usize>g * rowBytes, rowBytes, headDim, half), f32x4.splat(scale));
      if (softcap > 0) s = capped(s, softcap);
      const at = i32x4.add(lanes, i32x4.splat(g));
      s = v128.bitselect(s, f32x4.splat(-Infinity), v128.and(i32x4.ge_s(at, i32x4.splat(lo)), i32x4.le_s(at, i32x4.splat(hi))));
    }
    v128.store(e + (<usize>g << 2), s);
    mx = f32x4.max(mx, s);
  }
  const mNew = max(m, hmax(mx));
  const alpha = f32x4.extract_lane(expNeg(f32x4.splat(m - mNew)), 0); // 0 at the first block
  let sum = f32x4.splat(0);
  for (let g = 0; g < 16; g += 4) {
    const w = expNeg(f32x4.sub(v128.load(e + (<usize>g << 2)), f32x4.splat(mNew)));
    v128.store(e + (<usize>g << 2), w);
    sum = f32x4.add(sum, w);
  }
  store<f32>(ml + 4, load<f32>(ml + 4) * alpha + hsum(sum));
  store<f32>(ml, mNew);
  // o = o × alpha + Σ weight × value, 32 elements (eight vectors) at a time, then 4, then 1
  const a = f32x4.splat(alpha);
  let d = 0;
  for (; d + 32 <= headDim; d += 32) {
    const od = o + (<usize>d << 2);
    let o0 = f32x4.mul(v128.load(od), a), o1 = f32x4.mul(v128.load(od, 16), a), o2 = f32x4.mul(v128.load(od, 32), a), o3 = f32x4.mul(v128.load(od, 48), a);
    let o4 = f32x4.mul(v128.load(od, 64), a), o5 = f32x4.mul(v128.load(od, 80), a), o6 = f32x4.mul(v128.load(od, 96), a), o7 = f32x4.mul(v128.load(od, 112), a);
    for (let i = lo; i <= hi; i++) {
      const w = f32x4.splat(load<f32>(e + (<usize>i << 2)));
      const r = vb + <usize>i * rowBytes;
      o0 = madd(w, load4(r, d, half), o0);
      o1 = madd(w, load4(r, d + 4, half), o1);
      o2 = madd(w, load4(r, d + 8, half), o2);
      o3 = madd(w, load4(r, d + 12, half), o3);
      o4 = madd(w, load4(r, d + 16, half), o4);
      o5 = madd(w, load4(r, d + 20, half), o5);
      o6 = madd(w, load4(r, d + 24, half), o6);
      o7 = madd(w, load4(r, d + 28, half), o7);
    }
    v128.store(od, o0);
    v128.store(od, o1, 16);
    v128.store(od, o2, 32);
    v128.store(od, o3, 48);
    v128.store(od, o4, 64);
    v128.store(od, o5, 80);
    v128.store(od, o6, 96);
    v128.store(od, o7, 112);
  }
  for (; d + 4 <= headDim; d += 4) {
    const od = o + (<usize>d << 2);
    let acc = f32x4.mul(v128.load(od), a);
    for (let i = lo; i <= hi; i++) acc = madd(f32x4.splat(load<f32>(e + (<usize>i << 2))), load4(vb + <usize>i * rowBytes, d, half), acc);
    v128.store(od, acc);
  }
  for (; d < headDim; d++) {
    const od = o + (<usize>d << 2);
    let acc = load<f32>(od) * alpha;
    for (let i = lo; i <= hi; i++) acc += load<f32>(e + (<usize>i << 2)) * load1(vb + <usize>i * rowBytes, d, half);
    store<f32>(od, acc);
  }
}

/** The 16 float16 rows of headDim elements at src (rowBytes apart) as float32 rows at dst, headDim·4 bytes apart. */
// @ts-ignore: decorator
@inline function widenBlock(src: usize, dst: usize, headDim: i32, rowBytes: usize): void {
  for (let i = 0; i < 16; i++) {
    const s = src + <usize>i * rowBytes, t = dst + (<usize>(i * headDim) << 2);
    let d = 0;
    for (; d + 4 <= headDim; d += 4) v128.store(t + (<usize>d << 2), f16x4(v128.load16x4_u(s + (<usize>d << 1))));
    for (; d < headDim; d++) store<f32>(t + (<usize>d << 2), f16(s + (<usize>d << 1)));
  }
}

/**
 * o = attention over positions first..p for `span` query heads that share one kv head (q and o:
 * the first head's, heads headDim floats apart). The heads walk the blocks together, so a
 * block's keys and values are read from memory once and stay in L1 for the others, while each
 * head's arithmetic is exactly what it would be alone (its m, l in ml, two floats per head).
 */
// @ts-ignore: decorator
@inline function attendHeads(q: usize, kc: usize, vc: usize, table: usize, o: usize, e: usize, ml: usize, span: i32, p: i32, first: i32, headDim: i32, rowBytes: usize, scale: f32, softcap: f32, half: bool): void {
  const headBytes = <usize>headDim << 2;
  for (let j = 0; j < span; j++) {
    const oj = o + <usize>j * headBytes;
    for (let d = 0; d < headDim; d++) store<f32>(oj + (<usize>d << 2), 0);
    store<f32>(ml + (<usize>j << 3), -Infinity);
    store<f32>(ml + (<usize>j << 3) + 4, 0);
  }
  for (let b = first >> BLOCK_SHIFT; b <= p >> BLOCK_SHIFT; b++) {
    const base = b << BLOCK_SHIFT;
    const lo = max(first, base) - base;
    const hi = min(p, base + 15) - base;
    const row = (<usize>load<i32>(table + (<usize>b << 2))) << BLOCK_SHIFT;
    const kb = kc + row * rowBytes;
    const vb = vc + row * rowBytes;
    if (half && headDim <= TILE_DIM) {
      // float16 widened once per block for all the unit's heads (exactly: the same floats as widening each load)
      const vt = TILE + (<usize>headBytes << BLOCK_SHIFT);
      widenBlock(kb, TILE, headDim, rowBytes);
      widenBlock(vb, vt, headDim, rowBytes);
      for (let j = 0; j < span; j++) attendBlock(q + <usize>j * headBytes, TILE, vt, o + <usize>j * headBytes, e, ml + (<usize>j << 3), lo, hi, headDim, headBytes, scale, softcap, false);
    } else {
      for (let j = 0; j < span; j++) attendBlock(q + <usize>j * headBytes, kb, vb, o + <usize>j * headBytes, e, ml + (<usize>j << 3), lo, hi, headDim, rowBytes, scale, softcap, half);
    }
  }
  for (let j = 0; j < span; j++) {
    const oj = o + <usize>j * headBytes;
    const l = load<f32>(ml + (<usize>j << 3) + 4);
    const inv = f32x4.splat(1 / l);
    let d = 0;
    for (; d + 4 <= headDim; d += 4) v128.store(oj + (<usize>d << 2), f32x4.mul(v128.load(oj + (<usize>d << 2)), inv));
    for (; d < headDim; d++) store<f32>(oj + (<usize>d << 2), load<f32>(oj + (<usize>d << 2)) / l);
  }
}

// @ts-ignore: decorator
@inline function attendUnits(job: usize, u0: i32, u1: i32, half: bool): void {
  const q = <usize>load<i32>(job + (Q << 2));
  const kc = <usize>load<i32>(job + (KC << 2));
  const vc = <usize>load<i32>(job + (VC << 2));
  const out = <usize>load<i32>(job + (OUT << 2));
  const scratch = <usize>load<i32>(job + (SCRATCH << 2));
  const nHeads = load<i32>(job + (HEADS << 2));
  const nKvHeads = load<i32>(job + (KV_HEADS << 2));
  const headDim = load<i32>(job + (HEAD_DIM << 2));
  const window = load<i32>(job + (WINDOW << 2));
  const scale = load<f32>(job + (SCALE << 2));
  const softcap = load<f32>(job + (SOFTCAP << 2));
  const span = load<i32>(job + (SPAN << 2));
  const qDim = nHeads * headDim;
  const group = nHeads / nKvHeads;
  const perRow = nHeads / span;
  const es: usize = half ? 1 : 2; // log2 of the element size
  const rowBytes = <usize>(nKvHeads * headDim) << es;
  const rows = job + (JOB_WORDS << 2);
  for (let u = u0; u < u1; u++) {
    const r = u / perRow;
    const h = (u % perRow) * span;
    const p = load<i32>(rows + (<usize>r << 3));
    const table = <usize>load<i32>(rows + (<usize>r << 3) + 4);
    const kvo = <usize>((h / group) * headDim) << es;
    const at = <usize>(r * qDim + h * headDim) << 2;
    const e = scratch + (<usize>(r * nHeads + h) << 7);
    attendHeads(q + at, kc + kvo, vc + kvo, table, out + at, e, e + 64, span, p, max(0, p - window + 1), headDim, rowBytes, scale, softcap, half);
  }
}

/**
 * Units u0 .. u1 - 1 of the job at `job` (unit u: query row u / (nHeads / span), its heads
 * span·(u mod (nHeads / span)) and the span - 1 after them, all of one kv head). The job's header
 * (JOB_WORDS words): q and out, [rows × nHeads·headDim] float32; kc, vc, one layer's cache;
 * scratch, 32 floats per row and head; nHeads, nKvHeads, headDim; window (query at p sees
 * positions max(0, p - window + 1) .. p); scale and softcap (float32); half (the cache is
 * float16); span (a divisor of nHeads / nKvHeads). Then per row: its position and the address of
 * its sequence's block table (i32s covering 0 .. p, written). The unused parameters give the
 * thread pool's kernel signature (eight arguments, rows, r0, r1).
 */
export function attention(job: usize, _1: i32, _2: i32, _3: i32, _4: i32, _5: i32, _6: i32, _7: i32, _units: i32, u0: i32, u1: i32): void {
  if (load<i32>(job + (HALF << 2))) attendUnits(job, u0, u1, true);
  else attendUnits(job, u0, u1, false);
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
