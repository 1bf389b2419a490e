// Q8_0's arithmetic, shared by its two layouts: ggml's 34-byte blocks (dequant_q8_0.wgsl) and the
// word-aligned repack of CPU-backed adapters (dequant_q8_0w.wgsl). Each layout provides
// q8_block(row, blk, K): a block's eight quant words and its scale.

struct Q8Block { q0: vec4u, q1: vec4u, d: f32 }

fn q8_vec(q: u32) -> vec4f {
  let v = bitcast<vec4i>(vec4u(q << 24u, q << 16u, q << 8u, q)) >> vec4u(24u);
  return vec4f(v);
}

fn dot32x(row: u32, blk: u32, K: u32, x: X32) -> f32 {
  let b = q8_block(row, blk, K);
  return b.d * (dot(q8_vec(b.q0.x), x.v[0]) + dot(q8_vec(b.q0.y), x.v[1]) + dot(q8_vec(b.q0.z), x.v[2]) + dot(q8_vec(b.q0.w), x.v[3]) +
                dot(q8_vec(b.q1.x), x.v[4]) + dot(q8_vec(b.q1.y), x.v[5]) + dot(q8_vec(b.q1.z), x.v[6]) + dot(q8_vec(b.q1.w), x.v[7]));
}

fn deq32(row: u32, blk: u32, K: u32) -> X32 {
  let b = q8_block(row, blk, K);
  return X32(array<vec4f, 8>(q8_vec(b.q0.x) * b.d, q8_vec(b.q0.y) * b.d, q8_vec(b.q0.z) * b.d, q8_vec(b.q0.w) * b.d,
                             q8_vec(b.q1.x) * b.d, q8_vec(b.q1.y) * b.d, q8_vec(b.q1.z) * b.d, q8_vec(b.q1.w) * b.d));
}
