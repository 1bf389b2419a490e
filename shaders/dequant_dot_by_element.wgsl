// dot32 for weight types read one element at a time (F16, BF16): appended after their w_at.
// A block is 32 columns; the last block of a row may be shorter (float types allow any K).
fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  var s = 0.0;
  let c0 = blk * 32u;
  let n = min(32u, K - c0);
  for (var j = 0u; j < n; j++) {
    s += w_at(row, c0 + j, K) * xin(xoff + c0 + j);
  }
  return s;
}
