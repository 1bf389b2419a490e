// ggml Q4_1: blocks of 32 weights = f16 d, f16 m, 16 bytes of 4-bit q (low nibbles are weights
// 0..15, high nibbles 16..31); w = d * q + m. 20 bytes per block, so every block is word-aligned.
fn q4_1_word(row: u32, blk: u32, K: u32) -> u32 {
  return (row * (K / 32u) + blk) * 5u;
}

/** The block's 32 quants, from its four quant words after the (d, m) word a. */
fn q4_1_q(a: u32) -> X32 {
  let q = vec4u(w[a + 1u], w[a + 2u], w[a + 3u], w[a + 4u]);
  return X32(array<vec4f, 8>(nibbles(q.x, 0u), nibbles(q.y, 0u), nibbles(q.z, 0u), nibbles(q.w, 0u),
                             nibbles(q.x, 4u), nibbles(q.y, 4u), nibbles(q.z, 4u), nibbles(q.w, 4u)));
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let a = q4_1_word(row, col / 32u, K);
  let j = col % 32u;
  let byte = wbyte(a * 4u + 4u + (j & 15u));
  let dm = unpack2x16float(w[a]);
  return dm.x * f32(select(byte & 15u, byte >> 4u, j >= 16u)) + dm.y;
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let a = q4_1_word(row, blk, K);
  let dm = unpack2x16float(w[a]);
  return dm.x * dot_x32(q4_1_q(a), x) + dm.y * sum_x32(x);
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let a = q4_1_word(row, blk, K);
  let dm = unpack2x16float(w[a]);
  return affine32(q4_1_q(a), dm.x, dm.y);
}
