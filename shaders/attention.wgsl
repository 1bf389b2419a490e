// Causal attention over the KV cache, split over the sequence (flash-decoding): each workgroup
// takes one query token, one head and one chunk of cached positions (256 for prompt steps; for
// decode steps p.decode_chunk = 64, so a long context spreads over many workgroups) and writes a
// partial result (running max m, softmax denominator l, unnormalised output acc); attn_combine merges the
// chunks of each (token, head) with the usual log-sum-exp rescaling. Grouped-query heads share
// kv head h / (heads / kv_heads). The cache is paged (paged.wgsl, prepended): packed row t of a
// step (possibly of another sequence than row t - 1) sees positions 0 .. row_pos(t) of its own
// sequence through its block table (the last p.window of them in sliding-window layers).
// Decode steps (every sequence of the step runs one token) use p.decode_chunk, others 256.
// A row whose positions fit one chunk gets its normalised output from the chunk's kernel
// directly; attn_combine skips it, and is not dispatched at all when the step's longest row
// (step.span positions) fits one chunk: one dispatch less per layer in short contexts.

struct Params {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  decode_chunk: u32, // chunk size of one-token steps (<= 256)
  scale: f32,      // of q·k: 1 / sqrt(head_dim), or the model's own (Gemma)
  window: u32,     // sliding window: a query sees its last `window` positions; 0 = all
  softcap: f32,    // scores become softcap * tanh(score / softcap) (Gemma 2); 0 = none
  pad0: u32,
}
struct Step { pos0: u32, T: u32, span: u32, decode: u32 }

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k_cache: array<u32>; // paged.wgsl: float32 bits, or float16 pairs (KV_HALF)
@group(0) @binding(2) var<storage, read> v_cache: array<u32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> step: Step;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
// attn_decode and attn_rows read q and the cache again, four floats per load.
@group(0) @binding(7) var<storage, read> q4: array<vec4f>;
@group(0) @binding(8) var<storage, read> k4: array<vec4f>;
@group(0) @binding(9) var<storage, read> v4: array<vec4f>;

/** Elements 4 i4 .. 4 i4 + 3 of the key (value) cache (paged.wgsl's k_at for one). */
fn k4_at(i4: u32) -> vec4f {
  if (KV_HALF) { return vec4f(unpack2x16float(k_cache[2u * i4]), unpack2x16float(k_cache[2u * i4 + 1u])); }
  return k4[i4];
}
fn v4_at(i4: u32) -> vec4f {
  if (KV_HALF) { return vec4f(unpack2x16float(v_cache[2u * i4]), unpack2x16float(v_cache[2u * i4 + 1u])); }
  return v4[i4];
}

// Threads per workgroup, a power of two: 256 on GPUs, where the scores of a chunk are computed
// in one pass and WG / 64 groups of threads share the weighted sum of values; 64 on CPU-backed
// adapters, where every barrier costs more than the parallelism gains.
override WG: u32 = 64u;
override ACCV: u32 = 1u; // size of accv: (WG / 64) * 512 when WG > 64; unused (and tiny) at 64
const NEG = -3.0e38;
var<workgroup> sc: array<f32, 256>;   // the chunk's scores, then softmax numerators
var<workgroup> red: array<f32, WG>;
var<workgroup> accv: array<f32, ACCV>; // (WG / 64) partial value sums x head_dim (head_dim <= 512)

/** The first position a query at position len - 1 attends: 0, or the start of its window. */
fn first_pos(len: u32) -> u32 {
  return select(0u, len - p.window, p.window > 0u && len > p.window);
}

/** A score as the softmax sees it: scaled, and soft-capped where the model says so. */
fn score(dot_qk: f32) -> f32 {
  let s = dot_qk * p.scale;
  if (p.softcap > 0.0) { return p.softcap * tanh(clamp(s / p.softcap, -15.0, 15.0)); }
  return s;
}

