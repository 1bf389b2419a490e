// ggml Q4_K: super-blocks of 256 weights (144 bytes) = f16 d, f16 dmin, 12 bytes packing eight
// 6-bit (scale, min) pairs, then 128 bytes of nibbles. Sub-block s of 32 weights (s = 0..7) uses
// pair s and the low (even s) or high (odd s) nibbles of bytes 32*(s/2) .. +32;
// w = d * scale_s * q - dmin * min_s.
fn wbyte(b: u32) -> u32 {
  return (w[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

fn half_at(b: u32) -> f32 {
  return unpack2x16float(w[b >> 2u] >> ((b & 2u) * 8u)).x;
}

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

fn dot32(row: u32, blk: u32, K: u32, xoff: u32) -> f32 {
  let base = (row * (K / 256u) + blk / 8u) * 144u;
  let sub = blk % 8u;
  let sm = scale_min_k4(base + 4u, sub);
  let qb = base + 16u + (sub / 2u) * 32u;
  let shift = (sub & 1u) * 4u;
  let xb = xoff + blk * 32u;
  var sq = 0.0;
  var sx = 0.0;
  for (var l = 0u; l < 32u; l += 4u) {
    let word = w[(qb + l) >> 2u]; // qb is 4-aligned: 144-byte blocks, 16 + 32k offsets
    let q = vec4f(f32((word >> shift) & 15u), f32((word >> (8u + shift)) & 15u), f32((word >> (16u + shift)) & 15u), f32((word >> (24u + shift)) & 15u));
    let xv = xin4(xb + l);
    sq += dot(q, xv);
    sx += xv.x + xv.y + xv.z + xv.w;
  }
  return half_at(base) * sm.x * sq - half_at(base + 2u) * sm.y * sx;
}
