// ggml Q5_K: super-blocks of 256 weights (176 bytes, so word-aligned) = f16 d, f16 dmin, 12 bytes
// packing eight 6-bit (scale, min) pairs as Q4_K does, 32 bytes of fifth bits, 128 bytes of
// nibbles. Sub-block s of 32 weights: weight l is the low (even s) or high (odd s) nibble of byte
// 48 + 32 (s / 2) + l with bit s of byte 16 + l on top; w = d * scale_s * q - dmin * min_s.
fn q5_k_base(row: u32, blk: u32, K: u32) -> u32 {
  return (row * (K / 256u) + blk / 8u) * 176u;
}

fn q5_k_q(base: u32, s: u32) -> X32 {
  let a = (base + 48u + 32u * (s / 2u)) >> 2u;
  let h = (base + 16u) >> 2u;
  let sh = 4u * (s & 1u);
  let lo = ((vec4u(w[a], w[a + 1u], w[a + 2u], w[a + 3u]) >> vec4u(sh)) & vec4u(0x0f0f0f0fu)) |
           (((vec4u(w[h], w[h + 1u], w[h + 2u], w[h + 3u]) >> vec4u(s)) & vec4u(0x01010101u)) << vec4u(4u));
  let hi = ((vec4u(w[a + 4u], w[a + 5u], w[a + 6u], w[a + 7u]) >> vec4u(sh)) & vec4u(0x0f0f0f0fu)) |
           (((vec4u(w[h + 4u], w[h + 5u], w[h + 6u], w[h + 7u]) >> vec4u(s)) & vec4u(0x01010101u)) << vec4u(4u));
  return X32(array<vec4f, 8>(bytes4(lo.x), bytes4(lo.y), bytes4(lo.z), bytes4(lo.w), bytes4(hi.x), bytes4(hi.y), bytes4(hi.z), bytes4(hi.w)));
}

/** (d * scale, dmin * min) of sub-block s. */
fn q5_k_scale(base: u32, s: u32) -> vec2f {
  return unpack2x16float(w[base >> 2u]) * scale_min_k4(base + 4u, s);
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = q5_k_base(row, col / 32u, K);
  let s = (col % 256u) / 32u;
  let l = col % 32u;
  let q = ((wbyte(base + 48u + 32u * (s / 2u) + l) >> (4u * (s & 1u))) & 15u) | (((wbyte(base + 16u + l) >> s) & 1u) << 4u);
  let sm = q5_k_scale(base, s);
  return sm.x * f32(q) - sm.y;
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let base = q5_k_base(row, blk, K);
  let sm = q5_k_scale(base, blk % 8u);
  return sm.x * dot_x32(q5_k_q(base, blk % 8u), x) - sm.y * sum_x32(x);
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let base = q5_k_base(row, blk, K);
  let sm = q5_k_scale(base, blk % 8u);
  return affine32(q5_k_q(base, blk % 8u), sm.x, -sm.y);
}
