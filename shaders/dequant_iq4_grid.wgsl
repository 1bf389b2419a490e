// ggml's non-linear 4-bit grid (kvalues_iq4nl), shared by IQ4_NL and IQ4_XS: a 4-bit index q
// stands for IQ4_GRID[q]. A private array, as WGSL only indexes those (not consts) by a runtime value.
var<private> IQ4_GRID: array<f32, 16> = array<f32, 16>(-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0, 1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);

/** Grid values of four nibbles of one word: the bytes' low (shift 0) or high (shift 4) halves. */
fn grid4(word: u32, shift: u32) -> vec4f {
  let q = (word >> shift) & 0x0f0f0f0fu;
  return vec4f(IQ4_GRID[q & 15u], IQ4_GRID[(q >> 8u) & 15u], IQ4_GRID[(q >> 16u) & 15u], IQ4_GRID[q >> 24u]);
}

/** The 32 grid values of 16 quant bytes given as four words (low nibbles first, as ggml orders them). */
fn grid32(q: vec4u) -> X32 {
  return X32(array<vec4f, 8>(grid4(q.x, 0u), grid4(q.y, 0u), grid4(q.z, 0u), grid4(q.w, 0u), grid4(q.x, 4u), grid4(q.y, 4u), grid4(q.z, 4u), grid4(q.w, 4u)));
}
