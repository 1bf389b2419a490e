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
  // The group's 32 ql and 32 qh bytes as 9 + 9 aligned words (q6_4 would load 32 words).
  let ql = words8(base + n * 64u + (g & 1u) * 32u);
  let qh = words8(base + 128u + n * 32u);
  let lo = vec4u(select(0u, 4u, g >= 2u));
  let hi = vec4u(2u * g);
  let m4 = vec4u(0x0f0f0f0fu);
  let m2 = vec4u(0x03030303u);
  let q0 = ((ql.a >> lo) & m4) | (((qh.a >> hi) & m2) << vec4u(4u));
  let q1 = ((ql.b >> lo) & m4) | (((qh.b >> hi) & m2) << vec4u(4u));
  // Weights 0..15 and 16..31 of the group have their own scales.
  let s0 = dot(bytes4(q0.x) - 32.0, x.v[0]) + dot(bytes4(q0.y) - 32.0, x.v[1]) + dot(bytes4(q0.z) - 32.0, x.v[2]) + dot(bytes4(q0.w) - 32.0, x.v[3]);
  let s1 = dot(bytes4(q1.x) - 32.0, x.v[4]) + dot(bytes4(q1.y) - 32.0, x.v[5]) + dot(bytes4(q1.z) - 32.0, x.v[6]) + dot(bytes4(q1.w) - 32.0, x.v[7]);
  return q6_d(base) * (q6_scale(base, n, g, 0u) * s0 + q6_scale(base, n, g, 16u) * s1);
}

/** The 32 bytes at byte b (b even) as 8 words: 9 aligned loads, shifted by half a word when b is not 4-aligned (no branches). */
fn words8(b: u32) -> Words8 {
  let a = b >> 2u;
  let mid = (b & 2u) != 0u;
  let w0 = vec4u(w[a], w[a + 1u], w[a + 2u], w[a + 3u]);
  let w1 = vec4u(w[a + 4u], w[a + 5u], w[a + 6u], w[a + 7u]);
  let n0 = vec4u(w0.yzw, w1.x); // each word's successor
  let n1 = vec4u(w1.yzw, w[a + 8u]);
  return Words8(select(w0, (w0 >> vec4u(16u)) | (n0 << vec4u(16u)), mid), select(w1, (w1 >> vec4u(16u)) | (n1 << vec4u(16u)), mid));
}

struct Words8 { a: vec4u, b: vec4u }

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
