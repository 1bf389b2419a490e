// ggml Q5_0: blocks of 32 weights = f16 d, 4 bytes of fifth bits (bit j is weight j's), 16 bytes
// of low nibbles (low halves weights 0..15, high halves 16..31); w = d * (q - 16). 22 bytes per
// block, so a block starts 2-byte aligned and its words are read through word_at.
fn q5_0_base(row: u32, blk: u32, K: u32) -> u32 {
  return (row * (K / 32u) + blk) * 22u;
}

/** The 32 quants (0..31) of the block at byte base. */
fn q5_0_q(base: u32) -> X32 {
  let qh = word_at(base + 2u);
  let q = vec4u(word_at(base + 6u), word_at(base + 10u), word_at(base + 14u), word_at(base + 18u));
  let lo = (q & vec4u(0x0f0f0f0fu)) | (vec4u(bits4(qh), bits4(qh >> 4u), bits4(qh >> 8u), bits4(qh >> 12u)) << vec4u(4u));
  let hi = ((q >> vec4u(4u)) & vec4u(0x0f0f0f0fu)) | (vec4u(bits4(qh >> 16u), bits4(qh >> 20u), bits4(qh >> 24u), bits4(qh >> 28u)) << vec4u(4u));
  return X32(array<vec4f, 8>(bytes4(lo.x), bytes4(lo.y), bytes4(lo.z), bytes4(lo.w), bytes4(hi.x), bytes4(hi.y), bytes4(hi.z), bytes4(hi.w)));
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = q5_0_base(row, col / 32u, K);
  let j = col % 32u;
  let byte = wbyte(base + 6u + (j & 15u));
  let q = select(byte & 15u, byte >> 4u, j >= 16u) | (((word_at(base + 2u) >> j) & 1u) << 4u);
  return half_at(base) * (f32(q) - 16.0);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let base = q5_0_base(row, blk, K);
  return half_at(base) * (dot_x32(q5_0_q(base), x) - 16.0 * sum_x32(x));
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let base = q5_0_base(row, blk, K);
  let d = half_at(base);
  return affine32(q5_0_q(base), d, -16.0 * d);
}
