// Weights stored as bfloat16 (the top half of a float32), two per u32, row-major [N, K].
fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let i = row * K + col;
  return bitcast<f32>(((w[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu) << 16u);
}

/** Four weights from two words (elements 2i .. 2i + 3). */
fn w16_4(i: u32) -> vec4f {
  let a = w[i];
  let b = w[i + 1u];
  return bitcast<vec4f>(vec4u(a << 16u, a & 0xffff0000u, b << 16u, b & 0xffff0000u));
}

// dot32: shaders/dequant_dot_by_element.wgsl