fn chunk_size() -> u32 {
  return select(256u, p.decode_chunk, step.decode == 1u);
}

/** Chunks of this step (those of its longest row): the stride of the partial buffer. */
fn step_chunks() -> u32 {
  return (step.span + chunk_size() - 1u) / chunk_size();
}

fn part_base(t: u32, h: u32, c: u32) -> u32 {
  return ((t * p.heads + h) * step_chunks() + c) * (p.head_dim + 2u);
}

@compute @workgroup_size(WG)
fn attn_partial(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x;
  let h = wg.y;
  let t = wg.z;
  if (t >= step.T) { return; }
  let len = row_pos_uniform(t) + 1u;
  if (c * chunk_size() >= len) { return; }
  let start = max(c * chunk_size(), first_pos(len));
  let end = min(c * chunk_size() + chunk_size(), len);
  let base = part_base(t, h, c);
  if (start >= end) {
    if (lid == 0u) { part[base] = NEG; part[base + 1u] = 0.0; }
    for (var d = lid; d < p.head_dim; d += 64u) { part[base + 2u + d] = 0.0; }
    return;
  }
  let kvw = p.kv_heads * p.head_dim;
  let kvh = h / (p.heads / p.kv_heads);
  let qo = (t * p.heads + h) * p.head_dim;
  var m = NEG;
  for (var j = start + lid; j < end; j += WG) {
    let ko = kv_row(t, j) * kvw + kvh * p.head_dim;
    var s = 0.0;
    for (var d = 0u; d < p.head_dim; d++) { s += q[qo + d] * k_at(ko + d); }
    s = score(s);
    sc[j - start] = s;
    m = max(m, s);
  }
  red[lid] = m;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) { red[lid] = max(red[lid], red[lid + k]); }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  var l = 0.0;
  for (var j = start + lid; j < end; j += WG) {
    let e = exp(sc[j - start] - mx);
    sc[j - start] = e;
    l += e;
  }
  red[lid] = l;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) { red[lid] += red[lid + k]; }
    workgroupBarrier();
  }
  let sum = red[0];
  // Weighted values: group g of 64 threads sums positions start + g, start + g + groups, ...
  let groups = WG / 64u;
  let grp = lid / 64u;
  let direct = len <= chunk_size();
  for (var d = lid % 64u; d < p.head_dim; d += 64u) {
    var acc = 0.0;
    for (var j = start + grp; j < end; j += groups) { acc += sc[j - start] * v_at(kv_row(t, j) * kvw + kvh * p.head_dim + d); }
    if (groups == 1u) {
      finish(base, qo + d, d, acc, sum, direct);
    } else {
      accv[grp * p.head_dim + d] = acc;
    }
  }
  if (groups > 1u) {
    workgroupBarrier();
    if (lid < 64u) {
      for (var d = lid; d < p.head_dim; d += 64u) {
        var acc = 0.0;
        for (var g = 0u; g < groups; g++) { acc += accv[g * p.head_dim + d]; }
        finish(base, qo + d, d, acc, sum, direct);
      }
    }
  }
  if (lid == 0u) { part[base] = mx; part[base + 1u] = sum; }
}

/** A chunk's value sum for dimension d: the normalised output when the step fits one chunk, else a partial. */
fn finish(base: u32, o: u32, d: u32, acc: f32, sum: f32, direct: bool) {
  if (direct) {
    out[o] = acc / sum;
  } else {
    part[base + 2u + d] = acc;
  }
}

// Barrier-free kernels for CPU-backed adapters (SwiftShader), where attn_partial's barriers and
// idle threads cost more than the work. A thread walks a range of
// positions for one (query, head) with an online softmax (the output is rescaled whenever the
// max grows). head_dim is a multiple of 4 (at most 512).
//   attn_decode: decode steps; a thread per (head, chunk of p.decode_chunk positions) and row,
//                writing the same partial result as attn_partial, or the output when one chunk
//                holds the row's whole context.
//   attn_rows:   prompt steps; a thread per (query, head) over all its positions.

