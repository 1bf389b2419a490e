// matvec_int8: y = W x for Q8_0W weights (dequant_q8_0w.wgsl) and int8 inputs (quantize.wgsl's
// quantize8), on CPU-backed adapters (SwiftShader) whose WGSL has dot4I8Packed. Appended to
// matmul.wgsl, whose bindings, Params and store it shares; x_off is unused.
// Why: a float dot product costs ~5 SSE instructions per 8-bit weight there (sign-extend, convert,
// multiply, add); dot4I8Packed multiplies four int8 pairs at once. Measured alone on SwiftShader
// (576 x 3072, aligned blocks): 0.41-0.44 GMAC/s in float, 0.68-0.75 with dot4I8Packed.

@group(0) @binding(9) var<storage, read> xq: array<u32>;

struct XQ8Block { a: vec4u, b: vec4u, s: f32 }

fn xq8_block(o: u32) -> XQ8Block {
  return XQ8Block(vec4u(xq[o], xq[o + 1u], xq[o + 2u], xq[o + 3u]), vec4u(xq[o + 4u], xq[o + 5u], xq[o + 6u], xq[o + 7u]), bitcast<f32>(xq[o + 16u]));
}

/** A block of weights times a block of int8 inputs, in units of the inputs' scale. */
fn dot8(w: Q8Block, x: XQ8Block) -> f32 {
  let s = dot4I8Packed(w.q0.x, x.a.x) + dot4I8Packed(w.q0.y, x.a.y) + dot4I8Packed(w.q0.z, x.a.z) + dot4I8Packed(w.q0.w, x.a.w) +
          dot4I8Packed(w.q1.x, x.b.x) + dot4I8Packed(w.q1.y, x.b.y) + dot4I8Packed(w.q1.z, x.b.z) + dot4I8Packed(w.q1.w, x.b.w);
  return w.d * f32(s);
}

fn dotq8(row: u32, blk: u32, K: u32, x: XQ8Block) -> f32 {
  return dot8(q8_block(row, blk, K), x);
}

// Rows are spelled out, never indexed by a variable: SwiftShader keeps such arrays in memory.
@compute @workgroup_size(16)
fn matvec_int8(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
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
    let x = xq8_block((t * nb + b) * 18u);
    acc0 += x.s * vec4f(dotq8(ra.x, b, p.K, x), dotq8(ra.y, b, p.K, x), dotq8(ra.z, b, p.K, x), dotq8(ra.w, b, p.K, x));
    acc1 += x.s * vec4f(dotq8(rb.x, b, p.K, x), dotq8(rb.y, b, p.K, x), dotq8(rb.z, b, p.K, x), dotq8(rb.w, b, p.K, x));
    acc2 += x.s * vec4f(dotq8(rc.x, b, p.K, x), dotq8(rc.y, b, p.K, x), dotq8(rc.z, b, p.K, x), dotq8(rc.w, b, p.K, x));
    acc3 += x.s * vec4f(dotq8(rd.x, b, p.K, x), dotq8(rd.y, b, p.K, x), dotq8(rd.z, b, p.K, x), dotq8(rd.w, b, p.K, x));
  }
  for (var r = 0u; r < 4u; r++) {
    if (row0 + r < p.N) { store(t, p.row_off + row0 + r, acc0[r]); }
    if (row0 + 4u + r < p.N) { store(t, p.row_off + row0 + 4u + r, acc1[r]); }
    if (row0 + 8u + r < p.N) { store(t, p.row_off + row0 + 8u + r, acc2[r]); }
    if (row0 + 12u + r < p.N) { store(t, p.row_off + row0 + 12u + r, acc3[r]); }
  }
}

/** Prompt steps: a thread per 4 rows x 4 tokens, each row's block loaded once for its 4 tokens. */
@compute @workgroup_size(16)
fn gemm_int8(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row0 = (g.x + g.y * nwg.x * 16u) * 4u;
  let T = token_count();
  let t0 = g.z * 4u;
  if (row0 >= p.N || t0 >= T) { return; }
  // Rows past N and tokens past T repeat the last ones (and are not stored): reads stay in bounds.
  let ts = min(vec4u(t0) + vec4u(0u, 1u, 2u, 3u), vec4u(T - 1u));
  let rows = min(vec4u(row0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.N - 1u));
  let nb = p.K / 32u;
  var acc0 = vec4f(0.0); // acc<r>[i]: row row0 + r, token t0 + i
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var b = 0u; b < nb; b++) {
    let x0 = xq8_block((ts.x * nb + b) * 18u);
    let x1 = xq8_block((ts.y * nb + b) * 18u);
    let x2 = xq8_block((ts.z * nb + b) * 18u);
    let x3 = xq8_block((ts.w * nb + b) * 18u);
    let s = vec4f(x0.s, x1.s, x2.s, x3.s);
    let w0 = q8_block(rows.x, b, p.K);
    acc0 += s * vec4f(dot8(w0, x0), dot8(w0, x1), dot8(w0, x2), dot8(w0, x3));
    let w1 = q8_block(rows.y, b, p.K);
    acc1 += s * vec4f(dot8(w1, x0), dot8(w1, x1), dot8(w1, x2), dot8(w1, x3));
    let w2 = q8_block(rows.z, b, p.K);
    acc2 += s * vec4f(dot8(w2, x0), dot8(w2, x1), dot8(w2, x2), dot8(w2, x3));
    let w3 = q8_block(rows.w, b, p.K);
    acc3 += s * vec4f(dot8(w3, x0), dot8(w3, x1), dot8(w3, x2), dot8(w3, x3));
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
