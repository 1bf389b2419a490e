// Helpers for every weight reader (dequant_*.wgsl), prepended before them. The weights are bound
// as `w: array<u32>` by the kernel family; ggml blocks start on 2-byte boundaries, so multi-byte
// fields are read from one or two words. Every reader provides, for the block of 32 weights
// `blk` of row `row`:
//   w_at(row, col, K)        one weight (gemm tiles, embedding lookups);
//   dot32(row, blk, K, xoff) its dot product with inputs read through xin/xin4;
//   dot32x(row, blk, K, x)   the same with the inputs given (shared by the rows of a thread);
//   deq32(row, blk, K)       the block dequantised (shared by the tokens of a thread).
// dot32x and deq32 need whole blocks (K a multiple of 32).

/** The 32 inputs of one 32-weight block, loaded once and shared by every row that reads them (dot32x). */
struct X32 { v: array<vec4f, 8> }

/** The 32 inputs starting at input index j, read through the kernel family's xin4. */
fn x32(j: u32) -> X32 {
  return X32(array<vec4f, 8>(xin4(j), xin4(j + 4u), xin4(j + 8u), xin4(j + 12u), xin4(j + 16u), xin4(j + 20u), xin4(j + 24u), xin4(j + 28u)));
}

/** Σ a·b over a block: a dequantised block (deq32) with a token's inputs. */
fn dot_x32(a: X32, b: X32) -> f32 {
  return dot(a.v[0], b.v[0]) + dot(a.v[1], b.v[1]) + dot(a.v[2], b.v[2]) + dot(a.v[3], b.v[3]) +
         dot(a.v[4], b.v[4]) + dot(a.v[5], b.v[5]) + dot(a.v[6], b.v[6]) + dot(a.v[7], b.v[7]);
}

fn wbyte(b: u32) -> u32 {
  return (w[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

/** The float16 at byte b (b even). */
fn half_at(b: u32) -> f32 {
  return unpack2x16float(w[b >> 2u] >> ((b & 2u) * 8u)).x;
}

/** The 4 bytes at byte b (b even): one word, or the halves of two. Branch-free (SwiftShader runs both sides of a branch anyway). */
fn word_at(b: u32) -> u32 {
  let a = b >> 2u;
  return select(w[a], (w[a] >> 16u) | (w[a + 1u] << 16u), (b & 2u) != 0u);
}

/** The four bytes of a word as floats. */
fn bytes4(v: u32) -> vec4f {
  return vec4f(f32(v & 0xffu), f32((v >> 8u) & 0xffu), f32((v >> 16u) & 0xffu), f32(v >> 24u));
}

/** Four 4-bit fields of one word: the bytes' low (shift 0) or high (shift 4) nibbles. */
fn nibbles(word: u32, shift: u32) -> vec4f {
  return bytes4((word >> shift) & 0x0f0f0f0fu);
}

/** Σ of a block's 32 inputs (for the types whose weights carry an offset: d * q + m). */
fn sum_x32(x: X32) -> f32 {
  return dot(x.v[0] + x.v[1] + x.v[2] + x.v[3] + x.v[4] + x.v[5] + x.v[6] + x.v[7], vec4f(1.0));
}

/** A block of integer weights q as d * q + m (deq32 of the affine types). */
fn affine32(q: X32, d: f32, m: f32) -> X32 {
  return X32(array<vec4f, 8>(q.v[0] * d + m, q.v[1] * d + m, q.v[2] * d + m, q.v[3] * d + m, q.v[4] * d + m, q.v[5] * d + m, q.v[6] * d + m, q.v[7] * d + m));
}

/** Σ q·x over each half (weights 0..15, 16..31) of a block: the types with a scale per 16 weights. */
fn dot_halves(q: X32, x: X32) -> vec2f {
  return vec2f(dot(q.v[0], x.v[0]) + dot(q.v[1], x.v[1]) + dot(q.v[2], x.v[2]) + dot(q.v[3], x.v[3]),
               dot(q.v[4], x.v[4]) + dot(q.v[5], x.v[5]) + dot(q.v[6], x.v[6]) + dot(q.v[7], x.v[7]));
}

/** Σ x over each half of a block. */
fn sum_halves(x: X32) -> vec2f {
  return vec2f(dot(x.v[0] + x.v[1] + x.v[2] + x.v[3], vec4f(1.0)), dot(x.v[4] + x.v[5] + x.v[6] + x.v[7], vec4f(1.0)));
}

/** affine32 with its own (d, m) for each half of the block. */
fn affine_halves(q: X32, d: vec2f, m: vec2f) -> X32 {
  return X32(array<vec4f, 8>(q.v[0] * d.x + m.x, q.v[1] * d.x + m.x, q.v[2] * d.x + m.x, q.v[3] * d.x + m.x,
                             q.v[4] * d.y + m.y, q.v[5] * d.y + m.y, q.v[6] * d.y + m.y, q.v[7] * d.y + m.y));
}

/** The 32 five-bit quants of a Q5_0/Q5_1 block: low nibbles from the four quant words q, fifth bits from qh (bit j is weight j's). */
fn q5_32(qh: u32, q: vec4u) -> X32 {
  let lo = (q & vec4u(0x0f0f0f0fu)) | (vec4u(bits4(qh), bits4(qh >> 4u), bits4(qh >> 8u), bits4(qh >> 12u)) << vec4u(4u));
  let hi = ((q >> vec4u(4u)) & vec4u(0x0f0f0f0fu)) | (vec4u(bits4(qh >> 16u), bits4(qh >> 20u), bits4(qh >> 24u), bits4(qh >> 28u)) << vec4u(4u));
  return X32(array<vec4f, 8>(bytes4(lo.x), bytes4(lo.y), bytes4(lo.z), bytes4(lo.w), bytes4(hi.x), bytes4(hi.y), bytes4(hi.z), bytes4(hi.w)));
}

/** Bits 0..3 of b moved to bit 0 of bytes 0..3 (the fifth bits of Q5_0/Q5_1 weights, four at a time). */
fn bits4(b: u32) -> u32 {
  return (b & 1u) | ((b & 2u) << 7u) | ((b & 4u) << 14u) | ((b & 8u) << 21u);
}

/** (scale, min) of sub-block j of a Q4_K/Q5_K super-block, from its 12 scale bytes at byte s (ggml get_scale_min_k4). */
fn scale_min_k4(s: u32, j: u32) -> vec2f {
  if (j < 4u) { return vec2f(f32(wbyte(s + j) & 63u), f32(wbyte(s + j + 4u) & 63u)); }
  let sc = (wbyte(s + j + 4u) & 15u) | ((wbyte(s + j - 4u) >> 6u) << 4u);
  let mn = (wbyte(s + j + 4u) >> 4u) | ((wbyte(s + j) >> 6u) << 4u);
  return vec2f(f32(sc), f32(mn));
}
