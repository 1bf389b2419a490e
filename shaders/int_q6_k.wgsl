// Integer arithmetic of Q6_KW weights (dequant_q6_kw.wgsl) with int8 inputs from quantize.wgsl's
// quantize8 (as for Q8_0, int_q8_0.wgsl), for matvec_int.wgsl on CPU-backed adapters whose WGSL
// has dot4I8Packed: four weights' q (0..63, positive int8) at a time, the offset of 32 taken out
// through each half block's Σ xi, computed once per block.

/** A block of inputs: 32 int8 in 8 words, the scale, and Σ xi of its halves (weights 0..15, 16..31). */
struct XIn { a: vec4u, b: vec4u, s: f32, sums: vec2i }

fn x_in(o: u32) -> XIn {
  let a = vec4u(xq[o], xq[o + 1u], xq[o + 2u], xq[o + 3u]);
  let b = vec4u(xq[o + 4u], xq[o + 5u], xq[o + 6u], xq[o + 7u]);
  let one = 0x01010101u;
  let s0 = dot4I8Packed(one, a.x) + dot4I8Packed(one, a.y) + dot4I8Packed(one, a.z) + dot4I8Packed(one, a.w);
  let s1 = dot4I8Packed(one, b.x) + dot4I8Packed(one, b.y) + dot4I8Packed(one, b.z) + dot4I8Packed(one, b.w);
  return XIn(a, b, bitcast<f32>(xq[o + 16u]), vec2i(s0, s1));
}

struct WInt { a: vec4u, b: vec4u, scales: vec2f }

fn w_int(row: u32, blk: u32, K: u32) -> WInt {
  let a = q6_kw_base(row, blk, K);
  let s = blk % 8u;
  return WInt(vec4u(q6_kw_word(a, s, 0u), q6_kw_word(a, s, 1u), q6_kw_word(a, s, 2u), q6_kw_word(a, s, 3u)),
              vec4u(q6_kw_word(a, s, 4u), q6_kw_word(a, s, 5u), q6_kw_word(a, s, 6u), q6_kw_word(a, s, 7u)), q6_kw_scales(a, s));
}

/** A block of weights times a block of inputs, in units of the inputs' scale. */
fn dot_int(w: WInt, x: XIn) -> f32 {
  let s0 = dot4I8Packed(w.a.x, x.a.x) + dot4I8Packed(w.a.y, x.a.y) + dot4I8Packed(w.a.z, x.a.z) + dot4I8Packed(w.a.w, x.a.w) - 32 * x.sums.x;
  let s1 = dot4I8Packed(w.b.x, x.b.x) + dot4I8Packed(w.b.y, x.b.y) + dot4I8Packed(w.b.z, x.b.z) + dot4I8Packed(w.b.w, x.b.w) - 32 * x.sums.y;
  return w.scales.x * f32(s0) + w.scales.y * f32(s1);
}
