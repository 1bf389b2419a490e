// ggml Q4_0: blocks of 32 weights = float16 scale d + 16 bytes of 4-bit q (low nibbles are
// weights 0..15, high nibbles 16..31); w = d * (q - 8). 18 bytes per block.
fn wbyte(b: u32) -> u32 {
  return (w[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

fn q4_scale(base: u32) -> f32 {
  return unpack2x16float(w[base >> 2u] >> ((base & 2u) * 8u)).x;
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
  for (var j = 0u; j < 16u; j++) {
    let byte = wbyte(base + 2u + j);
    s += (f32(byte & 15u) - 8.0) * x[xb + j] + (f32(byte >> 4u) - 8.0) * x[xb + j + 16u];
  }
  return s * q4_scale(base);
}
