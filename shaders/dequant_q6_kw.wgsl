// Q6_KW: ggml's Q6_K repacked at load for the integer-input matvec of CPU-backed adapters
// (SwiftShader; see int_q6_k.wgsl). A super-block of 256 weights is 64 words: the 16 group
// scales d * sc_j as float32, then Q6_K's 128 bytes of low nibbles (ql) and 64 bytes of high
// 2-bit pairs (qh), now word-aligned. Sub-block s of 32 weights is group g = s % 4 of half
// n = s / 4: weight l takes the low (g < 2) or high nibble of ql[64 n + 32 (g & 1) + l] and bits
// 2g, 2g + 1 of qh[32 n + l]; its weights 0..15 use scale 8 n + 2 g, 16..31 the next one;
// w = scale * (q - 32).
fn q6_kw_base(row: u32, blk: u32, K: u32) -> u32 {
  return (row * (K / 256u) + blk / 8u) * 64u;
}

/** Weights 4i .. 4i + 3 of sub-block s as four bytes q (0..63). */
fn q6_kw_word(a: u32, s: u32, i: u32) -> u32 {
  let n = s / 4u;
  let g = s % 4u;
  let lo = (w[a + 16u + 16u * n + 8u * (g & 1u) + i] >> select(0u, 4u, g >= 2u)) & 0x0f0f0f0fu;
  let hi = (w[a + 48u + 8u * n + i] >> (2u * g)) & 0x03030303u;
  return lo | (hi << 4u);
}

/** (scale of weights 0..15, scale of 16..31) of sub-block s. */
fn q6_kw_scales(a: u32, s: u32) -> vec2f {
  let j = a + 8u * (s / 4u) + 2u * (s % 4u);
  return vec2f(bitcast<f32>(w[j]), bitcast<f32>(w[j + 1u]));
}

fn q6_kw_q(a: u32, s: u32) -> X32 {
  return X32(array<vec4f, 8>(bytes4(q6_kw_word(a, s, 0u)) - 32.0, bytes4(q6_kw_word(a, s, 1u)) - 32.0, bytes4(q6_kw_word(a, s, 2u)) - 32.0, bytes4(q6_kw_word(a, s, 3u)) - 32.0,
                             bytes4(q6_kw_word(a, s, 4u)) - 32.0, bytes4(q6_kw_word(a, s, 5u)) - 32.0, bytes4(q6_kw_word(a, s, 6u)) - 32.0, bytes4(q6_kw_word(a, s, 7u)) - 32.0));
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let a = q6_kw_base(row, col / 32u, K);
  let s = (col % 256u) / 32u;
  let l = col % 32u;
  let q = (q6_kw_word(a, s, l / 4u) >> ((l % 4u) * 8u)) & 0xffu;
  let sc = q6_kw_scales(a, s);
  return select(sc.x, sc.y, l >= 16u) * (f32(q) - 32.0);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let a = q6_kw_base(row, blk, K);
  return dot(q6_kw_scales(a, blk % 8u), dot_halves(q6_kw_q(a, blk % 8u), x));
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let a = q6_kw_base(row, blk, K);
  return affine_halves(q6_kw_q(a, blk % 8u), q6_kw_scales(a, blk % 8u), vec2f(0.0));
}
