// Helpers for every weight reader (dequant_*.wgsl), prepended before them. The weights are bound
// as `w: array<u32>` by the kernel family; ggml blocks start on 2-byte boundaries, so multi-byte
// fields are read from one or two words.

/** The 32 inputs of one 32-weight block, loaded once and shared by every row that reads them (dot32x). */
struct X32 { v: array<vec4f, 8> }

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
