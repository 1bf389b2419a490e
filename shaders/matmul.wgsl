// y[t, n] = sum_k W[n, k] * in(x)[t, k] (+ bias[n]) for a weight matrix in any stored type: the
// dequantisation snippet (shaders/dequant_*.wgsl) is prepended and provides w_at and dot32, which
// read the input through xin/xin4 below.
//   matvec: one workgroup per 4 output rows of one token; threads split k in blocks of 32 and
//           reduce in shared memory. Used on GPUs for decode and for steps of a few tokens:
//           neighbouring threads read neighbouring blocks, so weight reads coalesce.
//   matvec_rows: one thread per 4 output rows of one token, no shared memory or barriers. Used
//           for decode on CPU-backed adapters (SwiftShader), where barriers are costly and every
//           load even more so: each block's 32 inputs are loaded once for the 4 rows (dot32x).
//   gemm_tiled (gemm_tiled.wgsl, appended): the register-tiled gemm of longer prompt steps on GPUs.
//   gemm_rows: a thread per 4 output rows x 4 tokens, no shared memory or barriers: each row's
//           block is dequantised once (deq32) for the 4 tokens, each token's inputs loaded once
//           for the 4 rows. Prompt steps on CPU-backed adapters (on SwiftShader 1.7x faster than
//           matvec_rows token by token, and that was 2x faster than the gemm).
// A fused matrix (q|k|v or gate|up rows concatenated at load, one dispatch instead of three or
// two) writes its row segments to up to three output buffers: rows below seg1 go to y, rows below
// seg2 to y2, the rest to y3. An unfused matrix has seg1 = seg2 = 0xffffffff.
// With `accumulate`, y += W x: the output and down projections add straight into the residual.
// The INPUT override folds the op before the matmul into the matvec entry (each saves a whole
// dispatch on GPUs, where a dispatch costs more than the work of a small one):
//   0: x as it is;
//   1: RMSNorm: x * rsqrt(mean(x^2) + eps) * aux (aux = the norm's weight), the scale computed by
//      each workgroup for its token;
//   2: SwiGLU: silu(x) * aux (x = gate, aux = up).
// The matvec workgroup transforms its token's input once into shared memory (XCACHE = K floats),
// so the dot products read it from there. The other entries read x as it is (INPUT 0): the
// transformer runs those ops separately there.

override INPUT: u32 = 0u;
override XCACHE: u32 = 1u;

struct Params {
  K: u32,          // input features
  N: u32,          // output rows in this weight part
  x_off: u32,      // offset of token 0's input in x
  y_off: u32,      // offset of token 0's output in y
  y_stride: u32,   // distance between tokens' outputs in y (the full output width)
  row_off: u32,    // first output row of this part (weights split across buffers)
  has_bias: u32,
  tokens: u32,     // 0: use step.T (all tokens of the step); otherwise this many
  seg1: u32,       // first row written to y2
  seg2: u32,       // first row written to y3
  rows_total: u32, // rows of the whole (fused) matrix
  accumulate: u32, // y += instead of y =
  eps: f32,        // INPUT 1
  pad0: u32,
  pad1: u32,
  pad2: u32,
}
struct Step { pos0: u32, T: u32 }

@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> step: Step;
@group(0) @binding(6) var<storage, read_write> y2: array<f32>;
@group(0) @binding(7) var<storage, read_write> y3: array<f32>;
@group(0) @binding(8) var<storage, read> aux: array<f32>;

var<workgroup> xcache: array<f32, XCACHE>; // INPUT 1, 2: the token's transformed input
var<private> x_base: u32 = 0u;              // INPUT 1, 2: offset of the token's input in x

fn xin(j: u32) -> f32 {
  if (INPUT != 0u) { return xcache[j - x_base]; }
  return x[j];
}

fn xin4(j: u32) -> vec4f {
  return vec4f(xin(j), xin(j + 1u), xin(j + 2u), xin(j + 3u));
}

