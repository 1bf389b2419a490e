// Weights stored as IEEE float16, two per u32 (little-endian), row-major [N, K].
fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let i = row * K + col;
  return unpack2x16float(w[i >> 1u] >> ((i & 1u) * 16u)).x;
}

/** Four weights from two words (elements 2i .. 2i + 3). */
fn w16_4(i: u32) -> vec4f {
  return vec4f(unpack2x16float(w[i]), unpack2x16float(w[i + 1u]));
}

// dot32: shaders/dequant_dot_by_element.wgsl
