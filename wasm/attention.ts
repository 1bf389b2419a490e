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
// not fit the caches, and a unit of one head read them once per head), two heads at a time: the
// block's 16 scores (reduced by a transpose), a running maximum and sum, and the values' weighted
// sum rescaled when the maximum grows. So no score array as long as the context, and exp
// is a four-lane polynomial instead of a float64 call per score.
//
// The cache of a layer is blocks of 16 positions (KV_BLOCK_SIZE, src/engine/backend.ts), float32
// or float16 (`half`); a sequence's position p lives in block table[p / 16] at row p % 16. A block
// holds each kv head's 16 rows of headDim elements together, head after head: a unit then reads
// one contiguous run per block. With whole positions as rows (kvDim apart), a 1B model's rows sat
// 2 KB apart and a block's keys and values of one head fell into the same few L1 sets (attention
// at 1,024 positions 9.0 GMAC/s, against 13.6 with each head's rows together).
import { expNeg, f16, f16x4, hsum } from './simd';

// @ts-ignore: decorator
@inline const BLOCK_SHIFT = 4;

/**
 * This instance's tiles (TILE_BYTES from TILE, set by the host): a float16 cache's blocks of one
 * kv head widened to float32, keys then values (16 rows of up to TILE_DIM each), block b of a
 * sequence in tile b. Globals are per instance, and each thread has its own instance, so each
 * thread has its own tiles. A unit reading the blocks the thread's unit before read (a prompt's
 * next row: units run head-major) finds the first WIDENED of them widened already, so a block is
 * widened once per thread and call instead of once per row; blocks past the tiles, and any block
 * under a sliding window's start, go through the last tile each time.
 */
let TILE: usize = 0;
let TILE_BYTES: usize = 0;
let WIDENED: i32 = 0;
// @ts-ignore: decorator
@inline const TILE_DIM = 512;

/** What the look-ahead loads read (attendHeads), kept so that they are not dropped. */
let touched: u32 = 0;

export function setKvTile(tile: usize, bytes: usize): void {
  TILE = tile;
  TILE_BYTES = bytes;
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

/** Each vector's lane sum, (v.0 + v.2) + (v.1 + v.3), four vectors in one by a 4 × 4 transpose. */
// @ts-ignore: decorator
@inline function sums4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t0 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const t1 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
}

/** s + the products of q's and the four rows' elements past the last whole vector, one by one. */
// @ts-ignore: decorator
@inline function tail4(s: v128, q: usize, r: usize, rowBytes: usize, d: i32, n: i32, half: bool): v128 {
  for (; d < n; d++) {
    const qd = load<f32>(q + (<usize>d << 2));
    s = f32x4.replace_lane(s, 0, f32x4.extract_lane(s, 0) + qd * load1(r, d, half));
    s = f32x4.replace_lane(s, 1, f32x4.extract_lane(s, 1) + qd * load1(r + rowBytes, d, half));
    s = f32x4.replace_lane(s, 2, f32x4.extract_lane(s, 2) + qd * load1(r + 2 * rowBytes, d, half));
    s = f32x4.replace_lane(s, 3, f32x4.extract_lane(s, 3) + qd * load1(r + 3 * rowBytes, d, half));
  }
  return s;
}

// A score is always q · k computed one way, whichever kernel below computes it: one four-lane sum
// per (query, key) over the whole vectors in order, lane-summed by sums4, then the elements past
// them one by one. The kernels differ only in how many such sums they keep in flight: eight keys
// of one query, or four keys of two queries that share them (two heads of one kv head), loading
// each key once for both. So a head gets the same bits whichever head it is paired with, or none.
// Likewise a weighted sum's element is always o × alpha, then + weight × value position by
// position. The fast kernels read float32 rows through pointers moved along (constant offsets
// fold into the loads: the index arithmetic cost more instructions than the multiply-adds).

