// Integer arithmetic of Q4_KW weights (dequant_q4_kw.wgsl) with inputs from quantize.wgsl's
// quantize (int_inputs.wgsl), for matvec_int.wgsl on CPU-backed adapters (SwiftShader): Q4_0's
// masked pairs (int_q4_0.wgsl explains them) on a sub-block of 32 nibbles, its weights 0..15 in
// quant words 0..3 and 16..31 in words 4..7; w = scale * q - min, so Σ w xi = scale Σ q xi -
// min Σ xi, Σ xi being the inputs' sum8 / 8.

struct WInt { a: vec4u, b: vec4u, c: vec4u, d: vec4u, scale: f32, min: f32 }

fn w_int(row: u32, blk: u32, K: u32) -> WInt {
  let o = (row * (K / 256u) + blk / 8u) * 48u;
  let s = blk % 8u;
  let q = o + 16u + 8u * (s / 2u);
  let sh = vec4u(4u * (s & 1u));
  let q0 = vec4u(w[q], w[q + 1u], w[q + 2u], w[q + 3u]) >> sh;
  let q1 = vec4u(w[q + 4u], w[q + 5u], w[q + 6u], w[q + 7u]) >> sh;
  let m = vec4u(0x000F000Fu);
  return WInt(q0 & m, (q0 >> vec4u(8u)) & m, q1 & m, (q1 >> vec4u(8u)) & m, bitcast<f32>(w[o + s]), bitcast<f32>(w[o + 8u + s]));
}

/** Σ q * xi over 8 weights: four masked pairs times four packed input pairs (8 terms of 15 * 256 fit a halfword). */
fn sdot(a: u32, b: u32, c: u32, d: u32, x: vec4u) -> i32 {
  let s = a * x.x + b * x.y + c * x.z + d * x.w;
  return bitcast<i32>(s + 0x8000u) >> 16u;
}

/** A block of weights times a block of inputs, in units of the inputs' scale. */
fn dot_int(w: WInt, x: XIn) -> f32 {
  let s = sdot(w.a.x, w.b.x, w.c.x, w.d.x, x.p[0]) + sdot(w.a.y, w.b.y, w.c.y, w.d.y, x.p[1]) +
          sdot(w.a.z, w.b.z, w.c.z, w.d.z, x.p[2]) + sdot(w.a.w, w.b.w, w.c.w, w.d.w, x.p[3]);
  return w.scale * f32(s) - w.min * (f32(x.sum8) * 0.125);
}
