// ggml Q5_0: blocks of 32 weights = f16 d, 4 bytes of fifth bits (bit j is weight j's), 16 bytes
// of low nibbles (low halves weights 0..15, high halves 16..31); w = d * (q - 16). 22 bytes per
// block, so a block starts 2-byte aligned and its words are read through word_at.
fn q5_0_base(row: u32, blk: u32, K: u32) -> u32 {
  return (row * (K / 32u) + blk) * 22u;
}

/** The 32 quants (0..31) of the block at byte base. */
fn q5_0_q(base: u32) -> X32 {
  return q5_32(word_at(base + 2u), vec4u(word_at(base + 6u), word_at(base + 10u), word_at(base + 14u), word_at(base + 18u)));
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
