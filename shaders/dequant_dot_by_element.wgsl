// dot32 for weight types read one element at a time (F16, BF16): appended after their w_at (and
// w16_4, which dot32x reads four weights with).
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

/** dot32 of a whole block (K a multiple of 32, so rows start on a word) with its inputs given; w16_4 reads four weights. */
fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let i = (row * K + blk * 32u) / 2u;
  return dot(w16_4(i), x.v[0]) + dot(w16_4(i + 2u), x.v[1]) + dot(w16_4(i + 4u), x.v[2]) + dot(w16_4(i + 6u), x.v[3]) +
         dot(w16_4(i + 8u), x.v[4]) + dot(w16_4(i + 10u), x.v[5]) + dot(w16_4(i + 12u), x.v[6]) + dot(w16_4(i + 14u), x.v[7]);
}
