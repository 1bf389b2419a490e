// ggml Q8_0: blocks of 32 weights = float16 scale d + 32 int8 q; w = d * q. 34 bytes per block, so
// a block starts 2-byte aligned: its quant bytes are read as 8 words, shifted by half a word when
// needed, and sign-extended four at a time.
fn wbyte(b: u32) -> u32 {
  return (w[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

fn q8_scale(base: u32) -> f32 {
  return unpack2x16float(w[base >> 2u] >> ((base & 2u) * 8u)).x;
}

fn q8_word(base: u32, i: u32) -> u32 {
  let a = (base >> 2u) + i;
  if ((base & 2u) == 0u) { return (w[a] >> 16u) | (w[a + 1u] << 16u); }
  return w[a + 1u];
}

fn q8_vec(q: u32) -> vec4f {
  let v = bitcast<vec4i>(vec4u(q << 24u, q << 16u, q << 8u, q)) >> vec4u(24u);
  return vec4f(v);
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = (row * (K / 32u) + col / 32u) * 34u;
  return q8_scale(base) * f32((i32(wbyte(base + 2u + col % 32u)) << 24u) >> 24u);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  let base = (row * (K / 32u) + blk) * 34u;
  let xb = xoff + blk * 32u;
  var s = 0.0;
  for (var i = 0u; i < 8u; i++) {
    let j = xb + 4u * i;
    s += dot(q8_vec(q8_word(base, i)), xin4(j));
  }
  return s * q8_scale(base);
}
