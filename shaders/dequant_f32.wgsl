// Weights stored as float32, row-major [N, K], packed in array<u32>.
fn w_at(row: u32, col: u32, K: u32) -> f32 {
  return bitcast<f32>(w[row * K + col]);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  var s = 0.0;
  let c0 = blk * 32u;
  let n = min(32u, K - c0);
  let base = row * K + c0;
  for (var j = 0u; j < n; j++) {
    s += bitcast<f32>(w[base + j]) * xin(xoff + c0 + j);
  }
  return s;
}

fn f32_word4(i: u32) -> vec4f {
  return vec4f(bitcast<f32>(w[i]), bitcast<f32>(w[i + 1u]), bitcast<f32>(w[i + 2u]), bitcast<f32>(w[i + 3u]));
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let i = row * K + blk * 32u;
  return X32(array<vec4f, 8>(f32_word4(i), f32_word4(i + 4u), f32_word4(i + 8u), f32_word4(i + 12u),
                             f32_word4(i + 16u), f32_word4(i + 20u), f32_word4(i + 24u), f32_word4(i + 28u)));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  return dot_x32(deq32(row, blk, K), x);
}
