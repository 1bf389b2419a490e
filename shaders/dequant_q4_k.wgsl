// ggml Q4_K: super-blocks of 256 weights (144 bytes) = f16 d, f16 dmin, 12 bytes packing eight
// 6-bit (scale, min) pairs, then 128 bytes of nibbles. Sub-block s of 32 weights (s = 0..7) uses
// pair s and the low (even s) or high (odd s) nibbles of bytes 32*(s/2) .. +32;
// w = d * scale_s * q - dmin * min_s.
/** (scale, min) of sub-block j, from the 12 scale bytes at byte s. */
fn scale_min_k4(s: u32, j: u32) -> vec2f {
  if (j < 4u) { return vec2f(f32(wbyte(s + j) & 63u), f32(wbyte(s + j + 4u) & 63u)); }
  let sc = (wbyte(s + j + 4u) & 15u) | ((wbyte(s + j - 4u) >> 6u) << 4u);
  let mn = (wbyte(s + j + 4u) >> 4u) | ((wbyte(s + j) >> 6u) << 4u);
  return vec2f(f32(sc), f32(mn));
}

fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = (row * (K / 256u) + col / 256u) * 144u;
  let j = col % 256u;
  let sub = j / 32u;
  let sm = scale_min_k4(base + 4u, sub);
  let byte = wbyte(base + 16u + (sub / 2u) * 32u + j % 32u);
  let q = select(byte & 15u, byte >> 4u, (sub & 1u) == 1u);
  return half_at(base) * sm.x * f32(q) - half_at(base + 2u) * sm.y;
}

/** Four nibbles (bytes' low or high halves) of one quant word. */
fn q4k_nib(word: u32, shift: u32) -> vec4f {
  return vec4f(f32((word >> shift) & 15u), f32((word >> (8u + shift)) & 15u), f32((word >> (16u + shift)) & 15u), f32((word >> (24u + shift)) & 15u));
}

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  return dot32x(row, blk, K, x32(xoff + blk * 32u));
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let base = (row * (K / 256u) + blk / 8u) * 144u;
  let sub = blk % 8u;
  let sm = scale_min_k4(base + 4u, sub);
  let q = (base + 16u + (sub / 2u) * 32u) >> 2u; // 4-aligned: 144-byte blocks, 16 + 32k offsets
  let s = (sub & 1u) * 4u;
  let sq = dot(q4k_nib(w[q], s), x.v[0]) + dot(q4k_nib(w[q + 1u], s), x.v[1]) + dot(q4k_nib(w[q + 2u], s), x.v[2]) + dot(q4k_nib(w[q + 3u], s), x.v[3]) +
           dot(q4k_nib(w[q + 4u], s), x.v[4]) + dot(q4k_nib(w[q + 5u], s), x.v[5]) + dot(q4k_nib(w[q + 6u], s), x.v[6]) + dot(q4k_nib(w[q + 7u], s), x.v[7]);
  let sx = dot(x.v[0] + x.v[1] + x.v[2] + x.v[3] + x.v[4] + x.v[5] + x.v[6] + x.v[7], vec4f(1.0));
  return half_at(base) * sm.x * sq - half_at(base + 2u) * sm.y * sx;
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let base = (row * (K / 256u) + blk / 8u) * 144u;
  let sub = blk % 8u;
  let sm = scale_min_k4(base + 4u, sub);
  let q = (base + 16u + (sub / 2u) * 32u) >> 2u;
  let s = (sub & 1u) * 4u;
  let a = half_at(base) * sm.x;
  let m = vec4f(half_at(base + 2u) * sm.y);
  return X32(array<vec4f, 8>(q4k_nib(w[q], s) * a - m, q4k_nib(w[q + 1u], s) * a - m, q4k_nib(w[q + 2u], s) * a - m, q4k_nib(w[q + 3u], s) * a - m,
                             q4k_nib(w[q + 4u], s) * a - m, q4k_nib(w[q + 5u], s) * a - m, q4k_nib(w[q + 6u], s) * a - m, q4k_nib(w[q + 7u], s) * a - m));
}
