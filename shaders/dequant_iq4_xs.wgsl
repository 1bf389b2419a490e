// ggml IQ4_XS: super-blocks of 256 weights (136 bytes) = f16 d, 16 bits of high scale pairs, 4
// bytes of low scale nibbles, 128 bytes of 4-bit grid indices. Sub-block s of 32 weights has the
// 6-bit scale ls = low nibble s | pair s << 4 and 16 quant bytes at 8 + 16 s (low nibbles weights
// 0..15, high 16..31); w = d * (ls - 32) * IQ4_GRID[q] (dequant_iq4_grid.wgsl).
fn iq4_xs_base(row: u32, blk: u32, K: u32) -> u32 {
  return (row * (K / 256u) + blk / 8u) * 136u;
}

/** d * (ls - 32) of sub-block s. */
fn iq4_xs_scale(base: u32, s: u32) -> f32 {
  let ls = ((wbyte(base + 4u + s / 2u) >> (4u * (s & 1u))) & 15u) | (((w[base >> 2u] >> (16u + 2u * s)) & 3u) << 4u);
  return half_at(base) * (f32(ls) - 32.0);
}

fn iq4_xs_q(base: u32, s: u32) -> X32 {
  let a = (base + 8u + 16u * s) >> 2u;
  return grid32(vec4u(w[a], w[a + 1u], w[a + 2u], w[a + 3u]));
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = iq4_xs_base(row, col / 32u, K);
  let s = (col % 256u) / 32u;
  let j = col % 32u;
  let byte = wbyte(base + 8u + 16u * s + (j & 15u));
  return iq4_xs_scale(base, s) * IQ4_GRID[select(byte & 15u, byte >> 4u, j >= 16u)];
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let base = iq4_xs_base(row, blk, K);
  return iq4_xs_scale(base, blk % 8u) * dot_x32(iq4_xs_q(base, blk % 8u), x);
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let base = iq4_xs_base(row, blk, K);
  return affine32(iq4_xs_q(base, blk % 8u), iq4_xs_scale(base, blk % 8u), 0.0);
}
