// The integer-input matmuls of CPU-backed adapters (SwiftShader): y = W x for Q4_0W or Q8_0W
// weights and inputs rounded to integers by quantize.wgsl. Appended to matmul.wgsl (whose
// bindings, Params and store they share; x_off is unused: quantize applied it) after the type's
// integer arithmetic, int_q4_0.wgsl or int_q8_0.wgsl, which provides
//   XIn, x_in(o)          a block of 32 inputs at word o of xq;
//   WInt, w_int(row, blk, K)  a block of weights, ready for the integer products;
//   dot_int(w, x)         their dot product in units of the inputs' scale x.s.
// GPUs never run them: their float kernels are bandwidth-bound, and keep float inputs.
// SwiftShader's JIT does not fold a constant index argument: a vector or array indexed by a
// variable or parameter stays in memory (it made matvec_int 1.6x slower), so rows are spelled
// out and components taken by swizzle.

@group(0) @binding(9) var<storage, read> xq: array<u32>;

fn dot_row(row: u32, blk: u32, K: u32, x: XIn) -> f32 {
  return dot_int(w_int(row, blk, K), x);
}

/** Decode: a thread per 16 rows, sharing each input block (8 rows per thread: 5-10 % slower). */
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
    let x = x_in((t * nb + b) * 18u);
    acc0 += x.s * vec4f(dot_row(ra.x, b, p.K, x), dot_row(ra.y, b, p.K, x), dot_row(ra.z, b, p.K, x), dot_row(ra.w, b, p.K, x));
    acc1 += x.s * vec4f(dot_row(rb.x, b, p.K, x), dot_row(rb.y, b, p.K, x), dot_row(rb.z, b, p.K, x), dot_row(rb.w, b, p.K, x));
    acc2 += x.s * vec4f(dot_row(rc.x, b, p.K, x), dot_row(rc.y, b, p.K, x), dot_row(rc.z, b, p.K, x), dot_row(rc.w, b, p.K, x));
    acc3 += x.s * vec4f(dot_row(rd.x, b, p.K, x), dot_row(rd.y, b, p.K, x), dot_row(rd.z, b, p.K, x), dot_row(rd.w, b, p.K, x));
  }
  for (var r = 0u; r < 4u; r++) {
    if (row0 + r < p.N) { store(t, p.row_off + row0 + r, acc0[r]); }
    if (row0 + 4u + r < p.N) { store(t, p.row_off + row0 + 4u + r, acc1[r]); }
    if (row0 + 8u + r < p.N) { store(t, p.row_off + row0 + 8u + r, acc2[r]); }
    if (row0 + 12u + r < p.N) { store(t, p.row_off + row0 + 12u + r, acc3[r]); }
  }
}

/** Prompt steps: a thread per 4 rows x 4 tokens, each row's block made ready once for its 4 tokens. */
@compute @workgroup_size(16)
fn gemm_int(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
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
    let x0 = x_in((ts.x * nb + b) * 18u);
    let x1 = x_in((ts.y * nb + b) * 18u);
    let x2 = x_in((ts.z * nb + b) * 18u);
    let x3 = x_in((ts.w * nb + b) * 18u);
    let s = vec4f(x0.s, x1.s, x2.s, x3.s);
    let w0 = w_int(rows.x, b, p.K);
    acc0 += s * vec4f(dot_int(w0, x0), dot_int(w0, x1), dot_int(w0, x2), dot_int(w0, x3));
    let w1 = w_int(rows.y, b, p.K);
    acc1 += s * vec4f(dot_int(w1, x0), dot_int(w1, x1), dot_int(w1, x2), dot_int(w1, x3));
    let w2 = w_int(rows.z, b, p.K);
    acc2 += s * vec4f(dot_int(w2, x0), dot_int(w2, x1), dot_int(w2, x2), dot_int(w2, x3));
    let w3 = w_int(rows.w, b, p.K);
    acc3 += s * vec4f(dot_int(w3, x0), dot_int(w3, x1), dot_int(w3, x2), dot_int(w3, x3));
  }
  store4x4(row0, t0, T, acc0, acc1, acc2, acc3);
}
