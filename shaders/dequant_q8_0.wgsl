// ggml Q8_0: blocks of 32 weights = float16 scale d + 32 int8 q; w = d * q. 34 bytes per block, so
// a block starts 2-byte aligned: its quant bytes are read as 8 words, shifted by half a word when
// needed, and sign-extended four at a time.
fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = (row * (K / 32u) + col / 32u) * 34u;
  return half_at(base) * f32((i32(wbyte(base + 2u + col % 32u)) << 24u) >> 24u);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  let base = (row * (K / 32u) + blk) * 34u;
  let xb = xoff + blk * 32u;
  var s = 0.0;
  for (var i = 0u; i < 8u; i++) {
    let j = xb + 4u * i;
    s += dot(q8_vec(word_at(base + 2u + 4u * i)), xin4(j));
  }
  return s * half_at(base);
}

/** A block's scale and eight quant words: its nine words loaded without branches. */
fn q8_block(row: u32, blk: u32, K: u32) -> Q8Block {
  let base = (row * (K / 32u) + blk) * 34u;
  let a = base >> 2u;
  let mid = (base & 2u) != 0u; // the block starts in the middle of word a
  let w0 = vec4u(w[a], w[a + 1u], w[a + 2u], w[a + 3u]);
  let w1 = vec4u(w[a + 4u], w[a + 5u], w[a + 6u], w[a + 7u]);
  let w8 = w[a + 8u];
  let n0 = vec4u(w0.yzw, w1.x); // each word's successor
  let n1 = vec4u(w1.yzw, w8);
  let q0 = select((w0 >> vec4u(16u)) | (n0 << vec4u(16u)), n0, mid);
  let q1 = select((w1 >> vec4u(16u)) | (n1 << vec4u(16u)), n1, mid);
  return Q8Block(q0, q1, unpack2x16float(select(w0.x, w0.x >> 16u, mid)).x);
}
