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
