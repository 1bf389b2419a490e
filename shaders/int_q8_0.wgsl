// Integer arithmetic of Q8_0W weights (dequant_q8_0w.wgsl) with int8 inputs from quantize.wgsl's
// quantize8, for matvec_int.wgsl on CPU-backed adapters (SwiftShader) whose WGSL has
// dot4I8Packed. Why: a float dot product costs ~5 SSE instructions per 8-bit weight there
// (sign-extend, convert, multiply, add); dot4I8Packed multiplies four int8 pairs at once:
// 0.23 → 0.56 GMAC/s on 576 x 3072.

/** A block of inputs: 32 int8 in 8 words, and the scale. */
struct XIn { a: vec4u, b: vec4u, s: f32 }

fn x_in(o: u32) -> XIn {
  return XIn(vec4u(xq[o], xq[o + 1u], xq[o + 2u], xq[o + 3u]), vec4u(xq[o + 4u], xq[o + 5u], xq[o + 6u], xq[o + 7u]), bitcast<f32>(xq[o + 16u]));
}

alias WInt = Q8Block;

fn w_int(row: u32, blk: u32, K: u32) -> WInt {
  return q8_block(row, blk, K);
}

/** A block of weights times a block of inputs, in units of the inputs' scale. */
fn dot_int(w: WInt, x: XIn) -> f32 {
  let s = dot4I8Packed(w.q0.x, x.a.x) + dot4I8Packed(w.q0.y, x.a.y) + dot4I8Packed(w.q0.z, x.a.z) + dot4I8Packed(w.q0.w, x.a.w) +
          dot4I8Packed(w.q1.x, x.b.x) + dot4I8Packed(w.q1.y, x.b.y) + dot4I8Packed(w.q1.z, x.b.z) + dot4I8Packed(w.q1.w, x.b.w);
  return w.d * f32(s);
}
