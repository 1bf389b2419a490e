// Q8_0W: ggml's Q8_0 repacked at load for the integer matvec of CPU-backed adapters (SwiftShader;
// see int_q8_0.wgsl). A block of 32 weights is 9 words: its scale as a float32, then its 32
// int8 quants (w = d * q). Word-aligned blocks spare the shifts that realign Q8_0's 34-byte blocks
// and the float16 conversion of every scale.

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let a = (row * (K / 32u) + col / 32u) * 9u;
  let j = col % 32u;
  let q = (bitcast<i32>(w[a + 1u + j / 4u] << (24u - (j & 3u) * 8u))) >> 24u;
  return bitcast<f32>(w[a]) * f32(q);
}

fn q8_block(row: u32, blk: u32, K: u32) -> Q8Block {
  let a = (row * (K / 32u) + blk) * 9u;
  return Q8Block(vec4u(w[a + 1u], w[a + 2u], w[a + 3u], w[a + 4u]), vec4u(w[a + 5u], w[a + 6u], w[a + 7u], w[a + 8u]), bitcast<f32>(w[a]));
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}
