// Weights stored as bfloat16 (the top half of a float32), two per u32, row-major [N, K].
fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let i = row * K + col;
  return bitcast<f32>(((w[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu) << 16u);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  var s = 0.0;
  let c0 = blk * 32u;
  let n = min(32u, K - c0);
  for (var j = 0u; j < n; j++) {
    s += w_at(row, c0 + j, K) * x[xoff + c0 + j];
  }
  return s;
}
