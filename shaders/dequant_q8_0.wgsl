// ggml Q8_0: blocks of 32 weights = float16 scale d + 32 int8 q; w = d * q. 34 bytes per block,
// so blocks are not 4-byte aligned: bytes are picked out of the u32 words.
fn wbyte(b: u32) -> u32 {
  return (w[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

fn q8_scale(base: u32) -> f32 {
  return unpack2x16float(w[base >> 2u] >> ((base & 2u) * 8u)).x;
}

fn q8_at(base: u32, j: u32) -> f32 {
  return f32((i32(wbyte(base + 2u + j)) << 24u) >> 24u);
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = (row * (K / 32u) + col / 32u) * 34u;
  return q8_scale(base) * q8_at(base, col % 32u);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  let base = (row * (K / 32u) + blk) * 34u;
  let xb = xoff + blk * 32u;
  var s = 0.0;
  for (var j = 0u; j < 32u; j++) {
    s += q8_at(base, j) * x[xb + j];
  }
  return s * q8_scale(base);
}