const ROWS = 4u;
const WG = 64u;
var<workgroup> partial: array<f32, 256>; // ROWS * WG

fn token_count() -> u32 {
  return select(p.tokens, step.T, p.tokens == 0u);
}

/** Writes output row n (of the whole matrix) of token t, plus its bias. */
fn store(t: u32, n: u32, acc: f32) {
  var v = acc;
  if (p.has_bias != 0u) { v += bias[n]; }
  if (n < p.seg1) {
    let i = p.y_off + t * p.y_stride + n;
    if (p.accumulate != 0u) { v += y[i]; }
    y[i] = v;
  } else if (n < p.seg2) {
    y2[t * (p.seg2 - p.seg1) + n - p.seg1] = v;
  } else {
    y3[t * (p.rows_total - p.seg2) + n - p.seg2] = v;
  }
}

/** Stores the outputs of 4 rows x 4 tokens, acc<r>[i] for row row0 + r and token t0 + i, that exist. */
fn store4x4(row0: u32, t0: u32, T: u32, acc0: vec4f, acc1: vec4f, acc2: vec4f, acc3: vec4f) {
  for (var i = 0u; i < 4u; i++) {
    if (t0 + i < T) {
      if (row0 < p.N) { store(t0 + i, p.row_off + row0, acc0[i]); }
      if (row0 + 1u < p.N) { store(t0 + i, p.row_off + row0 + 1u, acc1[i]); }
      if (row0 + 2u < p.N) { store(t0 + i, p.row_off + row0 + 2u, acc2[i]); }
      if (row0 + 3u < p.N) { store(t0 + i, p.row_off + row0 + 3u, acc3[i]); }
    }
  }
}

@compute @workgroup_size(64)
fn matvec(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row0 = (wg.x + wg.y * nwg.x) * ROWS;
  let t = wg.z;
  if (t >= token_count()) { return; }
  let xoff = p.x_off + t * p.K;
  let nblk = (p.K + 31u) / 32u;
  if (INPUT != 0u) {
    x_base = xoff;
    var scale = 1.0;
    if (INPUT == 1u) {
      var ss = 0.0;
      for (var k = lid; k < p.K; k += WG) { let v = x[xoff + k]; ss += v * v; }
      partial[lid] = ss;
      workgroupBarrier();
      for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) { partial[lid] += partial[lid + s]; }
        workgroupBarrier();
      }
      scale = inverseSqrt(partial[0] / f32(p.K) + p.eps);
      workgroupBarrier(); // partial is reused below
    }
    for (var k = lid; k < p.K; k += WG) {
      let v = x[xoff + k];
      if (INPUT == 1u) {
        xcache[k] = v * scale * aux[k];
      } else {
        xcache[k] = v / (1.0 + exp(-v)) * aux[xoff + k];
      }
    }
    workgroupBarrier();
  }
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var b = lid; b < nblk; b += WG) {
    for (var r = 0u; r < ROWS; r++) {
      if (row0 + r < p.N) { acc[r] += dot32(row0 + r, b, p.K, xoff); }
    }
  }
  for (var r = 0u; r < ROWS; r++) { partial[r * WG + lid] = acc[r]; }
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      for (var r = 0u; r < ROWS; r++) { partial[r * WG + lid] += partial[r * WG + lid + s]; }
    }
    workgroupBarrier();
  }
  if (lid < ROWS && row0 + lid < p.N) { store(t, p.row_off + row0 + lid, partial[lid * WG]); }
}

