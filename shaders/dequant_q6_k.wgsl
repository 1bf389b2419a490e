// ggml Q6_K: super-blocks of 256 weights (210 bytes) = 128 bytes of low nibbles (ql), 64 bytes of
// 2-bit high parts (qh), 16 int8 scales (one per 16 weights), f16 d. Each half (n = 0, 1) of 128
// weights has four groups g of 32: weight l of group g takes the low (g < 2) or high nibble of
// ql[64n + l + 32(g & 1)] and bits 2g..2g+1 of qh[32n + l]; w = d * scale * (q - 32).
fn wbyte(b: u32) -> u32 {
  return (w[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

fn q6_value(base: u32, n: u32, g: u32, l: u32) -> f32 {
  let lo = wbyte(base + n * 64u + l + (g & 1u) * 32u);
  let nib = select(lo & 15u, lo >> 4u, g >= 2u);
  let hi = (wbyte(base + 128u + n * 32u + l) >> (2u * g)) & 3u;
  return f32(i32(nib | (hi << 4u)) - 32);
}

fn q6_scale(base: u32, n: u32, g: u32, l: u32) -> f32 {
  let s = wbyte(base + 192u + n * 8u + l / 16u + 2u * g);
  return f32((i32(s) << 24u) >> 24u);
}

fn q6_d(base: u32) -> f32 {
  let b = base + 208u;
  return unpack2x16float(w[b >> 2u] >> ((b & 2u) * 8u)).x;
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = (row * (K / 256u) + col / 256u) * 210u;
  let j = col % 256u;
  let n = j / 128u;
  let g = (j % 128u) / 32u;
  let l = j % 32u;
  return q6_d(base) * q6_scale(base, n, g, l) * q6_value(base, n, g, l);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  let base = (row * (K / 256u) + blk / 8u) * 210u;
  let sub = blk % 8u;
  let n = sub / 4u;
  let g = sub % 4u;
  let xb = xoff + blk * 32u;
  var s0 = 0.0;
  var s1 = 0.0;
  for (var l = 0u; l < 16u; l++) {
    s0 += q6_value(base, n, g, l) * xin(xb + l);
    s1 += q6_value(base, n, g, l + 16u) * xin(xb + l + 16u);
  }
  return q6_d(base) * (q6_scale(base, n, g, 0u) * s0 + q6_scale(base, n, g, 16u) * s1);
}
