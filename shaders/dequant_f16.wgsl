// Weights stored as IEEE float16, two per u32 (little-endian), row-major [N, K].
fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let i = row * K + col;
  return unpack2x16float(w[i >> 1u] >> ((i & 1u) * 16u)).x;
}

// dot32: shaders/dequant_dot_by_element.wgsl
