// f16_to_f32: dst[i] = src[offset + i] for n float16 values (two per u32 word) into float32,
// with unpack2x16float, so it needs no shader-f16. The ort backend converts the last row of a
// float16 model's logits for the WGSL sampler with it.

struct Params {
  offset: u32, // first float16 element read
  n: u32,      // elements converted
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn f16_to_f32(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = g.x + g.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  let e = p.offset + i;
  dst[i] = unpack2x16float(src[e >> 1u])[e & 1u];
}
