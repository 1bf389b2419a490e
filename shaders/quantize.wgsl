// x (float32, [T, K] from x_off) → xq: the inputs of the integer matvecs on CPU-backed adapters,
// 18 words per block of 32 inputs either way.
//
// quantize (for Q4_0, int_q4_0.wgsl): each block is rounded to integers xi at a power-of-two scale
// s = 2^(e - 7), e the exponent of the block's largest |x|, so |xi| <= 256 (9 bits; llama.cpp
// uses 8) and x / s is exact: the CPU reference (quantizeInput in engine/cpu/forward.ts) rounds
// to the very same integers. Blocks whose largest |x| is below 2^-100 become zeros.
// A block is 18 words, [T, K / 32, 18]:
//   0..15  pairs of inputs packed as xi_a + 65536 * xi_b (two's complement), in the order the
//          matvec multiplies them with pairs of 4-bit weights: for quant word i (bytes 4i..4i+3
//          of the block) words 4i..4i+3 hold (x[4i+2], x[4i]), (x[4i+3], x[4i+1]),
//          (x[4i+18], x[4i+16]), (x[4i+19], x[4i+17]) as (low, high);
//   16     s (float32 bits);
//   17     8 * Σ xi (i32 bits): Q4_0's offset of 8, taken out of the weights once per block.
//
// quantize8 (for Q8_0, int_q8_0.wgsl): each block is rounded to int8 as llama.cpp rounds
// activations for Q8_0 weights, xi = round(x * (127 / m)) with m the largest |x|, whose scale is
// m / 127 (float32 divisions and products, correctly rounded on CPUs: the reference's
// quantizeInput8 computes the same numbers). Blocks with m below 2^-100 become zeros.
//   0..7   x[4i..4i+3] as four int8 bytes (dot4I8Packed's operand);
//   16     m / 127 (float32 bits).

struct Params {
  K: u32,      // inputs per token, a multiple of 32
  x_off: u32,  // offset of token 0's input in x
  tokens: u32, // 0: use step.T; otherwise this many
  pad: u32,
}
struct Step { pos0: u32, T: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> xq: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> step: Step;

var<private> xi: array<i32, 32>;

fn pack(lo: u32, hi: u32) -> u32 {
  return bitcast<u32>(xi[lo] + (xi[hi] << 16u));
}

/** The thread's block (x = block, y = token) of the step, or false past its end. */
fn in_step(g: vec3u) -> bool {
  return g.x < p.K / 32u && g.y < select(p.tokens, step.T, p.tokens == 0u);
}

/** Offset of the block's first input in x, and of its words in xq. */
fn x_at(g: vec3u) -> u32 { return p.x_off + g.y * p.K + g.x * 32u; }
fn xq_at(g: vec3u) -> u32 { return (g.y * (p.K / 32u) + g.x) * 18u; }

/** The block's largest |x|. */
fn block_max(xo: u32) -> f32 {
  var m = 0.0;
  for (var j = 0u; j < 32u; j++) { m = max(m, abs(x[xo + j])); }
  return m;
}

@compute @workgroup_size(16)
fn quantize(@builtin(global_invocation_id) g: vec3u) {
  if (!in_step(g)) { return; }
  let xo = x_at(g);
  let m = block_max(xo);
  let e = i32(bitcast<u32>(m) >> 23u) - 127; // m >= 0: its biased exponent
  var sum = 0;
  for (var j = 0u; j < 32u; j++) {
    xi[j] = select(0, i32(round(ldexp(x[xo + j], 7 - e))), e >= -100);
    sum += xi[j];
  }
  let o = xq_at(g);
  for (var i = 0u; i < 4u; i++) {
    xq[o + 4u * i] = pack(4u * i + 2u, 4u * i);
    xq[o + 4u * i + 1u] = pack(4u * i + 3u, 4u * i + 1u);
    xq[o + 4u * i + 2u] = pack(4u * i + 18u, 4u * i + 16u);
    xq[o + 4u * i + 3u] = pack(4u * i + 19u, 4u * i + 17u);
  }
  xq[o + 16u] = bitcast<u32>(select(0.0, ldexp(1.0, e - 7), e >= -100));
  xq[o + 17u] = bitcast<u32>(8 * sum);
}

@compute @workgroup_size(16)
fn quantize8(@builtin(global_invocation_id) g: vec3u) {
  if (!in_step(g)) { return; }
  let xo = x_at(g);
  let m = block_max(xo);
  let live = m >= 0x1p-100f;
  let inv = select(0.0, 127.0 / m, live);
  let o = xq_at(g);
  for (var i = 0u; i < 8u; i++) {
    let v = vec4i(round(vec4f(x[xo + 4u * i], x[xo + 4u * i + 1u], x[xo + 4u * i + 2u], x[xo + 4u * i + 3u]) * inv));
    xq[o + i] = pack4xI8(v);
  }
  xq[o + 16u] = bitcast<u32>(select(0.0, m / 127.0, live));
}
