// A block of 32 inputs as quantize.wgsl's `quantize` writes them (for int_q4_0.wgsl and
// int_q5_0.wgsl): 16 words of packed pairs, the scale, and 8 * Σ xi.

/** A block of inputs: 16 packed pairs, the scale, and 8 * Σ xi (Q4_0's offset of 8; Q5_0 takes twice it). */
struct XIn { p: array<vec4u, 4>, s: f32, sum8: i32 }

fn x_in(o: u32) -> XIn {
  return XIn(array<vec4u, 4>(vec4u(xq[o], xq[o + 1u], xq[o + 2u], xq[o + 3u]), vec4u(xq[o + 4u], xq[o + 5u], xq[o + 6u], xq[o + 7u]),
                             vec4u(xq[o + 8u], xq[o + 9u], xq[o + 10u], xq[o + 11u]), vec4u(xq[o + 12u], xq[o + 13u], xq[o + 14u], xq[o + 15u])),
             bitcast<f32>(xq[o + 16u]), bitcast<i32>(xq[o + 17u]));
}

