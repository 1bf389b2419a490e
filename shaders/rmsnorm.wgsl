// RMSNorm over rows: out = x / sqrt(mean(x^2) + eps) * weight.
//   add_norm:  optionally adds the residual first (x += r, in place), then normalises into out.
//              Fusing the residual add saves a pass over the hidden state per sub-layer.
//   norm_rows: normalises rows in place (Qwen3's per-head q/k norm).

struct Params {
  width: u32,          // elements per row
  rows_per_token: u32, // rows = step.T * rows_per_token
  eps: f32,
  has_residual: u32,
}
struct Step { pos0: u32, T: u32 }

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> step: Step;
@group(0) @binding(4) var<storage, read> r: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

// Threads per row, a power of two: 64 on GPUs; 4 on CPU-backed adapters (one SIMD group of
// SwiftShader's, where each barrier of a wider workgroup switches between its groups).
override WG: u32 = 64u;
var<workgroup> sums: array<f32, WG>;

fn row_scale(base: u32, lid: u32) -> f32 {
  var s = 0.0;
  for (var i = lid; i < p.width; i += WG) { s += x[base + i] * x[base + i]; }
  sums[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) { sums[lid] += sums[lid + k]; }
    workgroupBarrier();
  }
  return inverseSqrt(sums[0] / f32(p.width) + p.eps);
}

@compute @workgroup_size(WG)
fn add_norm(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x;
  if (row >= step.T * p.rows_per_token) { return; }
  let base = row * p.width;
  if (p.has_residual != 0u) {
    for (var i = lid; i < p.width; i += WG) { x[base + i] += r[base + i]; }
    workgroupBarrier();
  }
  let scale = row_scale(base, lid);
  for (var i = lid; i < p.width; i += WG) { out[base + i] = x[base + i] * scale * weight[i]; }
}

@compute @workgroup_size(WG)
fn norm_rows(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x;
  if (row >= step.T * p.rows_per_token) { return; }
  let base = row * p.width;
  let scale = row_scale(base, lid);
  workgroupBarrier();
  for (var i = lid; i < p.width; i += WG) { x[base + i] = x[base + i] * scale * weight[i]; }
}
