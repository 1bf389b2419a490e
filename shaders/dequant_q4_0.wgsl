// ggml Q4_0: blocks of 32 weights = float16 scale d + 16 bytes of 4-bit q (low nibbles are
// weights 0..15, high nibbles 16..31); w = d * (q - 8). 18 bytes per block, so a block starts
// 2-byte aligned: its 16 quant bytes are read as 4 words, shifted by half a word when needed.
fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = (row * (K / 32u) + col / 32u) * 18u;
  let j = col % 32u;
  let byte = wbyte(base + 2u + (j & 15u));
  let q = select(byte & 15u, byte >> 4u, j >= 16u);
  return half_at(base) * (f32(q) - 8.0);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  let base = (row * (K / 32u) + blk) * 18u;
  let xb = xoff + blk * 32u;
  var s = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let q = word_at(base + 2u + 4u * i);
    let j = xb + 4u * i;
    s += dot(q4_lo(q), xin4(j)) + dot(q4_hi(q), xin4(j + 16u));
  }
  return s * half_at(base);
}

/** A block's scale and quant words: its five words loaded without branches. */
fn q4_block(row: u32, blk: u32, K: u32) -> Q4Block {
  let base = (row * (K / 32u) + blk) * 18u;
  let a = base >> 2u;
  let mid = (base & 2u) != 0u; // the block starts in the middle of word a
  let w0 = w[a];
  let w1 = w[a + 1u];
  let w2 = w[a + 2u];
  let w3 = w[a + 3u];
  let w4 = w[a + 4u];
  let q = select((vec4u(w0, w1, w2, w3) >> vec4u(16u)) | (vec4u(w1, w2, w3, w4) << vec4u(16u)), vec4u(w1, w2, w3, w4), mid);
  return Q4Block(q, unpack2x16float(select(w0, w0 >> 16u, mid)).x);
}
