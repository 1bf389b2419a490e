// matvec_int: y = W x for Q4_0W weights (dequant_q4_0w.wgsl) and integer inputs (quantize.wgsl),
// on CPU-backed adapters (SwiftShader). Appended to matmul.wgsl, whose bindings, Params and store
// it shares; x_off is unused (quantize.wgsl already applied it).
// Why integers: SwiftShader runs 4 invocations per SSE instruction, and a float dot product
// costs ~6 instructions per 4-bit weight (unpack, convert, offset, multiply, add). Here one 32-bit
// multiply does two weights: a quant word masked with 0x000F000F holds two weights qa + 65536 qb,
// and times a packed pair xb + 65536 xa its bits 16..31 hold qa * xa + qb * xb (the qa * xb below
// them stays under 2^15, the qb * xa above falls off the word). Four such products per quant word
// are summed before the halfword is taken: 8 terms of |q * xi| <= 15 * 256 stay within ±32767.
// A thread per 16 rows shares each input block: on SwiftShader this kernel does 0.9-1.0 GMAC/s on
// the 135M model's shapes where the float matvec_rows does 0.4 (8 rows per thread: 5-10 % less).
// GPUs never run it: their float kernels are bandwidth-bound, and keep float inputs.

@group(0) @binding(9) var<storage, read> xq: array<u32>;

struct XQBlock { p: array<vec4u, 4>, s: f32, sum8: i32 }

fn xq_block(o: u32) -> XQBlock {
  return XQBlock(array<vec4u, 4>(vec4u(xq[o], xq[o + 1u], xq[o + 2u], xq[o + 3u]), vec4u(xq[o + 4u], xq[o + 5u], xq[o + 6u], xq[o + 7u]),
                                 vec4u(xq[o + 8u], xq[o + 9u], xq[o + 10u], xq[o + 11u]), vec4u(xq[o + 12u], xq[o + 13u], xq[o + 14u], xq[o + 15u])),
                 bitcast<f32>(xq[o + 16u]), bitcast<i32>(xq[o + 17u]));
}

/** Σ q * xi over 8 weights: a quant word's four masked pairs (q in 0..15: the offset of 8 is taken out later). */
fn sdot(a: u32, b: u32, c: u32, d: u32, x: vec4u) -> i32 {
  let s = a * x.x + b * x.y + c * x.z + d * x.w;
  return bitcast<i32>(s + 0x8000u) >> 16u; // the rounding constant absorbs the low halfword's sign
}

/** The same from the quant word itself. */
fn sdotw(q: u32, x: vec4u) -> i32 {
  let m = 0x000F000Fu;
  return sdot(q & m, (q >> 8u) & m, (q >> 4u) & m, (q >> 12u) & m, x);
}

/** Row `row`'s block `blk` times a block of integer inputs, in units of the inputs' scale. */
fn dotq(row: u32, blk: u32, K: u32, x: XQBlock) -> f32 {
  let w = q4_block(row, blk, K);
  let s = sdotw(w.q.x, x.p[0]) + sdotw(w.q.y, x.p[1]) + sdotw(w.q.z, x.p[2]) + sdotw(w.q.w, x.p[3]);
  return w.d * f32(s - x.sum8);
}

/** A block's quant words split into masked pairs once, for several tokens (gemm_int). */
struct Q4Pairs { a: vec4u, b: vec4u, c: vec4u, d: vec4u, scale: f32 }

fn q4_pairs(row: u32, blk: u32, K: u32) -> Q4Pairs {
  let w = q4_block(row, blk, K);
  let m = vec4u(0x000F000Fu);
  return Q4Pairs(w.q & m, (w.q >> vec4u(8u)) & m, (w.q >> vec4u(4u)) & m, (w.q >> vec4u(12u)) & m, w.d);
}

// Components by swizzle, never by a variable index: SwiftShader does not fold a constant passed
// as an index argument, and a dynamically indexed vector made this kernel 1.6x slower.
fn pdot(w: Q4Pairs, x: XQBlock) -> f32 {
  let s = sdot(w.a.x, w.b.x, w.c.x, w.d.x, x.p[0]) + sdot(w.a.y, w.b.y, w.c.y, w.d.y, x.p[1]) +
          sdot(w.a.z, w.b.z, w.c.z, w.d.z, x.p[2]) + sdot(w.a.w, w.b.w, w.c.w, w.d.w, x.p[3]);
  return w.scale * f32(s - x.sum8);
}