/** Attention of query t, head h over positions [start, end): the output, or a partial at `part_at`. */
fn attend(t: u32, h: u32, start: u32, end: u32, direct: bool, part_at: u32) {
  let hd4 = p.head_dim / 4u;
  let qo = (t * p.heads + h) * hd4;
  let kvo = (h / (p.heads / p.kv_heads)) * hd4;
  var acc: array<vec4f, 128>;
  for (var d = 0u; d < hd4; d++) { acc[d] = vec4f(0.0); }
  var m = NEG;
  var l = 0.0;
  for (var j = start; j < end; j++) {
    let ko = kv_row(t, j) * p.kv_heads * hd4 + kvo;
    var s = 0.0;
    for (var d = 0u; d < hd4; d++) { s += dot(q4[qo + d], k4_at(ko + d)); }
    s = score(s);
    let mn = max(m, s);
    let alpha = exp(m - mn);
    let e = exp(s - mn);
    l = l * alpha + e;
    for (var d = 0u; d < hd4; d++) { acc[d] = acc[d] * alpha + e * v4_at(ko + d); }
    m = mn;
  }
  if (direct) {
    for (var d = 0u; d < hd4; d++) {
      let o = (qo + d) * 4u;
      let v = acc[d] / l;
      out[o] = v.x; out[o + 1u] = v.y; out[o + 2u] = v.z; out[o + 3u] = v.w;
    }
    return;
  }
  part[part_at] = m;
  part[part_at + 1u] = l;
  for (var d = 0u; d < hd4; d++) {
    let o = part_at + 2u + 4u * d;
    part[o] = acc[d].x; part[o + 1u] = acc[d].y; part[o + 2u] = acc[d].z; part[o + 3u] = acc[d].w;
  }
}

@compute @workgroup_size(4)
fn attn_decode(@builtin(global_invocation_id) g: vec3u) {
  let h = g.x % p.heads;
  let c = g.x / p.heads;
  let t = g.y;
  if (t >= step.T) { return; }
  let len = row_pos(t) + 1u;
  if (c * p.decode_chunk >= len) { return; }
  // A chunk wholly before the window writes an empty partial (max NEG, sum 0) for attn_combine.
  attend(t, h, max(c * p.decode_chunk, first_pos(len)), min(c * p.decode_chunk + p.decode_chunk, len), len <= p.decode_chunk, part_base(t, h, c));
}

@compute @workgroup_size(4)
fn attn_rows(@builtin(global_invocation_id) g: vec3u) {
  let h = g.x % p.heads;
  let t = g.x / p.heads;
  if (t >= step.T) { return; }
  let len = row_pos(t) + 1u;
  attend(t, h, first_pos(len), len, true, 0u);
}

@compute @workgroup_size(64)
fn attn_combine(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wg.x;
  let t = wg.y;
  if (t >= step.T) { return; }
  let len = row_pos(t) + 1u;
  if (len <= chunk_size()) { return; } // written directly by its chunk's kernel
  let chunks = (len + chunk_size() - 1u) / chunk_size(); // chunks holding positions 0 .. len - 1
  var mx = NEG;
  for (var c = 0u; c < chunks; c++) { mx = max(mx, part[part_base(t, h, c)]); }
  var l = 0.0;
  for (var c = 0u; c < chunks; c++) {
    let b = part_base(t, h, c);
    l += exp(part[b] - mx) * part[b + 1u];
  }
  for (var d = lid; d < p.head_dim; d += 64u) {
    var acc = 0.0;
    for (var c = 0u; c < chunks; c++) {
      let b = part_base(t, h, c);
      acc += exp(part[b] - mx) * part[b + 2u + d];
    }
    out[(t * p.heads + h) * p.head_dim + d] = acc / l;
  }
}
