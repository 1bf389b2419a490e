// matvec_int: y = W x for Q4_0W weights (dequant_q4_0w.wgsl) and integer inputs (quantize.wgsl),
// on CPU-backed adapters (SwiftShader). Appended to matmul.wgsl, whose bindings, Params and store
// it shares; x_off is unused (quantize.wgsl already applied it).
// Why integers: SwiftShader runs 4 invocations per SSE instruction, and a float dot product
// costs ~6 instructions per 4-bit weight (unpack, convert, offset, multiply, add). Here one 32-bit
// multiply does two weights: a quant word masked with 0x000F000F holds two weights qa + 65536 qb,
// and times a packed pair xb + 65536 xa its bits 16..31 hold qa * xa + qb * xb (the qa * xb below
// them stays under 2^15, the qb * xa above falls off the word). Four such products per quant word
// are summed before the halfword is taken: 8 terms of |q * xi| <= 15 * 256 stay within ±32767.
// A thread per 8 rows shares each input block: on SwiftShader the kernel alone is ~2.5x the float
// matvec_rows (Q4_0, 576 x 1536: 0.40 → 1.0-1.1 GMAC/s), the 135M model's decode 2.4x faster
// in Node. 16 rows per thread measured faster alone (1.2) but 1.8x slower in the model.
// GPUs never run it: their float kernels are bandwidth-bound, and keep float inputs.

@group(0) @binding(9) var<storage, read> xq: array<u32>;

struct XQBlock { p: array<vec4u, 4>, s: f32, sum8: i32 }

fn xq_block(o: u32) -> XQBlock {
  return XQBlock(array<vec4u, 4>(vec4u(xq[o], xq[o + 1u], xq[o + 2u], xq[o + 3u]), vec4u(xq[o + 4u], xq[o + 5u], xq[o + 6u], xq[o + 7u]),
                                 vec4u(xq[o + 8u], xq[o + 9u], xq[o + 10u], xq[o + 11u]), vec4u(xq[o + 12u], xq[o + 13u], xq[o + 14u], xq[o + 15u])),
                 bitcast<f32>(xq[o + 16u]), bitcast<i32>(xq[o + 17u]));
}

/** A block's quant words as the products take them: masked pairs of weights, and the scale. */
struct Q4Pairs { a: vec4u, b: vec4u, c: vec4u, d: vec4u, scale: f32 }

fn q4_pairs(row: u32, blk: u32, K: u32) -> Q4Pairs {
  let w = q4_block(row, blk, K);
  let m = vec4u(0x000F000Fu);
  return Q4Pairs(w.q & m, (w.q >> vec4u(8u)) & m, (w.q >> vec4u(4u)) & m, (w.q >> vec4u(12u)) & m, w.d);
}

/** Σ q * xi over the 8 weights of quant word i (q in 0..15: the offset of 8 is taken out later). */
fn sdot(w: Q4Pairs, i: u32, x: vec4u) -> i32 {
  let s = w.a[i] * x.x + w.b[i] * x.y + w.c[i] * x.z + w.d[i] * x.w;
  return bitcast<i32>(s + 0x8000u) >> 16u; // the rounding constant absorbs the low halfword's sign
}

/** A block of weights times a block of integer inputs, in units of the inputs' scale. */
fn pdot(w: Q4Pairs, x: XQBlock) -> f32 {
  let s = sdot(w, 0u, x.p[0]) + sdot(w, 1u, x.p[1]) + sdot(w, 2u, x.p[2]) + sdot(w, 3u, x.p[3]);
  return w.scale * f32(s - x.sum8);
}

fn dotq(row: u32, blk: u32, K: u32, x: XQBlock) -> f32 {
  return pdot(q4_pairs(row, blk, K), x);
}

@compute @workgroup_size(16)
fn matvec_int(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row0 = (g.x + g.y * nwg.x * 16u) * 8u;
  let t = g.z;
  if (row0 >= p.N || t >= token_count()) { return; }
  let last = p.N - 1u;
  let ra = min(vec4u(row0) + vec4u(0u, 1u, 2u, 3u), vec4u(last));
  let rb = min(vec4u(row0) + vec4u(4u, 5u, 6u, 7u), vec4u(last));
  let nb = p.K / 32u;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  for (var b = 0u; b < nb; b++) {
    let x = xq_block((t * nb + b) * 18u);
    acc0 += x.s * vec4f(dotq(ra.x, b, p.K, x), dotq(ra.y, b, p.K, x), dotq(ra.z, b, p.K, x), dotq(ra.w, b, p.K, x));
    acc1 += x.s * vec4f(dotq(rb.x, b, p.K, x), dotq(rb.y, b, p.K, x), dotq(rb.z, b, p.K, x), dotq(rb.w, b, p.K, x));
  }
  for (var r = 0u; r < 4u; r++) {
    if (row0 + r < p.N) { store(t, p.row_off + row0 + r, acc0[r]); }
    if (row0 + 4u + r < p.N) { store(t, p.row_off + row0 + 4u + r, acc1[r]); }
  }
}

/**
 * Prompt steps: a thread per 4 rows x 4 tokens, each row's block split into pairs once for its
 * 4 tokens (the shifts and masks are a third of matvec_int's work per weight).
 */
@compute @workgroup_size(16)
fn gemm_int(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row0 = (g.x + g.y * nwg.x * 16u) * 4u;
  let T = token_count();
  let t0 = g.z * 4u;
  if (row0 >= p.N || t0 >= T) { return; }
  // Rows past N and tokens past T repeat the last ones (and are not stored): reads stay in bounds.
  let ts = min(vec4u(t0) + vec4u(0u, 1u, 2u, 3u), vec4u(T - 1u));
  let nb = p.K / 32u;
  var acc: array<vec4f, 4>; // acc[r][i]: row row0 + r, token t0 + i
  for (var b = 0u; b < nb; b++) {
    let x0 = xq_block((ts.x * nb + b) * 18u);
    let x1 = xq_block((ts.y * nb + b) * 18u);
    let x2 = xq_block((ts.z * nb + b) * 18u);
    let x3 = xq_block((ts.w * nb + b) * 18u);
    for (var r = 0u; r < 4u; r++) {
      let w = q4_pairs(min(row0 + r, p.N - 1u), b, p.K);
      acc[r] += vec4f(x0.s * pdot(w, x0), x1.s * pdot(w, x1), x2.s * pdot(w, x2), x3.s * pdot(w, x3));
    }
  }
  for (var r = 0u; r < 4u; r++) {
    for (var i = 0u; i < 4u; i++) {
      if (row0 + r < p.N && t0 + i < T) { store(t0 + i, p.row_off + row0 + r, acc[r][i]); }
    }
  }
}
