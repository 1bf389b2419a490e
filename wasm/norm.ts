// The row-wise steps between a layer's matrices: the residual add, RMSNorm, the per-head q/k
// norms and RoPE, with the thread pool's kernel signature so the threads share them (run on the
// caller alone they were ~16 % of a two-thread prompt, the other thread waiting). Each is the CPU
// reference's own arithmetic (src/engine/cpu/forward.ts: rmsnorm, rotate): float64 sums in the
// same order, each float32 product exact in float64, rounded to float32 where the reference
// stores; so the same bits, which lets the tests compare tokens with the reference exactly.

// @ts-ignore: decorator
@inline function epsOf(lo: i32, hi: i32): f64 {
  return reinterpret<f64>((<i64>hi << 32) | (<i64>lo & 0xffffffff));
}

/** out [n] = x · w / rms(x) at float64, as the reference's rmsnorm (out may be x). */
// @ts-ignore: decorator
@inline function rmsnorm(x: usize, w: usize, out: usize, n: i32, eps: f64): void {
  let ss: f64 = 0;
  for (let j: usize = 0; j < <usize>n; j++) {
    const v = <f64>load<f32>(x + (j << 2));
    ss += v * v;
  }
  const scale = 1.0 / Math.sqrt(ss / <f64>n + eps);
  for (let j: usize = 0; j < <usize>n; j++) store<f32>(out + (j << 2), <f32>(<f64>load<f32>(w + (j << 2)) * (scale * <f64>load<f32>(x + (j << 2)))));
}

/**
 * Rows r0 .. r1 - 1 of x [rows × n]: x += add where add is not 0 (a float32 add: what the
 * reference's float64 add rounds to), then out = rmsnorm(x) · w where w is not 0. The norm's
 * epsilon is a float64, its bits in epsLo and epsHi.
 */
export function rmsnormRows(x: usize, add: usize, w: usize, out: usize, n: i32, epsLo: i32, epsHi: i32, _7: i32, rows: i32, r0: i32, r1: i32): void {
  const eps = epsOf(epsLo, epsHi);
  for (let r = r0; r < r1; r++) {
    const at = <usize>r * <usize>n << 2;
    const xr = x + at;
    if (add) {
      const ar = add + at;
      let j: usize = 0;
      for (; j + 4 <= <usize>n; j += 4) v128.store(xr + (j << 2), f32x4.add(v128.load(xr + (j << 2)), v128.load(ar + (j << 2))));
      for (; j < <usize>n; j++) store<f32>(xr + (j << 2), load<f32>(xr + (j << 2)) + load<f32>(ar + (j << 2)));
    }
    if (w) rmsnorm(xr, w, out + at, n, eps);
  }
}

// A RoPE job's words (Kernels.rope writes them): the rows' queries and keys (float32, [rows ×
// heads × headDim] each), their angles (float64, [rows × ropeDim]: cos i at 2i, sin at 2i + 1:
// the reference's ropeAngles), the q and k norms' weights (0: none), then the shape.
// @ts-ignore: decorator
@inline const Q = 0, K = 1, ANGLES = 2, Q_NORM = 3, K_NORM = 4, N_HEADS = 5, N_KV_HEADS = 6, HEAD_DIM = 7, ROPE_DIM = 8, INTERLEAVED = 9, EPS_LO = 10, EPS_HI = 11;

// @ts-ignore: decorator
@inline function word(job: usize, i: i32): i32 {
  return load<i32>(job + (<usize>i << 2));
}

/** Rotates the first ropeDim dimensions of each of nHeads heads of the row at v by the angles at a, as the reference's rotate. */
// @ts-ignore: decorator
@inline function rotate(v: usize, nHeads: i32, headDim: i32, a: usize, ropeDim: i32, interleaved: bool): void {
  const half = ropeDim >> 1;
  for (let i = 0; i < half; i++) {
    const cos = load<f64>(a + (<usize>i << 4)), sin = load<f64>(a + (<usize>i << 4) + 8);
    for (let h = 0; h < nHeads; h++) {
      // interleaved: pairs (2i, 2i+1); neox: pairs (i, i + ropeDim/2)
      const ia = interleaved ? h * headDim + 2 * i : h * headDim + i;
      const pa = v + (<usize>ia << 2), pb = interleaved ? pa + 4 : pa + (<usize>half << 2);
      const v0 = <f64>load<f32>(pa), v1 = <f64>load<f32>(pb);
      store<f32>(pa, <f32>(v0 * cos - v1 * sin));
      store<f32>(pb, <f32>(v0 * sin + v1 * cos));
    }
  }
}

/** Rows r0 .. r1 - 1 of a RoPE job: each head's q and k norm where the model has them, then the rotation of q and k. */
export function ropeRows(job: usize, _1: i32, _2: i32, _3: i32, _4: i32, _5: i32, _6: i32, _7: i32, rows: i32, r0: i32, r1: i32): void {
  const nHeads = word(job, N_HEADS), nKvHeads = word(job, N_KV_HEADS), headDim = word(job, HEAD_DIM), ropeDim = word(job, ROPE_DIM);
  const qNorm = <usize>word(job, Q_NORM), kNorm = <usize>word(job, K_NORM), interleaved = word(job, INTERLEAVED) != 0;
  const eps = epsOf(word(job, EPS_LO), word(job, EPS_HI));
  for (let r = r0; r < r1; r++) {
    const q = <usize>word(job, Q) + (<usize>(r * nHeads * headDim) << 2);
    const k = <usize>word(job, K) + (<usize>(r * nKvHeads * headDim) << 2);
    const a = <usize>word(job, ANGLES) + (<usize>(r * ropeDim) << 3);
    if (qNorm) for (let h = 0; h < nHeads; h++) rmsnorm(q + (<usize>(h * headDim) << 2), qNorm, q + (<usize>(h * headDim) << 2), headDim, eps);
    if (kNorm) for (let h = 0; h < nKvHeads; h++) rmsnorm(k + (<usize>(h * headDim) << 2), kNorm, k + (<usize>(h * headDim) << 2), headDim, eps);
    rotate(q, nHeads, headDim, a, ropeDim, interleaved);
    rotate(k, nKvHeads, headDim, a, ropeDim, interleaved);
  }
}
