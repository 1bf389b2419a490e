// The decode matvec of GPUs (appended after matmul.wgsl, whose bindings, Params, store and INPUT
// folds it shares, and after the weight type's reader: dot32x). Any weight type, K a multiple of 32.
//
// A workgroup of 256 threads computes WROWS output rows of one token: 256 / WL row groups of
// WL lanes, each group 2 rows. WL = 32 (16 rows per workgroup), or 64 for K >= 4096 (8 rows:
// twice the workgroups on matrices of few rows and long inputs, such as ffn_down, whose 2048 rows
// would otherwise give 128 workgroups, under one per multiprocessor on an H200). Lane l of a group reads blocks l, l + 32, ... of its rows, so
// the 32 lanes of a group read 32 consecutive blocks of a row (one coalesced stretch of 576 bytes
// for Q4_0), and each lane's 32 inputs are loaded once (as 8 vec4s) for both of its rows.
// Two blocks per loop iteration: four independent weight blocks in flight per thread.
// The old matvec (64 threads per 4 rows, a thread per block and a six-barrier tree per row)
// left most threads idle at K = 2048 and re-read the whole input for every 4 rows.
//
// Lane sums are reduced per row group: by subgroup shuffles in matvec_wide_sg.wgsl, through
// workgroup memory here (matvec_wide).
//
// With a folded input (INPUT 1, 2), the workgroup transforms its token's K inputs into xc4 once:
// that work is shared by 8 or 16 rows instead of the old kernel's 4.

override XCACHE4: u32 = 1u; // INPUT 1, 2: K / 4

override WL: u32 = 32u;           // lanes per row group: 32 or 64
override WROWS: u32 = 512u / WL;  // rows per workgroup: 256 / WL row groups x 2 rows

// The token's inputs as vec4s (the x buffer bound a second time; x_off and K multiples of 4).
@group(0) @binding(10) var<storage, read> x4: array<vec4f>;

var<workgroup> xc4: array<vec4f, XCACHE4>;
var<workgroup> wred: array<f32, 512>; // 256 threads x 2 rows

/** INPUT 1, 2: the token's transformed input into xc4 (xoff: its first input in x). */
fn wide_prologue(lid: u32, xoff: u32) {
  var scale = 1.0;
  if (INPUT == 1u) {
    var ss = 0.0;
    for (var k = lid; k < p.K; k += 256u) { let v = x[xoff + k]; ss += v * v; }
    wred[lid] = ss;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
      if (lid < s) { wred[lid] += wred[lid + s]; }
      workgroupBarrier();
    }
    scale = inverseSqrt(wred[0] / f32(p.K) + p.eps);
    workgroupBarrier(); // wred is reused by the reduction
  }
  for (var k = lid; k < p.K / 4u; k += 256u) {
    let v = x4[xoff / 4u + k];
    if (INPUT == 1u) {
      xc4[k] = v * scale * vec4f(aux[4u * k], aux[4u * k + 1u], aux[4u * k + 2u], aux[4u * k + 3u]);
    } else {
      let j = xoff + 4u * k;
      xc4[k] = v / (1.0 + exp(-v)) * vec4f(aux[j], aux[j + 1u], aux[j + 2u], aux[j + 3u]);
    }
  }
  workgroupBarrier();
}

/** The 32 inputs of block blk of the token whose inputs start at vec4 xoff4. */
fn wide_x32(xoff4: u32, blk: u32) -> X32 {
  let i = blk * 8u;
  if (INPUT != 0u) {
    return X32(array<vec4f, 8>(xc4[i], xc4[i + 1u], xc4[i + 2u], xc4[i + 3u], xc4[i + 4u], xc4[i + 5u], xc4[i + 6u], xc4[i + 7u]));
  }
  let j = xoff4 + i;
  return X32(array<vec4f, 8>(x4[j], x4[j + 1u], x4[j + 2u], x4[j + 3u], x4[j + 4u], x4[j + 5u], x4[j + 6u], x4[j + 7u]));
}

/**
 * Lane `lane`'s partial dot products of rows row and row + 1 (rows past N read row N - 1, and are
 * not stored, so every thread runs the same loop and reads stay in bounds). The two rows are spelled
 * out: a loop over them accumulating into acc[r] made the 1B Q4_0 gate|up matvec 0.56 -> 0.75 ms per
 * token on the H200 (two runs, same GPU kind), though it compiled faster on SwiftShader.
 */
fn wide_dot(lane: u32, row: u32, xoff4: u32) -> vec2f {
  let r0 = min(row, p.N - 1u);
  let r1 = min(row + 1u, p.N - 1u);
  let nblk = p.K / 32u;
  var acc = vec2f(0.0);
  // Two blocks per step; a second block past the row's end re-reads the last one and its sums are
  // dropped (no tail loop: the kernel stays small, which SwiftShader's compile time needs; the
  // 1B shapes' rows are whole steps).
  for (var b = lane; b < nblk; b += 2u * WL) {
    let b2 = min(b + WL, nblk - 1u);
    let xa = wide_x32(xoff4, b);
    let xb = wide_x32(xoff4, b2);
    let second = vec2f(dot32x(r0, b2, p.K, xb), dot32x(r1, b2, p.K, xb));
    acc += vec2f(dot32x(r0, b, p.K, xa), dot32x(r1, b, p.K, xa)) + select(vec2f(0.0), second, b + WL < nblk);
  }
  return acc;
}

