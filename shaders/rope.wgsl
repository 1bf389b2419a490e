// Rotary position embedding of the first rot_dim dimensions of each head (all of them but for
// partial rotary, Phi-4-mini), in either pair layout:
//   interleaved (GGUF llama, llama2.c): pairs (2i, 2i+1);  neox (Hugging Face, qwen): (i, i + rot_dim/2).
// The rotation table trig[pos][i] = (cos, sin)(pos / (theta^(2i/rot_dim) * factor_i)) * attn_factor
// is computed on the CPU in float64 (Llama 3 / linear / LongRoPE scaling folded in): GPU sin/cos
// are only accurate near [-pi, pi], and positions reach the tens of thousands of radians.
//   rope_store: one dispatch for the whole step: rotates q [T, heads, d] in place, and rotates k
//               while writing k and v of every token into this layer's paged KV cache at its
//               row's position (paged.wgsl, prepended: kv_meta gives positions and block tables).

struct Params {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  neox: u32,
  rot_dim: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}
struct Step { pos0: u32, T: u32, span: u32, decode: u32 }

@group(0) @binding(0) var<storage, read_write> q: array<f32>;
@group(0) @binding(1) var<storage, read> trig: array<vec2f>; // [max_seq, rot_dim / 2]
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> step: Step;
@group(0) @binding(4) var<storage, read> k_in: array<f32>;
@group(0) @binding(5) var<storage, read> v_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> k_cache: array<u32>; // paged.wgsl: float32 bits, or float16 pairs (KV_HALF)
@group(0) @binding(7) var<storage, read_write> v_cache: array<u32>;

/** The two dimensions of pair i (0 .. head_dim / 2): rotated below rot_dim / 2, else two passed-through ones. */
fn pair(i: u32) -> vec2u {
  let rh = p.rot_dim / 2u;
  if (i >= rh) { return vec2u(p.rot_dim + 2u * (i - rh), p.rot_dim + 2u * (i - rh) + 1u); }
  if (p.neox != 0u) { return vec2u(i, i + rh); }
  return vec2u(2u * i, 2u * i + 1u);
}

fn rotate(a: f32, b: f32, pos: u32, i: u32) -> vec2f {
  let rh = p.rot_dim / 2u;
  if (i >= rh) { return vec2f(a, b); }
  let cs = trig[pos * rh + i];
  return vec2f(a * cs.x - b * cs.y, a * cs.y + b * cs.x);
}

/** Dimension d of the key at k_in[src ..], rotated (for float16 words, built a dimension at a time). */
fn k_dim(src: u32, d: u32, pos: u32) -> f32 {
  let rh = p.rot_dim / 2u;
  if (d >= p.rot_dim) { return k_in[src + d]; }
  if (p.neox != 0u) {
    let i = d % rh;
    let r = rotate(k_in[src + i], k_in[src + i + rh], pos, i);
    return select(r.x, r.y, d >= rh);
  }
  let r = rotate(k_in[src + (d & ~1u)], k_in[src + (d | 1u)], pos, d / 2u);
  return select(r.x, r.y, (d & 1u) == 1u);
}

/**
 * One invocation per rotated pair: a token's q heads come first, then its kv heads. With KV_HALF a
 * kv head's invocation i writes word i (dimensions 2i, 2i + 1) instead: neox pairs are not adjacent,
 * and two invocations must not write halves of one word.
 */
@compute @workgroup_size(64)
fn rope_store(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let idx = g.x + g.y * n.x * 64u;
  let half = p.head_dim / 2u;
  let per_token = (p.heads + p.kv_heads) * half;
  let t = idx / per_token;
  if (t >= step.T) { return; }
  let h = (idx % per_token) / half;
  let i = idx % half;
  let pos = row_pos(t);
  let ij = pair(i);
  if (h < p.heads) {
    let base = (t * p.heads + h) * p.head_dim;
    let v = rotate(q[base + ij.x], q[base + ij.y], pos, i);
    q[base + ij.x] = v.x;
    q[base + ij.y] = v.y;
    return;
  }
  let width = p.kv_heads * p.head_dim;
  let src = t * width + (h - p.heads) * p.head_dim;
  let dst = kv_row(t, pos) * width + (h - p.heads) * p.head_dim;
  if (KV_HALF) {
    let w = dst / 2u + i; // head_dim is even
    k_cache[w] = kv_pack(vec2f(k_dim(src, 2u * i, pos), k_dim(src, 2u * i + 1u, pos)));
    v_cache[w] = kv_pack(vec2f(v_in[src + 2u * i], v_in[src + 2u * i + 1u]));
    return;
  }
  let v = rotate(k_in[src + ij.x], k_in[src + ij.y], pos, i);
  k_cache[dst + ij.x] = bitcast<u32>(v.x);
  k_cache[dst + ij.y] = bitcast<u32>(v.y);
  v_cache[dst + ij.x] = bitcast<u32>(v_in[src + ij.x]);
  v_cache[dst + ij.y] = bitcast<u32>(v_in[src + ij.y]);
}
