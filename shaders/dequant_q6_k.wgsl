// ggml Q6_K: super-blocks of 256 weights (210 bytes) = 128 bytes of low nibbles (ql), 64 bytes of
// 2-bit high parts (qh), 16 int8 scales (one per 16 weights), f16 d. Each half (n = 0, 1) of 128
// weights has four groups g of 32: weight l of group g takes the low (g < 2) or high nibble of
// ql[64n + l + 32(g & 1)] and bits 2g..2g+1 of qh[32n + l]; w = d * scale * (q - 32).
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
  return half_at(base + 208u);
}

/** Weights 4i .. 4i + 3 of group g of half n, from one ql and one qh word. */
fn q6_4(base: u32, n: u32, g: u32, i: u32) -> vec4f {
  let lo = (word_at(base + n * 64u + (g & 1u) * 32u + 4u * i) >> select(0u, 4u, g >= 2u)) & 0x0f0f0f0fu;
  let hi = (word_at(base + 128u + n * 32u + 4u * i) >> (2u * g)) & 0x03030303u;
  let q = lo | (hi << 4u);
  return vec4f(f32(q & 0xffu), f32((q >> 8u) & 0xffu), f32((q >> 16u) & 0xffu), f32(q >> 24u)) - 32.0;
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
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let base = (row * (K / 256u) + blk / 8u) * 210u;
  let sub = blk % 8u;
  let n = sub / 4u;
  let g = sub % 4u;
  // Weights 0..15 and 16..31 of the group have their own scales.
  let s0 = dot(q6_4(base, n, g, 0u), x.v[0]) + dot(q6_4(base, n, g, 1u), x.v[1]) + dot(q6_4(base, n, g, 2u), x.v[2]) + dot(q6_4(base, n, g, 3u), x.v[3]);
  let s1 = dot(q6_4(base, n, g, 4u), x.v[4]) + dot(q6_4(base, n, g, 5u), x.v[5]) + dot(q6_4(base, n, g, 6u), x.v[6]) + dot(q6_4(base, n, g, 7u), x.v[7]);
  return q6_d(base) * (q6_scale(base, n, g, 0u) * s0 + q6_scale(base, n, g, 16u) * s1);
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let base = (row * (K / 256u) + blk / 8u) * 210u;
  let sub = blk % 8u;
  let n = sub / 4u;
  let g = sub % 4u;
  let d0 = q6_d(base) * q6_scale(base, n, g, 0u);
  let d1 = q6_d(base) * q6_scale(base, n, g, 16u);
  return X32(array<vec4f, 8>(q6_4(base, n, g, 0u) * d0, q6_4(base, n, g, 1u) * d0, q6_4(base, n, g, 2u) * d0, q6_4(base, n, g, 3u) * d0,
                             q6_4(base, n, g, 4u) * d1, q6_4(base, n, g, 5u) * d1, q6_4(base, n, g, 6u) * d1, q6_4(base, n, g, 7u) * d1));
}
