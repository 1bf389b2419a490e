// Q4_KW: ggml's Q4_K repacked at load for the integer-input matvec of CPU-backed adapters
// (SwiftShader; see int_q4_k.wgsl). A super-block of 256 weights is 48 words: the 8 sub-block
// scales d * sc_s as float32, the 8 mins dmin * m_s as float32 (unpacked once at load instead
// of from 6-bit fields at every use), then Q4_K's 128 quant bytes: sub-block s is the low (even
// s) or high (odd s) nibbles of bytes 32 (s / 2) .. + 32; w = scale_s * q - min_s.
fn q4_kw_base(row: u32, blk: u32, K: u32) -> u32 {
  return (row * (K / 256u) + blk / 8u) * 48u;
}

fn q4_kw_q(a: u32, s: u32) -> X32 {
  let q = a + 16u + 8u * (s / 2u);
  let sh = 4u * (s & 1u);
  return X32(array<vec4f, 8>(nibbles(w[q], sh), nibbles(w[q + 1u], sh), nibbles(w[q + 2u], sh), nibbles(w[q + 3u], sh),
                             nibbles(w[q + 4u], sh), nibbles(w[q + 5u], sh), nibbles(w[q + 6u], sh), nibbles(w[q + 7u], sh)));
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let a = q4_kw_base(row, col / 32u, K);
  let s = (col % 256u) / 32u;
  let l = col % 32u;
  let byte = (w[a + 16u + 8u * (s / 2u) + l / 4u] >> ((l % 4u) * 8u)) & 0xffu;
  return bitcast<f32>(w[a + s]) * f32((byte >> (4u * (s & 1u))) & 15u) - bitcast<f32>(w[a + 8u + s]);
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let a = q4_kw_base(row, blk, K);
  let s = blk % 8u;
  return bitcast<f32>(w[a + s]) * dot_x32(q4_kw_q(a, s), x) - bitcast<f32>(w[a + 8u + s]) * sum_x32(x);
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let a = q4_kw_base(row, blk, K);
  let s = blk % 8u;
  return affine32(q4_kw_q(a, s), bitcast<f32>(w[a + s]), -bitcast<f32>(w[a + 8u + s]));
}
