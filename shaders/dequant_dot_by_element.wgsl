// dot32 for weight types read one element at a time (F16, BF16): appended after their w_at (and
// w16_4, which deq32 reads four weights with).
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

/** A whole block (K a multiple of 32, so rows start on a word); w16_4 reads four weights. */
fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let i = (row * K + blk * 32u) / 2u;
  return X32(array<vec4f, 8>(w16_4(i), w16_4(i + 2u), w16_4(i + 4u), w16_4(i + 6u), w16_4(i + 8u), w16_4(i + 10u), w16_4(i + 12u), w16_4(i + 14u)));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  return dot_x32(deq32(row, blk, K), x);
}
