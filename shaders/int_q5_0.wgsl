// Integer arithmetic of Q5_0W weights (dequant_q5_0w.wgsl) with inputs from quantize.wgsl's
// quantize (int_inputs.wgsl), for matvec_int.wgsl on CPU-backed adapters (SwiftShader): as for
// Q4_0 (int_q4_0.wgsl explains the packing), one 32-bit multiply does two weights, whose fifth
// bits (qh) are put on top of their nibbles first. A pair's sum reaches 2 * 31 * 256, so two
// products, not four, are summed before each halfword is taken (4 terms stay within ±32767).

struct WInt { a: vec4u, b: vec4u, c: vec4u, d: vec4u, scale: f32 }

/** A block's weights as masked pairs (q in 0..31, the offset of 16 is taken out later). */
fn w_int(row: u32, blk: u32, K: u32) -> WInt {
  let o = (row * (K / 32u) + blk) * 6u;
  let q = vec4u(w[o + 2u], w[o + 3u], w[o + 4u], w[o + 5u]);
  let m = vec4u(0x000F000Fu);
  // fifth bits of quant word i: bits 4i..4i+3 (weights 4i..4i+3) and 16 + 4i.. (weights 16 + 4i..)
  let lo = vec4u(w[o + 1u]) >> vec4u(0u, 4u, 8u, 12u);
  let hi = vec4u(w[o + 1u]) >> vec4u(16u, 20u, 24u, 28u);
  let one = vec4u(1u);
  let two = vec4u(2u);
  let four = vec4u(4u);
  let eight = vec4u(8u);
  // pairs (4i, 4i + 2) and (4i + 1, 4i + 3): the first weight's bit to bit 4, the second's to bit 20
  return WInt((q & m) | ((lo & one) << vec4u(4u)) | ((lo & four) << vec4u(18u)),
              ((q >> vec4u(8u)) & m) | ((lo & two) << vec4u(3u)) | ((lo & eight) << vec4u(17u)),
              ((q >> vec4u(4u)) & m) | ((hi & one) << vec4u(4u)) | ((hi & four) << vec4u(18u)),
              ((q >> vec4u(12u)) & m) | ((hi & two) << vec4u(3u)) | ((hi & eight) << vec4u(17u)),
              bitcast<f32>(w[o]));
}

/** Σ q * xi over 4 weights: two masked pairs times two packed input pairs. */
fn half_sum(a: u32, b: u32, xa: u32, xb: u32) -> i32 {
  return bitcast<i32>(a * xa + b * xb + 0x8000u) >> 16u;
}

fn sdot(a: u32, b: u32, c: u32, d: u32, x: vec4u) -> i32 {
  return half_sum(a, b, x.x, x.y) + half_sum(c, d, x.z, x.w);
}

/** A block of weights times a block of inputs, in units of the inputs' scale. */
fn dot_int(w: WInt, x: XIn) -> f32 {
  let s = sdot(w.a.x, w.b.x, w.c.x, w.d.x, x.p[0]) + sdot(w.a.y, w.b.y, w.c.y, w.d.y, x.p[1]) +
          sdot(w.a.z, w.b.z, w.c.z, w.d.z, x.p[2]) + sdot(w.a.w, w.b.w, w.c.w, w.d.w, x.p[3]);
  return w.scale * f32(s - 2 * x.sum8);
}
