// Q4_0W: ggml's Q4_0 repacked at load for the integer-input matvec of CPU-backed adapters
// (SwiftShader; see int_q4_0.wgsl). A block of 32 weights is 5 words: its scale as a float32,
// then its 16 quant bytes (low nibbles are weights 0..15, high nibbles 16..31; w = d * (q - 8)).
// Word-aligned blocks spare the shifts that realign Q4_0's 18-byte blocks and the float16
// conversion of every scale: on SwiftShader that made the integer matvec ~1.45x faster.

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let a = (row * (K / 32u) + col / 32u) * 5u;
  let j = col % 32u;
  let byte = (w[a + 1u + (j & 15u) / 4u] >> ((j & 3u) * 8u)) & 0xffu;
  let q = select(byte & 15u, byte >> 4u, j >= 16u);
  return bitcast<f32>(w[a]) * (f32(q) - 8.0);
}

fn q4_block(row: u32, blk: u32, K: u32) -> Q4Block {
  let a = (row * (K / 32u) + blk) * 5u;
  return Q4Block(vec4u(w[a + 1u], w[a + 2u], w[a + 3u], w[a + 4u]), bitcast<f32>(w[a]));
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}
