// Q5_0W: ggml's Q5_0 repacked at load for the integer-input matvec of CPU-backed adapters
// (SwiftShader; see int_q5_0.wgsl). A block of 32 weights is 6 words: its scale as a float32,
// the 32 fifth bits, then its 16 quant bytes (low nibbles are weights 0..15, high nibbles
// 16..31); w = d * (q - 16).
fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let a = (row * (K / 32u) + col / 32u) * 6u;
  let j = col % 32u;
  let byte = (w[a + 2u + (j & 15u) / 4u] >> ((j & 3u) * 8u)) & 0xffu;
  let q = select(byte & 15u, byte >> 4u, j >= 16u) | (((w[a + 1u] >> j) & 1u) << 4u);
  return bitcast<f32>(w[a]) * (f32(q) - 16.0);
}

fn q5_0w_q(a: u32) -> X32 {
  return q5_32(w[a + 1u], vec4u(w[a + 2u], w[a + 3u], w[a + 4u], w[a + 5u]));
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let a = (row * (K / 32u) + blk) * 6u;
  return bitcast<f32>(w[a]) * (dot_x32(q5_0w_q(a), x) - 16.0 * sum_x32(x));
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let a = (row * (K / 32u) + blk) * 6u;
  let d = bitcast<f32>(w[a]);
  return affine32(q5_0w_q(a), d, -16.0 * d);
}