@compute @workgroup_size(16)
fn matvec_int(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row0 = (g.x + g.y * nwg.x * 16u) * 16u;
  let t = g.z;
  if (row0 >= p.N || t >= token_count()) { return; }
  // Rows of the last thread past N repeat row N - 1 (and are not stored), so reads stay in bounds.
  let last = p.N - 1u;
  let ra = min(vec4u(row0) + vec4u(0u, 1u, 2u, 3u), vec4u(last));
  let rb = min(vec4u(row0) + vec4u(4u, 5u, 6u, 7u), vec4u(last));
  let rc = min(vec4u(row0) + vec4u(8u, 9u, 10u, 11u), vec4u(last));
  let rd = min(vec4u(row0) + vec4u(12u, 13u, 14u, 15u), vec4u(last));
  let nb = p.K / 32u;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var b = 0u; b < nb; b++) {
    let x = xq_block((t * nb + b) * 18u);
    acc0 += x.s * vec4f(dotq(ra.x, b, p.K, x), dotq(ra.y, b, p.K, x), dotq(ra.z, b, p.K, x), dotq(ra.w, b, p.K, x));
    acc1 += x.s * vec4f(dotq(rb.x, b, p.K, x), dotq(rb.y, b, p.K, x), dotq(rb.z, b, p.K, x), dotq(rb.w, b, p.K, x));
    acc2 += x.s * vec4f(dotq(rc.x, b, p.K, x), dotq(rc.y, b, p.K, x), dotq(rc.z, b, p.K, x), dotq(rc.w, b, p.K, x));
    acc3 += x.s * vec4f(dotq(rd.x, b, p.K, x), dotq(rd.y, b, p.K, x), dotq(rd.z, b, p.K, x), dotq(rd.w, b, p.K, x));
  }
  for (var r = 0u; r < 4u; r++) {
    if (row0 + r < p.N) { store(t, p.row_off + row0 + r, acc0[r]); }
    if (row0 + 4u + r < p.N) { store(t, p.row_off + row0 + 4u + r, acc1[r]); }
    if (row0 + 8u + r < p.N) { store(t, p.row_off + row0 + 8u + r, acc2[r]); }
    if (row0 + 12u + r < p.N) { store(t, p.row_off + row0 + 12u + r, acc3[r]); }
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
  let rows = min(vec4u(row0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.N - 1u));
  // acc<r>[i]: row row0 + r, token t0 + i. Rows spelled out: indexing by a loop variable would
  // keep them in memory (see pdot).
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var b = 0u; b < nb; b++) {
    let x0 = xq_block((ts.x * nb + b) * 18u);
    let x1 = xq_block((ts.y * nb + b) * 18u);
    let x2 = xq_block((ts.z * nb + b) * 18u);
    let x3 = xq_block((ts.w * nb + b) * 18u);
    let s = vec4f(x0.s, x1.s, x2.s, x3.s);
    let w0 = q4_pairs(rows.x, b, p.K);
    acc0 += s * vec4f(pdot(w0, x0), pdot(w0, x1), pdot(w0, x2), pdot(w0, x3));
    let w1 = q4_pairs(rows.y, b, p.K);
    acc1 += s * vec4f(pdot(w1, x0), pdot(w1, x1), pdot(w1, x2), pdot(w1, x3));
    let w2 = q4_pairs(rows.z, b, p.K);
    acc2 += s * vec4f(pdot(w2, x0), pdot(w2, x1), pdot(w2, x2), pdot(w2, x3));
    let w3 = q4_pairs(rows.w, b, p.K);
    acc3 += s * vec4f(pdot(w3, x0), pdot(w3, x1), pdot(w3, x2), pdot(w3, x3));
  }
  for (var i = 0u; i < 4u; i++) {
    if (t0 + i < T) {
      if (row0 < p.N) { store(t0 + i, p.row_off + row0, acc0[i]); }
      if (row0 + 1u < p.N) { store(t0 + i, p.row_off + row0 + 1u, acc1[i]); }
      if (row0 + 2u < p.N) { store(t0 + i, p.row_off + row0 + 2u, acc2[i]); }
      if (row0 + 3u < p.N) { store(t0 + i, p.row_off + row0 + 3u, acc3[i]); }
    }
  }
}
