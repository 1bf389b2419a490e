// ggml Q8_0: blocks of 32 weights = float16 scale d + 32 int8 q; w = d * q. 34 bytes per block, so
// a block starts 2-byte aligned: its quant bytes are read as 8 words, shifted by half a word when
// needed, and sign-extended four at a time.
fn q8_vec(q: u32) -> vec4f {
  let v = bitcast<vec4i>(vec4u(q << 24u, q << 16u, q << 8u, q)) >> vec4u(24u);
  return vec4f(v);
}

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

/** The quant word starting at half-word offset 1 of words (lo, hi), or hi itself when the block starts mid-word. */
fn q8_join(lo: u32, hi: u32, mid: bool) -> vec4f {
  return q8_vec(select((lo >> 16u) | (hi << 16u), hi, mid));
}

/** dot32 with the block's inputs given: the block's nine words are loaded without branches. */
fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let base = (row * (K / 32u) + blk) * 34u;
  let a = base >> 2u;
  let mid = (base & 2u) != 0u;
  let w0 = w[a];
  let w1 = w[a + 1u];
  let w2 = w[a + 2u];
  let w3 = w[a + 3u];
  let w4 = w[a + 4u];
  let w5 = w[a + 5u];
  let w6 = w[a + 6u];
  let w7 = w[a + 7u];
  let w8 = w[a + 8u];
  let d = unpack2x16float(select(w0, w0 >> 16u, mid)).x;
  return d * (dot(q8_join(w0, w1, mid), x.v[0]) + dot(q8_join(w1, w2, mid), x.v[1]) + dot(q8_join(w2, w3, mid), x.v[2]) + dot(q8_join(w3, w4, mid), x.v[3]) +
              dot(q8_join(w4, w5, mid), x.v[4]) + dot(q8_join(w5, w6, mid), x.v[5]) + dot(q8_join(w6, w7, mid), x.v[6]) + dot(q8_join(w7, w8, mid), x.v[7]));
}
