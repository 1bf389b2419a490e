// ggml Q5_1: blocks of 32 weights = f16 d, f16 m, 4 bytes of fifth bits (bit j is weight j's), 16
// bytes of low nibbles (low halves weights 0..15, high halves 16..31); w = d * q + m. 24 bytes
// per block, so every block is word-aligned.
fn q5_1_word(row: u32, blk: u32, K: u32) -> u32 {
  return (row * (K / 32u) + blk) * 6u;
}

/** The 32 quants (0..31) of the block whose (d, m) word is a. */
fn q5_1_q(a: u32) -> X32 {
  return q5_32(w[a + 1u], vec4u(w[a + 2u], w[a + 3u], w[a + 4u], w[a + 5u]));
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let a = q5_1_word(row, col / 32u, K);
  let j = col % 32u;
  let byte = wbyte(a * 4u + 8u + (j & 15u));
  let q = select(byte & 15u, byte >> 4u, j >= 16u) | (((w[a + 1u] >> j) & 1u) << 4u);
  let dm = unpack2x16float(w[a]);
  return dm.x * f32(q) + dm.y;
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let a = q5_1_word(row, blk, K);
  let dm = unpack2x16float(w[a]);
  return dm.x * dot_x32(q5_1_q(a), x) + dm.y * sum_x32(x);
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let a = q5_1_word(row, blk, K);
  let dm = unpack2x16float(w[a]);
  return affine32(q5_1_q(a), dm.x, dm.y);
}
