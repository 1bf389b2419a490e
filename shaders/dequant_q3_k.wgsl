// ggml Q3_K: super-blocks of 256 weights (110 bytes, so 2-byte aligned: words through word_at) =
// 32 bytes of high bits (hmask), 64 bytes of 2-bit low parts, 12 bytes of sixteen 6-bit scales,
// f16 d. Sub-block s of 32 weights: weight l takes bits 2 (s % 4) .. +1 of quant byte
// 32 (s / 4) + l and bit 4 (s / 4) + s % 4 of hmask[l]; q = low - (high bit ? 0 : 4). Weights
// 0..15 use scale 2 s, 16..31 scale 2 s + 1; w = d * (scale - 32) * q.
fn q3_k_base(row: u32, blk: u32, K: u32) -> u32 {
  return (row * (K / 256u) + blk / 8u) * 110u;
}

fn q3_k_4(base: u32, s: u32, i: u32) -> vec4f {
  let low = (word_at(base + 32u + 32u * (s / 4u) + 4u * i) >> (2u * (s % 4u))) & 0x03030303u;
  let high = (word_at(base + 4u * i) >> (4u * (s / 4u) + s % 4u)) & 0x01010101u;
  return bytes4(low | (high << 2u)) - 4.0;
}

fn q3_k_q(base: u32, s: u32) -> X32 {
  return X32(array<vec4f, 8>(q3_k_4(base, s, 0u), q3_k_4(base, s, 1u), q3_k_4(base, s, 2u), q3_k_4(base, s, 3u),
                             q3_k_4(base, s, 4u), q3_k_4(base, s, 5u), q3_k_4(base, s, 6u), q3_k_4(base, s, 7u)));
}

/** Scale j (0..15) minus 32: its low nibble from bytes 0..7, its top two bits from bytes 8..11. */
fn q3_k_scale(base: u32, j: u32) -> f32 {
  let lo = (wbyte(base + 96u + (j & 7u)) >> (4u * (j >> 3u))) & 15u;
  let hi = (wbyte(base + 104u + (j & 3u)) >> (2u * (j >> 2u))) & 3u;
  return f32(lo | (hi << 4u)) - 32.0;
}

/** d * scale of both halves of sub-block s. */
fn q3_k_scales(base: u32, s: u32) -> vec2f {
  return half_at(base + 108u) * vec2f(q3_k_scale(base, 2u * s), q3_k_scale(base, 2u * s + 1u));
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = q3_k_base(row, col / 32u, K);
  let s = (col % 256u) / 32u;
  let l = col % 32u;
  let low = (wbyte(base + 32u + 32u * (s / 4u) + l) >> (2u * (s % 4u))) & 3u;
  let high = (wbyte(base + l) >> (4u * (s / 4u) + s % 4u)) & 1u;
  return half_at(base + 108u) * q3_k_scale(base, 2u * s + l / 16u) * (f32(low | (high << 2u)) - 4.0);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let base = q3_k_base(row, blk, K);
  return dot(q3_k_scales(base, blk % 8u), dot_halves(q3_k_q(base, blk % 8u), x));
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let base = q3_k_base(row, blk, K);
  return affine_halves(q3_k_q(base, blk % 8u), q3_k_scales(base, blk % 8u), vec2f(0.0));
}
