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
