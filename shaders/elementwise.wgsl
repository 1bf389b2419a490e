// Element-wise kernels of the feed-forward block.
//   silu_mul: gate = silu(gate) * up, in place — the SiLU-gated FFN's activation.

struct Params {
  width: u32, // elements per token
  pad0: u32,
  pad1: u32,
  pad2: u32,
}
struct Step { pos0: u32, T: u32 }

@group(0) @binding(0) var<storage, read_write> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> step: Step;

@compute @workgroup_size(64)
fn silu_mul(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let i = g.x + g.y * n.x * 64u;
  if (i >= step.T * p.width) { return; }
  let v = gate[i];
  gate[i] = v / (1.0 + exp(-v)) * up[i];
}
