// Integer arithmetic of Q4_0W weights (dequant_q4_0w.wgsl) with inputs from quantize.wgsl's
// quantize, for matvec_int.wgsl on CPU-backed adapters (SwiftShader).
// Why integers: SwiftShader runs 4 invocations per SSE instruction, and a float dot product
// costs ~6 instructions per 4-bit weight (unpack, convert, offset, multiply, add). Here one 32-bit
// multiply does two weights: a quant word masked with 0x000F000F holds two weights qa + 65536 qb,
// and times a packed pair xb + 65536 xa its bits 16..31 hold qa * xa + qb * xb (the qa * xb below
// them stays under 2^15, the qb * xa above falls off the word). Four such products per quant word
// are summed before the halfword is taken: 8 terms of |q * xi| <= 15 * 256 stay within ±32767.
// On the 135M model's shapes: 0.9-1.0 GMAC/s where the float matvec_rows does 0.4.

/** A block of weights: its quant words split into their four masked pairs each, and its scale. */
struct WInt { a: vec4u, b: vec4u, c: vec4u, d: vec4u, scale: f32 }

fn w_int(row: u32, blk: u32, K: u32) -> WInt {
  let w = q4_block(row, blk, K);
  let m = vec4u(0x000F000Fu);
  return WInt(w.q & m, (w.q >> vec4u(8u)) & m, (w.q >> vec4u(4u)) & m, (w.q >> vec4u(12u)) & m, w.d);
}

/** Σ q * xi over 8 weights: a quant word's four masked pairs (q in 0..15: the offset of 8 is taken out later). */
fn sdot(a: u32, b: u32, c: u32, d: u32, x: vec4u) -> i32 {
  let s = a * x.x + b * x.y + c * x.z + d * x.w;
  return bitcast<i32>(s + 0x8000u) >> 16u; // the rounding constant absorbs the low halfword's sign
}

/** A block of weights times a block of inputs, in units of the inputs' scale. */
fn dot_int(w: WInt, x: XIn) -> f32 {
  let s = sdot(w.a.x, w.b.x, w.c.x, w.d.x, x.p[0]) + sdot(w.a.y, w.b.y, w.c.y, w.d.y, x.p[1]) +
          sdot(w.a.z, w.b.z, w.c.z, w.d.z, x.p[2]) + sdot(w.a.w, w.b.w, w.c.w, w.d.w, x.p[3]);
  return w.scale * f32(s - x.sum8);
}