@compute @workgroup_size(16)
fn matvec_rows(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row0 = (g.x + g.y * nwg.x * 16u) * 4u;
  let t = g.z;
  if (row0 >= p.N || t >= token_count()) { return; }
  // Rows of the last thread past N repeat row N - 1 (and are not stored), so reads stay in bounds.
  let r1 = min(row0 + 1u, p.N - 1u);
  let r2 = min(row0 + 2u, p.N - 1u);
  let r3 = min(row0 + 3u, p.N - 1u);
  let xoff = p.x_off + t * p.K;
  var acc = vec4f(0.0);
  if (p.K % 32u == 0u) {
    for (var b = 0u; b < p.K / 32u; b++) {
      let xb = x32(xoff + b * 32u);
      acc += vec4f(dot32x(row0, b, p.K, xb), dot32x(r1, b, p.K, xb), dot32x(r2, b, p.K, xb), dot32x(r3, b, p.K, xb));
    }
  } else { // float types of any width: rows are not word-aligned, the last block is shorter
    for (var b = 0u; b < (p.K + 31u) / 32u; b++) {
      acc += vec4f(dot32(row0, b, p.K, xoff), dot32(r1, b, p.K, xoff), dot32(r2, b, p.K, xoff), dot32(r3, b, p.K, xoff));
    }
  }
  for (var r = 0u; r < 4u; r++) {
    if (row0 + r < p.N) { store(t, p.row_off + row0 + r, acc[r]); }
  }
}

@compute @workgroup_size(16)
fn gemm_rows(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row0 = (g.x + g.y * nwg.x * 16u) * 4u;
  let T = token_count();
  let t0 = g.z * 4u;
  if (row0 >= p.N || t0 >= T) { return; }
  // Rows past N and tokens past T repeat the last ones (and are not stored): reads stay in bounds.
  let xo = vec4u(p.x_off) + min(vec4u(t0) + vec4u(0u, 1u, 2u, 3u), vec4u(T - 1u)) * p.K;
  let rows = min(vec4u(row0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.N - 1u));
  // acc<r>[i]: row row0 + r, token t0 + i. Rows spelled out: SwiftShader keeps arrays indexed by
  // a loop variable in memory (see matvec_int.wgsl).
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  if (p.K % 32u == 0u) {
    for (var b = 0u; b < p.K / 32u; b++) {
      let x0 = x32(xo.x + b * 32u);
      let x1 = x32(xo.y + b * 32u);
      let x2 = x32(xo.z + b * 32u);
      let x3 = x32(xo.w + b * 32u);
      let w0 = deq32(rows.x, b, p.K);
      acc0 += vec4f(dot_x32(w0, x0), dot_x32(w0, x1), dot_x32(w0, x2), dot_x32(w0, x3));
      let w1 = deq32(rows.y, b, p.K);
      acc1 += vec4f(dot_x32(w1, x0), dot_x32(w1, x1), dot_x32(w1, x2), dot_x32(w1, x3));
      let w2 = deq32(rows.z, b, p.K);
      acc2 += vec4f(dot_x32(w2, x0), dot_x32(w2, x1), dot_x32(w2, x2), dot_x32(w2, x3));
      let w3 = deq32(rows.w, b, p.K);
      acc3 += vec4f(dot_x32(w3, x0), dot_x32(w3, x1), dot_x32(w3, x2), dot_x32(w3, x3));
    }
  } else { // float types of any width (see matvec_rows)
    for (var b = 0u; b < (p.K + 31u) / 32u; b++) {
      acc0 += vec4f(dot32(rows.x, b, p.K, xo.x), dot32(rows.x, b, p.K, xo.y), dot32(rows.x, b, p.K, xo.z), dot32(rows.x, b, p.K, xo.w));
      acc1 += vec4f(dot32(rows.y, b, p.K, xo.x), dot32(rows.y, b, p.K, xo.y), dot32(rows.y, b, p.K, xo.z), dot32(rows.y, b, p.K, xo.w));
      acc2 += vec4f(dot32(rows.z, b, p.K, xo.x), dot32(rows.z, b, p.K, xo.y), dot32(rows.z, b, p.K, xo.z), dot32(rows.z, b, p.K, xo.w));
      acc3 += vec4f(dot32(rows.w, b, p.K, xo.x), dot32(rows.w, b, p.K, xo.y), dot32(rows.w, b, p.K, xo.z), dot32(rows.w, b, p.K, xo.w));
    }
  }
  store4x4(row0, t0, T, acc0, acc1, acc2, acc3);
}
