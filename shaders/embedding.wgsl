// out[t, :] = dequantised row tokens[t] of the token embedding table (any stored type: the
// dequantisation snippet is prepended). Tables split across buffers are looked up part by part.

struct Params {
  K: u32,       // embedding width
  N: u32,       // rows in this part of the table
  row_off: u32, // first token id held by this part
  pad: u32,
}
struct Step { pos0: u32, T: u32 }

@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<uniform> step: Step;
// dot32 in the snippets reads its input through xin/xin4; the lookup never calls it, but it must exist.
fn xin(j: u32) -> f32 { return 0.0; }
fn xin4(j: u32) -> vec4f { return vec4f(0.0); }

@compute @workgroup_size(64)
fn embed(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  if (t >= step.T) { return; }
  let id = tokens[t];
  if (id < p.row_off || id >= p.row_off + p.N) { return; }
  for (var c = lid; c < p.K; c += 64u) {
    out[t * p.K + c] = w_at(id - p.row_off, c, p.K);
  }
}