/** Stores a row group's two sums (rows row, row + 1 of this part) where they exist. */
fn wide_store(t: u32, row: u32, s: vec2f) {
  if (row < p.N) { store(t, p.row_off + row, s.x); }
  if (row + 1u < p.N) { store(t, p.row_off + row + 1u, s.y); }
}

@compute @workgroup_size(256)
fn matvec_wide(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wg.z;
  if (t >= token_count()) { return; }
  let row0 = (wg.x + wg.y * nwg.x) * WROWS;
  let xoff = p.x_off + t * p.K;
  if (INPUT != 0u) { wide_prologue(lid, xoff); }
  let row = row0 + (lid / WL) * 2u;
  let acc = wide_dot(lid % WL, row, xoff / 4u);
  wred[lid] = acc.x;
  wred[256u + lid] = acc.y;
  workgroupBarrier();
  for (var s = WL / 2u; s > 0u; s >>= 1u) {
    if (lid % WL < s) {
      wred[lid] += wred[lid + s];
      wred[256u + lid] += wred[256u + lid + s];
    }
    workgroupBarrier();
  }
  if (lid % WL == 0u) { wide_store(t, row, vec2f(wred[lid], wred[256u + lid])); }
}

// ---- Several tokens per workgroup: matvec_wide_tokens (steps of 2 to 32 rows) ----
// The one-token entry reads every weight block once per token, so a batched decode step of eight
// sequences (or a short prompt) read each matrix eight times: a 1B model's weights do not stay in
// a GPU's L2 between tokens. Here a workgroup computes the same WROWS rows for TW tokens: each
// lane dequantises its block of both rows once (the reader's deq32) and takes it to every token's
// inputs, so the weights are read once per TW tokens, as llama.cpp's mul_mat_vec does for up to
// 8 columns. One block per loop step: the two dequantised rows (16 vec4s) stay live across the
// tokens. Tokens past the step's last re-read its inputs and are not stored. No folded input: the
// folds serve one-token steps only.

override TW: u32 = 4u; // tokens per workgroup, 2 to 8

var<workgroup> wredt: array<f32, 512u * TW>; // 256 threads x 2 rows x TW tokens

/** Lane `lane`'s partial dot products of rows row, row + 1 for tokens t0 .. t0 + TW - 1 (clamped to T - 1). */
fn wide_tokens_dot(lane: u32, row: u32, t0: u32, T: u32) -> array<vec2f, 8> {
  let r0 = min(row, p.N - 1u);
  let r1 = min(row + 1u, p.N - 1u);
  let nblk = p.K / 32u;
  var acc: array<vec2f, 8>;
  for (var b = lane; b < nblk; b += WL) {
    let w0 = deq32(r0, b, p.K);
    let w1 = deq32(r1, b, p.K);
    for (var i = 0u; i < TW; i++) {
      let j = (p.x_off + min(t0 + i, T - 1u) * p.K) / 4u + b * 8u;
      var s = vec2f(0.0);
      for (var v = 0u; v < 8u; v++) {
        let xv = x4[j + v];
        s += vec2f(dot(w0.v[v], xv), dot(w1.v[v], xv));
      }
      acc[i] += s;
    }
  }
  return acc;
}

/** Sum j of a row group (j = 2 x token + row within the pair) stored, if its row and token exist. */
fn wide_tokens_store(t0: u32, T: u32, row: u32, j: u32, s: f32) {
  let t = t0 + j / 2u;
  let n = row + j % 2u;
  if (t < T && n < p.N) { store(t, p.row_off + n, s); }
}

@compute @workgroup_size(256)
fn matvec_wide_tokens(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let T = token_count();
  let t0 = wg.z * TW;
  if (t0 >= T) { return; }
  let row0 = (wg.x + wg.y * nwg.x) * WROWS;
  let row = row0 + (lid / WL) * 2u;
  let acc = wide_tokens_dot(lid % WL, row, t0, T);
  for (var i = 0u; i < TW; i++) {
    wredt[(2u * i) * 256u + lid] = acc[i].x;
    wredt[(2u * i + 1u) * 256u + lid] = acc[i].y;
  }
  workgroupBarrier();
  for (var s = WL / 2u; s > 0u; s >>= 1u) {
    if (lid % WL < s) {
      for (var j = 0u; j < 2u * TW; j++) { wredt[j * 256u + lid] += wredt[j * 256u + lid + s]; }
    }
    workgroupBarrier();
  }
  // the group's first 2 x TW lanes store one sum each
  let j = lid % WL;
  if (j < 2u * TW) { wide_tokens_store(t0, T, row, j, wredt[j * 256u + lid - j]); }
}
