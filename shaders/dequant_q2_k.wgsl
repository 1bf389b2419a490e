// ggml Q2_K: super-blocks of 256 weights (84 bytes, so word-aligned) = 16 bytes of (4-bit scale |
// 4-bit min << 4), 64 bytes of 2-bit q, f16 d, f16 dmin. Sub-block s of 32 weights reads bits
// 2 (s % 4) .. +1 of the 32 quant bytes at 16 + 32 (s / 4); its weights 0..15 use scale byte 2 s,
// 16..31 byte 2 s + 1; w = d * scale * q - dmin * min.
fn q2_k_base(row: u32, blk: u32, K: u32) -> u32 {
  return (row * (K / 256u) + blk / 8u) * 84u;
}

fn q2_k_q(base: u32, s: u32) -> X32 {
  let a = (base + 16u + 32u * (s / 4u)) >> 2u;
  let sh = 2u * (s % 4u);
  let lo = (vec4u(w[a], w[a + 1u], w[a + 2u], w[a + 3u]) >> vec4u(sh)) & vec4u(0x03030303u);
  let hi = (vec4u(w[a + 4u], w[a + 5u], w[a + 6u], w[a + 7u]) >> vec4u(sh)) & vec4u(0x03030303u);
  return X32(array<vec4f, 8>(bytes4(lo.x), bytes4(lo.y), bytes4(lo.z), bytes4(lo.w), bytes4(hi.x), bytes4(hi.y), bytes4(hi.z), bytes4(hi.w)));
}

/** (d * scale, dmin * min) of both halves of sub-block s: .xy the scales, .zw the mins. */
fn q2_k_scales(base: u32, s: u32) -> vec4f {
  let dm = unpack2x16float(w[(base + 80u) >> 2u]);
  let sc = (w[(base >> 2u) + s / 2u] >> (16u * (s & 1u))) & 0xffffu; // bytes 2 s, 2 s + 1
  return vec4f(dm.x * f32(sc & 15u), dm.x * f32((sc >> 8u) & 15u), dm.y * f32((sc >> 4u) & 15u), dm.y * f32(sc >> 12u));
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = q2_k_base(row, col / 32u, K);
  let s = (col % 256u) / 32u;
  let l = col % 32u;
  let q = (wbyte(base + 16u + 32u * (s / 4u) + l) >> (2u * (s % 4u))) & 3u;
  let sc = q2_k_scales(base, s);
  return select(sc.x * f32(q) - sc.z, sc.y * f32(q) - sc.w, l >= 16u);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let base = q2_k_base(row, blk, K);
  let sc = q2_k_scales(base, blk % 8u);
  return dot(sc.xy, dot_halves(q2_k_q(base, blk % 8u), x)) - dot(sc.zw, sum_halves(x));
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let base = q2_k_base(row, blk, K);
  let sc = q2_k_scales(base, blk % 8u);
  return affine_halves(q2_k_q(base, blk % 8u), sc.xy, -sc.zw);
}