/** q · the eight float32 rows from r (rowBytes apart), n elements: raw scores to e, e + 16. */
// @ts-ignore: decorator
@inline function scores8(q: usize, r: usize, rowBytes: usize, n: i32, e: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  let k0 = r, k1 = r + rowBytes, k2 = r + 2 * rowBytes, k3 = r + 3 * rowBytes;
  let k4 = r + 4 * rowBytes, k5 = r + 5 * rowBytes, k6 = r + 6 * rowBytes, k7 = r + 7 * rowBytes;
  let x = q;
  const end = q + (<usize>(n >> 2) << 4);
  for (; x < end; x += 16) {
    const qv = v128.load(x);
    a0 = madd(qv, v128.load(k0), a0);
    a1 = madd(qv, v128.load(k1), a1);
    a2 = madd(qv, v128.load(k2), a2);
    a3 = madd(qv, v128.load(k3), a3);
    a4 = madd(qv, v128.load(k4), a4);
    a5 = madd(qv, v128.load(k5), a5);
    a6 = madd(qv, v128.load(k6), a6);
    a7 = madd(qv, v128.load(k7), a7);
    k0 += 16;
    k1 += 16;
    k2 += 16;
    k3 += 16;
    k4 += 16;
    k5 += 16;
    k6 += 16;
    k7 += 16;
  }
  const d = n & ~3;
  v128.store(e, tail4(sums4(a0, a1, a2, a3), q, r, rowBytes, d, n, false));
  v128.store(e, tail4(sums4(a4, a5, a6, a7), q, r + 4 * rowBytes, rowBytes, d, n, false), 16);
}

/** q0 · and q1 · the four float32 rows from r: raw scores to e0 and e1. */
// @ts-ignore: decorator
@inline function scores4x2(q0: usize, q1: usize, r: usize, rowBytes: usize, n: i32, e0: usize, e1: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  let k0 = r, k1 = r + rowBytes, k2 = r + 2 * rowBytes, k3 = r + 3 * rowBytes;
  let x = q0, y = q1;
  let qa: v128, qb: v128, k: v128;
  // sixteen elements a pass, written out so that the offsets are the loads' own, then four
  const end16 = q0 + (<usize>(n >> 4) << 6), end = q0 + (<usize>(n >> 2) << 4);
  for (; x < end16; x += 64) {
    qa = v128.load(x), qb = v128.load(y);
    k = v128.load(k0), a0 = madd(qa, k, a0), b0 = madd(qb, k, b0);
    k = v128.load(k1), a1 = madd(qa, k, a1), b1 = madd(qb, k, b1);
    k = v128.load(k2), a2 = madd(qa, k, a2), b2 = madd(qb, k, b2);
    k = v128.load(k3), a3 = madd(qa, k, a3), b3 = madd(qb, k, b3);
    qa = v128.load(x, 16), qb = v128.load(y, 16);
    k = v128.load(k0, 16), a0 = madd(qa, k, a0), b0 = madd(qb, k, b0);
    k = v128.load(k1, 16), a1 = madd(qa, k, a1), b1 = madd(qb, k, b1);
    k = v128.load(k2, 16), a2 = madd(qa, k, a2), b2 = madd(qb, k, b2);
    k = v128.load(k3, 16), a3 = madd(qa, k, a3), b3 = madd(qb, k, b3);
    qa = v128.load(x, 32), qb = v128.load(y, 32);
    k = v128.load(k0, 32), a0 = madd(qa, k, a0), b0 = madd(qb, k, b0);
    k = v128.load(k1, 32), a1 = madd(qa, k, a1), b1 = madd(qb, k, b1);
    k = v128.load(k2, 32), a2 = madd(qa, k, a2), b2 = madd(qb, k, b2);
    k = v128.load(k3, 32), a3 = madd(qa, k, a3), b3 = madd(qb, k, b3);
    qa = v128.load(x, 48), qb = v128.load(y, 48);
    k = v128.load(k0, 48), a0 = madd(qa, k, a0), b0 = madd(qb, k, b0);
    k = v128.load(k1, 48), a1 = madd(qa, k, a1), b1 = madd(qb, k, b1);
    k = v128.load(k2, 48), a2 = madd(qa, k, a2), b2 = madd(qb, k, b2);
    k = v128.load(k3, 48), a3 = madd(qa, k, a3), b3 = madd(qb, k, b3);
    y += 64;
    k0 += 64;
    k1 += 64;
    k2 += 64;
    k3 += 64;
  }
  for (; x < end; x += 16) {
    qa = v128.load(x), qb = v128.load(y);
    k = v128.load(k0), a0 = madd(qa, k, a0), b0 = madd(qb, k, b0);
    k = v128.load(k1), a1 = madd(qa, k, a1), b1 = madd(qb, k, b1);
    k = v128.load(k2), a2 = madd(qa, k, a2), b2 = madd(qb, k, b2);
    k = v128.load(k3), a3 = madd(qa, k, a3), b3 = madd(qb, k, b3);
    y += 16;
    k0 += 16;
    k1 += 16;
    k2 += 16;
    k3 += 16;
  }
  const d = n & ~3;
  v128.store(e0, tail4(sums4(a0, a1, a2, a3), q0, r, rowBytes, d, n, false));
  v128.store(e1, tail4(sums4(b0, b1, b2, b3), q1, r, rowBytes, d, n, false));
}

