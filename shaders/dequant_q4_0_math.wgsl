// Q4_0's arithmetic, shared by its two layouts: ggml's 18-byte blocks (dequant_q4_0.wgsl) and the
// word-aligned repack of CPU-backed adapters (dequant_q4_0w.wgsl). Each layout provides
// q4_block(row, blk, K): a block's four quant words and its scale.

struct Q4Block { q: vec4u, d: f32 }

fn q4_lo(q: u32) -> vec4f {
  return vec4f(f32(q & 15u), f32((q >> 8u) & 15u), f32((q >> 16u) & 15u), f32((q >> 24u) & 15u)) - 8.0;
}

fn q4_hi(q: u32) -> vec4f {
  return vec4f(f32((q >> 4u) & 15u), f32((q >> 12u) & 15u), f32((q >> 20u) & 15u), f32(q >> 28u)) - 8.0;
}

// dot32x and deq32 spell out the 8 quant vectors each: built once as an X32 and shared, they
// ran 15-35 % slower on SwiftShader (the same holds for Q8_0).
fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let b = q4_block(row, blk, K);
  return b.d * (dot(q4_lo(b.q.x), x.v[0]) + dot(q4_lo(b.q.y), x.v[1]) + dot(q4_lo(b.q.z), x.v[2]) + dot(q4_lo(b.q.w), x.v[3]) +
                dot(q4_hi(b.q.x), x.v[4]) + dot(q4_hi(b.q.y), x.v[5]) + dot(q4_hi(b.q.z), x.v[6]) + dot(q4_hi(b.q.w), x.v[7]));
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let b = q4_block(row, blk, K);
  return X32(array<vec4f, 8>(q4_lo(b.q.x) * b.d, q4_lo(b.q.y) * b.d, q4_lo(b.q.z) * b.d, q4_lo(b.q.w) * b.d,
                             q4_hi(b.q.x) * b.d, q4_hi(b.q.y) * b.d, q4_hi(b.q.z) * b.d, q4_hi(b.q.w) * b.d));
}
