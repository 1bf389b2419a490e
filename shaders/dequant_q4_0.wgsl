// ggml Q4_0: blocks of 32 weights = float16 scale d + 16 bytes of 4-bit q (low nibbles are
// weights 0..15, high nibbles 16..31); w = d * (q - 8). 18 bytes per block, so a block starts
// 2-byte aligned: its 16 quant bytes are read as 4 words, shifted by half a word when needed.
fn wbyte(b: u32) -> u32 {
  return (w[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

fn q4_scale(base: u32) -> f32 {
  return unpack2x16float(w[base >> 2u] >> ((base & 2u) * 8u)).x;
}

/** The i-th word (4 quant bytes) of the block at byte `base`. */
fn q4_word(base: u32, i: u32) -> u32 {
  let a = (base >> 2u) + i;
  if ((base & 2u) == 0u) { return (w[a] >> 16u) | (w[a + 1u] << 16u); }
  return w[a + 1u];
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = (row * (K / 32u) + col / 32u) * 18u;
  let j = col % 32u;
  let byte = wbyte(base + 2u + (j & 15u));
  let q = select(byte & 15u, byte >> 4u, j >= 16u);
  return q4_scale(base) * (f32(q) - 8.0);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  let base = (row * (K / 32u) + blk) * 18u;
  let xb = xoff + blk * 32u;
  var s = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let q = q4_word(base, i);
    let lo = vec4f(f32(q & 15u), f32((q >> 8u) & 15u), f32((q >> 16u) & 15u), f32((q >> 24u) & 15u)) - 8.0;
    let hi = vec4f(f32((q >> 4u) & 15u), f32((q >> 12u) & 15u), f32((q >> 20u) & 15u), f32(q >> 28u)) - 8.0;
    let j = xb + 4u * i;
    s += dot(lo, xin4(j)) + dot(hi, xin4(j + 16u));
  }
  return s * q4_scale(base);
}
