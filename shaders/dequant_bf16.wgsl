// Weights stored as bfloat16 (the top half of a float32), two per u32, row-major [N, K].
fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let i = row * K + col;
  return bitcast<f32>(((w[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu) << 16u);
}

// dot32: shaders/dequant_dot_by_element.wgsl
