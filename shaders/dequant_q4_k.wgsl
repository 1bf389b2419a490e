// ggml Q4_K: super-blocks of 256 weights (144 bytes) = f16 d, f16 dmin, 12 bytes packing eight
// 6-bit (scale, min) pairs, then 128 bytes of nibbles. Sub-block s of 32 weights (s = 0..7) uses
// pair s and the low (even s) or high (odd s) nibbles of bytes 32*(s/2) .. +32;
// w = d * scale_s * q - dmin * min_s.
fn w_at(row: u32, col: u32, K: u32) -> f32 {
  let base = (row * (K / 256u) + col / 256u) * 144u;
  let j = col % 256u;
  let sub = j / 32u;
  let sm = scale_min_k4(base + 4u, sub);
  let byte = wbyte(base + 16u + (sub / 2u) * 32u + j % 32u);
  let q = select(byte & 15u, byte >> 4u, (sub & 1u) == 1u);
  return half_at(base) * sm.x * f32(q) - half_at(base + 2u) * sm.y;
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
  let sq = dot(nibbles(w[q], s), x.v[0]) + dot(nibbles(w[q + 1u], s), x.v[1]) + dot(nibbles(w[q + 2u], s), x.v[2]) + dot(nibbles(w[q + 3u], s), x.v[3]) +
           dot(nibbles(w[q + 4u], s), x.v[4]) + dot(nibbles(w[q + 5u], s), x.v[5]) + dot(nibbles(w[q + 6u], s), x.v[6]) + dot(nibbles(w[q + 7u], s), x.v[7]);
  return half_at(base) * sm.x * sq - half_at(base + 2u) * sm.y * sum_x32(x);
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let base = (row * (K / 256u) + blk / 8u) * 144u;
  let sub = blk % 8u;
  let sm = scale_min_k4(base + 4u, sub);
  let q = (base + 16u + (sub / 2u) * 32u) >> 2u;
  let s = (sub & 1u) * 4u;
  let a = half_at(base) * sm.x;
  let m = vec4f(half_at(base + 2u) * sm.y);
  return X32(array<vec4f, 8>(nibbles(w[q], s) * a - m, nibbles(w[q + 1u], s) * a - m, nibbles(w[q + 2u], s) * a - m, nibbles(w[q + 3u], s) * a - m,
                             nibbles(w[q + 4u], s) * a - m, nibbles(w[q + 5u], s) * a - m, nibbles(w[q + 6u], s) * a - m, nibbles(w[q + 7u], s) * a - m));
}
