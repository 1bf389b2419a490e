// ggml IQ4_NL: blocks of 32 weights = f16 d, 16 bytes of 4-bit grid indices (low nibbles are
// weights 0..15, high nibbles 16..31); w = d * IQ4_GRID[q] (dequant_iq4_grid.wgsl). 18 bytes per
// block, so a block starts 2-byte aligned and its words are read through word_at.
fn iq4_nl_base(row: u32, blk: u32, K: u32) -> u32 {
  return (row * (K / 32u) + blk) * 18u;
}

fn iq4_nl_q(base: u32) -> X32 {
  return grid32(vec4u(word_at(base + 2u), word_at(base + 6u), word_at(base + 10u), word_at(base + 14u)));
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = iq4_nl_base(row, col / 32u, K);
  let j = col % 32u;
  let byte = wbyte(base + 2u + (j & 15u));
  return half_at(base) * IQ4_GRID[select(byte & 15u, byte >> 4u, j >= 16u)];
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let base = iq4_nl_base(row, blk, K);
  return half_at(base) * dot_x32(iq4_nl_q(base), x);
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let base = iq4_nl_base(row, blk, K);
  return affine32(iq4_nl_q(base), half_at(base), 0.0);
}
