// Causal attention for prompt steps, flash style: one workgroup takes 16 queries of one head and
// walks the cached keys in tiles of 16 positions, staging each tile of keys and values in shared
// memory once for all 16 queries, with an online softmax (running max m and denominator l; the
// output is rescaled whenever the max grows). The split kernel (attention.wgsl) reads every key
// once per query instead; decode steps (one query) use it, and so do prompt steps on GPUs, where
// this kernel's few workgroups (T / 16 x heads) leave most of the GPU idle. Used on CPU-backed
// adapters, where the total work is what counts.
// Thread (qi, lane) = (lid / 4, lid % 4) owns query qi and the output dimensions lane, lane + 4, ...
// Grouped-query heads share kv head h / (heads / kv_heads). Query t sees positions 0 .. pos0 + t.

struct Params {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  decode_chunk: u32, // (the split kernel's)
  scale: f32,        // 1 / sqrt(head_dim)
  pad0: u32,
  pad1: u32,
  pad2: u32,
}
struct Step { pos0: u32, T: u32 }

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k_cache: array<f32>;
@group(0) @binding(2) var<storage, read> v_cache: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> step: Step;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

override HD: u32 = 64u; // head_dim, at most 4 * DPT
const DPT = 32u;        // output dimensions per thread
const QT = 16u;         // queries per workgroup
const KT = 16u;         // keys per tile
const NEG = -3.0e38;
var<workgroup> qs: array<f32, QT * HD>;
var<workgroup> ks: array<f32, KT * HD>;
var<workgroup> vs: array<f32, KT * HD>;
var<workgroup> ss: array<f32, QT * KT>;

@compute @workgroup_size(64)
fn attn_flash(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t0 = wg.x * QT;
  let h = wg.y;
  let qi = lid / 4u;
  let lane = lid % 4u;
  let t = t0 + qi;
  let qpos = step.pos0 + t; // this thread's query position (past the step for idle rows)
  let kvw = p.kv_heads * HD;
  let kvo = (h / (p.heads / p.kv_heads)) * HD;
  for (var i = lid; i < QT * HD; i += 64u) {
    let tt = min(t0 + i / HD, step.T - 1u);
    qs[i] = q[(tt * p.heads + h) * HD + i % HD];
  }
  var o: array<f32, DPT>;
  var m = NEG;
  var l = 0.0;
  let keys = step.pos0 + min(t0 + QT, step.T); // positions 0 .. keys - 1 are seen by some query here
  for (var j0 = 0u; j0 < keys; j0 += KT) {
    workgroupBarrier(); // the previous tile is no longer read (and qs is written)
    for (var i = lid; i < KT * HD; i += 64u) {
      let src = min(j0 + i / HD, keys - 1u) * kvw + kvo + i % HD;
      ks[i] = k_cache[src];
      vs[i] = v_cache[src];
    }
    workgroupBarrier();
    for (var n = 0u; n < KT / 4u; n++) {
      let jj = lane + 4u * n;
      var s = 0.0;
      for (var d = 0u; d < HD; d++) { s += qs[qi * HD + d] * ks[jj * HD + d]; }
      ss[qi * KT + jj] = select(NEG, s * p.scale, j0 + jj <= qpos);
    }
    workgroupBarrier();
    var mt = m;
    for (var jj = 0u; jj < KT; jj++) { mt = max(mt, ss[qi * KT + jj]); }
    let alpha = exp(m - mt);
    l *= alpha;
    for (var i = 0u; i < DPT; i++) { o[i] *= alpha; }
    for (var jj = 0u; jj < KT; jj++) {
      let pj = exp(ss[qi * KT + jj] - mt); // 0 for masked keys
      l += pj;
      var i = 0u;
      for (var d = lane; d < HD; d += 4u) {
        o[i] += pj * vs[jj * HD + d];
        i++;
      }
    }
    m = mt;
  }
  if (t < step.T) {
    var i = 0u;
    for (var d = lane; d < HD; d += 4u) {
      out[(t * p.heads + h) * HD + d] = o[i] / l;
      i++;
    }
  }
}
