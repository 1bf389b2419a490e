// Prompt steps on GPUs: y[t, n] = W[n, :] · x[t, :] as a register-tiled GEMM. Appended to
// matmul.wgsl (whose bindings, Params, token_count and store4x4 it shares) after the weight type's
// reader, of which it uses only
//   deq32(row, blk, K)  a whole 32-weight block, dequantised (K a multiple of 32);
//   w_at(row, col, K)   one weight (the float types' rows of any K).
// A workgroup of 4 * GT_TOKENS threads computes 64 rows x GT_TOKENS tokens (an override: 64, or
// 32 for matrices too short to fill a large GPU at 64; see kernels/matmul.ts); each thread a 4 x 4
// register tile (rows 4i..4i+3 of the tile for tokens 4j..4j+3). K is walked in tiles of 32,
// staged in workgroup memory: the weights dequantised once per tile (one deq32 per row, by the
// first 64 threads: whole subgroups on 32- and 64-wide GPUs, so nothing diverges) and reused by
// all the tile's tokens; the inputs loaded as 4 consecutive floats per thread and reused by all 64
// rows. Per k every thread reads one vec4 of weights and one of inputs and does 16 multiply-adds:
// 8 per shared load (the previous 16 x 16 gemm did 1), and each weight block is dequantised once
// per 64 (32) tokens (it was once per 16).
// Both tiles are stored k-major with 4 rows (tokens) per vec4, so the inner loop's loads are
// contiguous across the 16 row-threads (and a broadcast across the token-threads of a subgroup),
// and the staging stores of consecutive threads land in consecutive banks.
// Workgroup memory: 32 x (64 + GT_TOKENS) floats, at most 16 KiB: WebGPU's default limit.
// x is read as f32 (four loads per vec4): a vec4 view of its binding would need 16-byte aligned
// token rows and buffer sizes, which odd-K float matrices do not have.
// Rows past N and tokens past T read the last row/token (no out-of-bounds loads, no branches in
// the inner loop) and are not stored; k past K (float types of odd K) is staged as zeros.

override GT_TOKENS: u32 = 64u; // a multiple of 16 up to 64: at least the 64 threads that stage the weights
const GT_ROWS = 64u;
const GT_K = 32u;

var<workgroup> tile_w: array<vec4f, 512>; // [k][row / 4], component row % 4
var<workgroup> tile_x: array<vec4f, GT_K * GT_TOKENS / 4u>; // [k][token / 4], component token % 4

/** The inputs k..k+3 of token t, zeros past K. */
fn gt_x4(t: u32, k: u32, whole: bool) -> vec4f {
  let o = p.x_off + t * p.K + k;
  if (whole) { return vec4f(x[o], x[o + 1u], x[o + 2u], x[o + 3u]); }
  let last = p.x_off + t * p.K + p.K - 1u;
  let v = vec4f(x[min(o, last)], x[min(o + 1u, last)], x[min(o + 2u, last)], x[min(o + 3u, last)]);
  return select(vec4f(0.0), v, vec4u(k) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.K));
}

@compute @workgroup_size(GT_TOKENS * 4u)
fn gemm_tiled(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let T = token_count();
  let row0 = wg.x * GT_ROWS;
  let t0 = wg.y * GT_TOKENS;
  let lr = lid % 16u; // rows row0 + 4 lr ..
  let lt = lid / 16u; // tokens t0 + 4 lt ..
  let tq = GT_TOKENS / 4u; // vec4s per k in tile_x
  let whole = p.K % 32u == 0u;
  // Staging roles. Weights: thread lid < 64 dequantises row row0 + lid (whole blocks), or every
  // thread single weights (odd K). Inputs: token t0 + lid % GT_TOKENS, k quads
  // lid / GT_TOKENS (0..3) and + 4.
  let srow = min(row0 + lid % GT_ROWS, p.N - 1u);
  let stok = lid % GT_TOKENS;
  let sx = min(t0 + stok, T - 1u);
  let skq = lid / GT_TOKENS;
  // a<j>: token t0 + 4 lt + j, rows row0 + 4 lr + 0..3
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var k0 = 0u; k0 < p.K; k0 += GT_K) {
    if (whole) {
      if (lid < GT_ROWS) {
        let d = deq32(srow, k0 / 32u, p.K);
        let c = lid % 4u;
        let i = lid / 4u;
        for (var q = 0u; q < 8u; q++) {
          let v = d.v[q];
          tile_w[(4u * q) * 16u + i][c] = v.x;
          tile_w[(4u * q + 1u) * 16u + i][c] = v.y;
          tile_w[(4u * q + 2u) * 16u + i][c] = v.z;
          tile_w[(4u * q + 3u) * 16u + i][c] = v.w;
        }
      }
    } else {
      for (var e = lid; e < GT_ROWS * GT_K; e += GT_TOKENS * 4u) {
        let r = e % GT_ROWS;
        let kk = e / GT_ROWS;
        let k = k0 + kk;
        tile_w[kk * 16u + r / 4u][r % 4u] = select(0.0, w_at(min(row0 + r, p.N - 1u), min(k, p.K - 1u), p.K), k < p.K);
      }
    }
    for (var h = 0u; h < 2u; h++) {
      let kq = skq + 4u * h;
      let v = gt_x4(sx, k0 + 4u * kq, whole);
      let i = stok / 4u;
      let c = stok % 4u;
      tile_x[(4u * kq) * tq + i][c] = v.x;
      tile_x[(4u * kq + 1u) * tq + i][c] = v.y;
      tile_x[(4u * kq + 2u) * tq + i][c] = v.z;
      tile_x[(4u * kq + 3u) * tq + i][c] = v.w;
    }
    workgroupBarrier();
    for (var k = 0u; k < GT_K; k++) {
      let wv = tile_w[k * 16u + lr];
      let xv = tile_x[k * tq + lt];
      a0 += wv * xv.x;
      a1 += wv * xv.y;
      a2 += wv * xv.z;
      a3 += wv * xv.w;
    }
    workgroupBarrier();
  }
  store4x4(row0 + 4u * lr, t0 + 4u * lt, T, vec4f(a0.x, a1.x, a2.x, a3.x), vec4f(a0.y, a1.y, a2.y, a3.y), vec4f(a0.z, a1.z, a2.z, a3.z), vec4f(a0.w, a1.w, a2.w, a3.w));
}
