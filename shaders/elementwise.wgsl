// Element-wise kernels, over step.T rows of p.width elements (or p.rows rows when it is not 0).
//   silu_mul:  gate = silu(gate) * up, in place — the SiLU-gated FFN's activation (Llama, Qwen, Phi-3).
//   gelu_mul:  gate = gelu(gate) * up, GELU with the tanh approximation (Gemma).
//   scale:     gate *= p.value (Gemma's embedding, times sqrt(dim)).
//   softcap:   gate = p.value * tanh(gate / p.value) (Gemma 2's final logits).
//   add:       gate += up (a residual add after a post-norm).

struct Params {
  width: u32, // elements per row
  rows: u32,  // rows to process; 0 = the step's tokens
  value: f32, // scale or soft-cap
  pad0: u32,
}
struct Step { pos0: u32, T: u32 }

@group(0) @binding(0) var<storage, read_write> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> step: Step;

fn index(g: vec3u, n: vec3u) -> u32 {
  let i = g.x + g.y * n.x * 64u;
  return select(i, 0xffffffffu, i >= select(p.rows, step.T, p.rows == 0u) * p.width);
}

@compute @workgroup_size(64)
fn silu_mul(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let i = index(g, n);
  if (i == 0xffffffffu) { return; }
  let v = gate[i];
  gate[i] = v / (1.0 + exp(-v)) * up[i];
}

@compute @workgroup_size(64)
fn gelu_mul(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let i = index(g, n);
  if (i == 0xffffffffu) { return; }
  let v = gate[i];
  // tanh's argument clamped: some implementations return NaN for large |x| (exp overflow)
  let t = tanh(clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), -15.0, 15.0));
  gate[i] = 0.5 * v * (1.0 + t) * up[i];
}

@compute @workgroup_size(64)
fn scale(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let i = index(g, n);
  if (i == 0xffffffffu) { return; }
  gate[i] = gate[i] * p.value;
}

@compute @workgroup_size(64)
fn softcap(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let i = index(g, n);
  if (i == 0xffffffffu) { return; }
  gate[i] = p.value * tanh(clamp(gate[i] / p.value, -15.0, 15.0));
}

@compute @workgroup_size(64)
fn add(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let i = index(g, n);
  if (i == 0xffffffffu) { return; }
  gate[i] = gate[i] + up[i];
}