/** q · the four rows from r, float32 or float16 (half): raw scores to e. Any row layout; not fast. */
// @ts-ignore: decorator
@inline function scores4(q: usize, r: usize, rowBytes: usize, n: i32, half: bool, e: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let d = 0;
  for (; d + 4 <= n; d += 4) {
    const qv = v128.load(q + (<usize>d << 2));
    a0 = madd(qv, load4(r, d, half), a0);
    a1 = madd(qv, load4(r + rowBytes, d, half), a1);
    a2 = madd(qv, load4(r + 2 * rowBytes, d, half), a2);
    a3 = madd(qv, load4(r + 3 * rowBytes, d, half), a3);
  }
  v128.store(e, tail4(sums4(a0, a1, a2, a3), q, r, rowBytes, d, n, half));
}

// @ts-ignore: decorator
@inline function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/**
 * The block's raw scores at e (16 floats, positions lo .. hi live) become the softmax weights of
 * its live positions (0 elsewhere), scaled, soft-capped and against the running maximum, whose
 * sum they join (ml: m, l). Returns alpha, what the earlier weighted sum is to be multiplied by.
 */
// @ts-ignore: decorator
@inline function weigh(e: usize, ml: usize, lo: i32, hi: i32, scale: f32, softcap: f32): f32 {
  const lanes = i32x4(0, 1, 2, 3);
  const m = load<f32>(ml);
  let mx = f32x4.splat(-Infinity);
  for (let g = 0; g < 16; g += 4) {
    let s = f32x4.splat(-Infinity);
    if (g <= hi && g + 3 >= lo) {
      s = f32x4.mul(v128.load(e + (<usize>g << 2)), f32x4.splat(scale));
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
  return alpha;
}

/** o (headDim floats) = o × alpha + Σ weight × value over positions lo .. hi of the float32 values at vb. */
// @ts-ignore: decorator
@inline function accumulate(o: usize, e: usize, alpha: f32, vb: usize, lo: i32, hi: i32, headDim: i32, rowBytes: usize): void {
  const a = f32x4.splat(alpha);
  const wEnd = e + (<usize>(hi + 1) << 2);
  let d = 0;
  for (; d + 32 <= headDim; d += 32) {
    const od = o + (<usize>d << 2);
    let o0 = f32x4.mul(v128.load(od), a), o1 = f32x4.mul(v128.load(od, 16), a), o2 = f32x4.mul(v128.load(od, 32), a), o3 = f32x4.mul(v128.load(od, 48), a);
    let o4 = f32x4.mul(v128.load(od, 64), a), o5 = f32x4.mul(v128.load(od, 80), a), o6 = f32x4.mul(v128.load(od, 96), a), o7 = f32x4.mul(v128.load(od, 112), a);
    let r = vb + <usize>lo * rowBytes + (<usize>d << 2);
    for (let w = e + (<usize>lo << 2); w < wEnd; w += 4) {
      const wv = v128.load32_splat(w);
      o0 = madd(wv, v128.load(r), o0);
      o1 = madd(wv, v128.load(r, 16), o1);
      o2 = madd(wv, v128.load(r, 32), o2);
      o3 = madd(wv, v128.load(r, 48), o3);
      o4 = madd(wv, v128.load(r, 64), o4);
      o5 = madd(wv, v128.load(r, 80), o5);
      o6 = madd(wv, v128.load(r, 96), o6);
      o7 = madd(wv, v128.load(r, 112), o7);
      r += rowBytes;
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
  accumulateRest(o, e, alpha, vb, lo, hi, d, headDim, rowBytes, false);
}

/** accumulate's elements d .. headDim - 1 (float32 or float16 values), four at a time, then one by one. */
// @ts-ignore: decorator
@inline function accumulateRest(o: usize, e: usize, alpha: f32, vb: usize, lo: i32, hi: i32, d: i32, headDim: i32, rowBytes: usize, half: bool): void {
  for (; d + 4 <= headDim; d += 4) {
    const od = o + (<usize>d << 2);
    let acc = f32x4.mul(v128.load(od), f32x4.splat(alpha));
    for (let i = lo; i <= hi; i++) acc = madd(v128.load32_splat(e + (<usize>i << 2)), load4(vb + <usize>i * rowBytes, d, half), acc);
    v128.store(od, acc);
  }
  for (; d < headDim; d++) {
    const od = o + (<usize>d << 2);
    let acc = load<f32>(od) * alpha;
    for (let i = lo; i <= hi; i++) acc += load<f32>(e + (<usize>i << 2)) * load1(vb + <usize>i * rowBytes, d, half);
    store<f32>(od, acc);
  }
}

/**
 * accumulate for two queries' weights (e, and e + 64 for the second) and sums (o0, o1) over the
 * same values, each value loaded once for both.
 */
// @ts-ignore: decorator
@inline function accumulate2(o0: usize, o1: usize, e: usize, alpha0: f32, alpha1: f32, vb: usize, lo: i32, hi: i32, headDim: i32, rowBytes: usize): void {
  const a = f32x4.splat(alpha0), b = f32x4.splat(alpha1);
  const wEnd = e + (<usize>(hi + 1) << 2);
  let d = 0;
  for (; d + 16 <= headDim; d += 16) {
    const od = o0 + (<usize>d << 2), pd = o1 + (<usize>d << 2);
    let x0 = f32x4.mul(v128.load(od), a), x1 = f32x4.mul(v128.load(od, 16), a), x2 = f32x4.mul(v128.load(od, 32), a), x3 = f32x4.mul(v128.load(od, 48), a);
    let y0 = f32x4.mul(v128.load(pd), b), y1 = f32x4.mul(v128.load(pd, 16), b), y2 = f32x4.mul(v128.load(pd, 32), b), y3 = f32x4.mul(v128.load(pd, 48), b);
    let r = vb + <usize>lo * rowBytes + (<usize>d << 2);
    let w = e + 64 + (<usize>lo << 2);
    for (let u = e + (<usize>lo << 2); u < wEnd; u += 4) {
      const uv = v128.load32_splat(u), wv = v128.load32_splat(w);
      let v = v128.load(r);
      x0 = madd(uv, v, x0);
      y0 = madd(wv, v, y0);
      v = v128.load(r, 16);
      x1 = madd(uv, v, x1);
      y1 = madd(wv, v, y1);
      v = v128.load(r, 32);
      x2 = madd(uv, v, x2);
      y2 = madd(wv, v, y2);
      v = v128.load(r, 48);
      x3 = madd(uv, v, x3);
      y3 = madd(wv, v, y3);
      r += rowBytes;
      w += 4;
    }
    v128.store(od, x0);
    v128.store(od, x1, 16);
    v128.store(od, x2, 32);
    v128.store(od, x3, 48);
    v128.store(pd, y0);
    v128.store(pd, y1, 16);
    v128.store(pd, y2, 32);
    v128.store(pd, y3, 48);
  }
  accumulateRest(o0, e, alpha0, vb, lo, hi, d, headDim, rowBytes, false);
  accumulateRest(o1, e + 64, alpha1, vb, lo, hi, d, headDim, rowBytes, false);
}

/**
 * One KV block (positions lo .. hi of the block whose keys start at kb, values at vb, float32
 * rows) for one query q: its scores, then the running maximum and sum (ml: m, l) and the weighted
 * sum o (headDim floats) moved on past the block. e: 16 floats of scratch (the block's weights).
 */
// @ts-ignore: decorator
@inline function attendBlock(q: usize, kb: usize, vb: usize, o: usize, e: usize, ml: usize, lo: i32, hi: i32, headDim: i32, rowBytes: usize, scale: f32, softcap: f32): void {
  for (let g = 0; g < 16; g += 8) if (g <= hi && g + 7 >= lo) scores8(q, kb + <usize>g * rowBytes, rowBytes, headDim, e + (<usize>g << 2));
  accumulate(o, e, weigh(e, ml, lo, hi, scale, softcap), vb, lo, hi, headDim, rowBytes);
}

/**
 * attendBlock for two queries of one kv head (q0, q1; their o and ml; their weights at e and
 * e + 64), each key and value loaded once for both.
 */
// @ts-ignore: decorator
@inline function attendBlock2(q0: usize, q1: usize, kb: usize, vb: usize, o0: usize, o1: usize, e: usize, ml0: usize, ml1: usize, lo: i32, hi: i32, headDim: i32, rowBytes: usize, scale: f32, softcap: f32): void {
  for (let g = 0; g < 16; g += 4) {
    if (g <= hi && g + 3 >= lo) scores4x2(q0, q1, kb + <usize>g * rowBytes, rowBytes, headDim, e + (<usize>g << 2), e + 64 + (<usize>g << 2));
  }
  const alpha0 = weigh(e, ml0, lo, hi, scale, softcap);
  const alpha1 = weigh(e + 64, ml1, lo, hi, scale, softcap);
  accumulate2(o0, o1, e, alpha0, alpha1, vb, lo, hi, headDim, rowBytes);
}

/** attendBlock for float16 rows read in place (heads wider than a thread's tile): the same numbers, slowly. */
// @ts-ignore: decorator
@inline function attendBlockHalf(q: usize, kb: usize, vb: usize, o: usize, e: usize, ml: usize, lo: i32, hi: i32, headDim: i32, rowBytes: usize, scale: f32, softcap: f32): void {
  for (let g = 0; g < 16; g += 4) if (g <= hi && g + 3 >= lo) scores4(q, kb + <usize>g * rowBytes, rowBytes, headDim, true, e + (<usize>g << 2));
  accumulateRest(o, e, weigh(e, ml, lo, hi, scale, softcap), vb, lo, hi, 0, headDim, rowBytes, true);
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

/** One block for the unit's heads (attendHeads), two at a time; float32 rows. */
// @ts-ignore: decorator
@inline function blockHeads(q: usize, kb: usize, vb: usize, o: usize, s: usize, ml: usize, span: i32, lo: i32, hi: i32, headDim: i32, rowBytes: usize, scale: f32, softcap: f32): void {
  const headBytes = <usize>headDim << 2;
  let j = 0;
  for (; j + 2 <= span; j += 2) {
    const q0 = q + <usize>j * headBytes, o0 = o + <usize>j * headBytes;
    const e0 = s + (<usize>j << 6), m0 = ml + (<usize>j << 3);
    attendBlock2(q0, q0 + headBytes, kb, vb, o0, o0 + headBytes, e0, m0, m0 + 8, lo, hi, headDim, rowBytes, scale, softcap);
  }
  if (j < span) attendBlock(q + <usize>j * headBytes, kb, vb, o + <usize>j * headBytes, s + (<usize>j << 6), ml + (<usize>j << 3), lo, hi, headDim, rowBytes, scale, softcap);
}

/**
 * o = attention over positions first..p for `span` query heads that share one kv head (q and o:
 * the first head's, heads headDim floats apart), two heads at a time. The heads walk the blocks
 * together, so a block's keys and values are read from memory once and stay in L1 for the others,
 * while each head's arithmetic is exactly what it would be alone. s: the unit's scratch, 72 bytes
 * per head: head j's block weights at s + 64j, its m and l at s + 64·span + 8j. cold: the unit
 * before read other blocks, so they are not in the caches (each block's successor is loaded
 * ahead) nor widened in the tiles.
 */
// @ts-ignore: decorator
@inline function attendHeads(q: usize, kc: usize, vc: usize, table: usize, o: usize, s: usize, span: i32, p: i32, first: i32, headDim: i32, blockBytes: usize, scale: f32, softcap: f32, half: bool, cold: bool): void {
  const rowBytes = <usize>headDim << (half ? 1 : 2);
  const headBytes = <usize>headDim << 2;
  const ml = s + (<usize>span << 6);
  if (cold) WIDENED = 0;
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
    const block = <usize>load<i32>(table + (<usize>b << 2)) * blockBytes;
    const kb = kc + block, vb = vc + block;
    if (cold && b < p >> BLOCK_SHIFT) {
      // the next block's rows, a word per cache line, loaded now so that they arrive while this
      // block is computed: wasm has no prefetch, and a sequence's blocks are scattered (a batch's
      // decode rows from memory 1.27x; on rows whose blocks the unit before read, 0.93x)
      const next = <usize>load<i32>(table + (<usize>(b + 1) << 2)) * blockBytes;
      const runBytes = rowBytes << BLOCK_SHIFT;
      let t: u32 = 0;
      for (let o: usize = 0; o < runBytes; o += 64) t ^= load<u32>(kc + next + o) ^ load<u32>(vc + next + o);
      touched ^= t;
    }
    if (half && headDim <= TILE_DIM) {
      // float16 widened once per block for all the unit's heads (exactly: the same floats as
      // widening each load), and kept for the thread's next unit if it reads the same blocks
      const tileBytes = <usize>headBytes << (BLOCK_SHIFT + 1);
      const tiles = <i32>(TILE_BYTES / tileBytes) - 1;
      const kt = TILE + <usize>min(b, tiles) * tileBytes, vt = kt + (<usize>headBytes << BLOCK_SHIFT);
      if (b >= WIDENED || b >= tiles) {
        widenBlock(kb, kt, headDim, rowBytes);
        widenBlock(vb, vt, headDim, rowBytes);
        if (b == WIDENED && b < tiles) WIDENED++;
      }
      blockHeads(q, kt, vt, o, s, ml, span, lo, hi, headDim, headBytes, scale, softcap);
    } else if (half) {
      for (let j = 0; j < span; j++) attendBlockHalf(q + <usize>j * headBytes, kb, vb, o + <usize>j * headBytes, s + (<usize>j << 6), ml + (<usize>j << 3), lo, hi, headDim, rowBytes, scale, softcap);
    } else {
      blockHeads(q, kb, vb, o, s, ml, span, lo, hi, headDim, rowBytes, scale, softcap);
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
@inline function attendUnits(job: usize, units: i32, u0: i32, u1: i32, half: bool): void {
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
  const nRows = units / perRow;
  const es: usize = half ? 1 : 2; // log2 of the element size
  const blockBytes = <usize>(nKvHeads * headDim) << (es + BLOCK_SHIFT);
  const rows = job + (JOB_WORDS << 2);
  for (let u = u0; u < u1; u++) {
    // head-major: a thread's consecutive units read one kv head's keys and values, which then
    // stay in L2 (a 1B model's layer holds 4 MB of them at 1,024 positions)
    const r = u % nRows;
    const h = (u / nRows) * span;
    const p = load<i32>(rows + (<usize>r << 3));
    const table = <usize>load<i32>(rows + (<usize>r << 3) + 4);
    const kvo = <usize>((h / group) * headDim) << (es + BLOCK_SHIFT);
    const at = <usize>(r * qDim + h * headDim) << 2;
    // cold: the thread's unit before this one read other blocks (another head, or another sequence)
    const cold = u == u0 || r == 0 || load<i32>(rows + (<usize>(r - 1) << 3) + 4) != <i32>table;
    attendHeads(q + at, kc + kvo, vc + kvo, table, out + at, scratch + (<usize>(r * nHeads + h) << 7), span, p, max(0, p - window + 1), headDim, blockBytes, scale, softcap, half, cold);
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
export function attention(job: usize, _1: i32, _2: i32, _3: i32, _4: i32, _5: i32, _6: i32, _7: i32, units: i32, u0: i32, u1: i32): void {
  if (load<i32>(job + (HALF << 2))) attendUnits(job, units, u0, u1, true);
  else attendUnits(job, units, u0, u1, false);
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

/**
 * Stores rows r0 .. r1 - 1 of a chunk's keys and values (rows of nKvHeads × headDim float32 at k
 * and v) into the layer's caches kc and vc, row t at slot slots[t] (block × 16 + row in it): each
 * head's headDim elements in its part of the block, copied, or as float16 (`half`). The copy is a
 * vector loop: memory.copy per head (256 bytes) was a runtime call, 0.4 µs each, ~1.5 % of a
 * 135M prompt.
 */
export function storeKvRows(k: usize, v: usize, kc: usize, vc: usize, slots: usize, nKvHeads: i32, headDim: i32, half: i32, rows: i32, r0: i32, r1: i32): void {
  for (let t = r0; t < r1; t++) {
    storeRow(k, t, kc, slots, nKvHeads, headDim, half);
    storeRow(v, t, vc, slots, nKvHeads, headDim, half);
  }
}

// @ts-ignore: decorator
@inline function storeRow(src: usize, t: i32, cache: usize, slots: usize, nKvHeads: i32, headDim: i32, half: i32): void {
  const es = half ? 1 : 2;
  const blockBytes = <usize>(nKvHeads * headDim) << (es + BLOCK_SHIFT);
  const slot = load<i32>(slots + (<usize>t << 2));
  const block = cache + <usize>(slot >> BLOCK_SHIFT) * blockBytes, i = slot & ((1 << BLOCK_SHIFT) - 1);
  const row = src + (<usize>(t * nKvHeads * headDim) << 2);
  for (let h = 0; h < nKvHeads; h++) {
    const from = row + (<usize>(h * headDim) << 2);
    const to = block + (<usize>(((h << BLOCK_SHIFT) + i) * headDim) << es);
    if (!half) {
      let d = 0;
      for (; d + 4 <= headDim; d += 4) v128.store(to + (<usize>d << 2), v128.load(from + (<usize>d << 2)));
      for (; d < headDim; d++) store<f32>(to + (<usize>d << 2), load<f32>(from + (<usize>d << 2)));
    } else for (let d = 0; d < headDim; d++) store<u16>(to + (<usize>d << 1), <u16>toHalf(load<f32>(from + (<usize>d << 2))));
  }
}
