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

/** dot32 of a whole block (K a multiple of 32) with its inputs given. */
fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let i = row * K + blk * 32u;
  return dot(f32_word4(i), x.v[0]) + dot(f32_word4(i + 4u), x.v[1]) + dot(f32_word4(i + 8u), x.v[2]) + dot(f32_word4(i + 12u), x.v[3]) +
         dot(f32_word4(i + 16u), x.v[4]) + dot(f32_word4(i + 20u), x.v[5]) + dot(f32_word4(i + 24u), x.v[6]) + dot(f32_word4(i + 28u), x.v[7]);
}
