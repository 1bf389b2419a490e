// Flash attention on GPUs (attentionOps' GPU family when the tiles fit workgroup memory): a
// workgroup takes TQ query tokens x the G = heads / kv_heads query heads of one kv head (R = TQ * G
// rows) and one chunk of cached positions, and walks the chunk in tiles of BK positions staged in
// workgroup memory, with an online softmax per row. Each K/V row is thus read from the cache once
// per R rows instead of once per (query, head). Decode (TQ = 1) reads each kv head's cache once for
// all its query heads. The chunking, the paged cache (paged.wgsl) and the partial-result layout
// are attention.wgsl's (attn_combine merges the chunks; a row within the first chunk gets its
// output directly). The rows of a tile of TQ > 1 tokens are one sequence's (one block table):
// steps of several sequences use the TQ = 1 pipeline, a workgroup per row.
// Sizes are override constants chosen on the host: HD = head_dim, QS = R * HD, KS = BK * (HD + 1)
// (rows padded by one float so the score phase's threads, one key each, hit distinct banks),
// PS = R * BK, NACC = ceil(R * HD / WG) <= 32 output values per thread, NS = ceil(R * BK / WG)
// scores per thread.

struct Params {
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  decode_chunk: u32,
  scale: f32,
  window: u32,
  softcap: f32,
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

override WG: u32 = 128u;
override HD: u32 = 64u;
override G: u32 = 1u;
override TQ: u32 = 1u;
override BK: u32 = 32u;
override RS: u32 = 1u;   // R
override QS: u32 = 64u;  // R * HD
override KS: u32 = 2080u; // BK * (HD + 1)
override PS: u32 = 32u;  // R * BK
override NACC: u32 = 1u;
override NS: u32 = 1u;   // ceil(R / (WG / BK)) <= 16 score rows per thread
const NEG = -3.0e38;

var<workgroup> qs: array<f32, QS>;
var<workgroup> kv: array<f32, KS>;
var<workgroup> ps: array<f32, PS>;
var<workgroup> mrow: array<f32, RS>;
var<workgroup> lrow: array<f32, RS>;
var<workgroup> arow: array<f32, RS>;

fn first_pos(len: u32) -> u32 {
  return select(0u, len - p.window, p.window > 0u && len > p.window);
}

fn score(dot_qk: f32) -> f32 {
  let s = dot_qk * p.scale;
  if (p.softcap > 0.0) { return p.softcap * tanh(clamp(s / p.softcap, -15.0, 15.0)); }
  return s;
}

fn chunk_size() -> u32 {
  return select(256u, p.decode_chunk, step.decode == 1u);
}

fn part_base(t: u32, h: u32, c: u32) -> u32 {
  let chunks = (step.span + chunk_size() - 1u) / chunk_size();
  return ((t * p.heads + h) * chunks + c) * (HD + 2u);
}

@compute @workgroup_size(WG)
fn attn_flash(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let R = TQ * G;
  let c = wg.x;
  let kvh = wg.y;
  let t0 = wg.z * TQ;
  let chunk = chunk_size();
  if (t0 >= step.T) { return; }
  let tl = min(t0 + TQ, step.T) - 1u;   // the tile's last query token
  let qmax = row_pos_uniform(tl);
  if (c * chunk > qmax) { return; }     // no query of this tile reaches the chunk: nothing reads it
  let lo = max(c * chunk, first_pos(row_pos_uniform(t0) + 1u));
  let hi = min(c * chunk + chunk, qmax + 1u);
  let kvw = p.kv_heads * HD;
  let ko = kvh * HD;

  for (var i = lid; i < R * HD; i += WG) {
    let t = t0 + i / HD / G;
    let h = kvh * G + (i / HD) % G;
    var v = 0.0;
    if (t < step.T) { v = q[(t * p.heads + h) * HD + i % HD]; }
    qs[i] = v;
  }
  for (var r = lid; r < R; r += WG) { mrow[r] = NEG; lrow[r] = 0.0; }
  var acc: array<f32, 32>;
  for (var k = 0u; k < NACC; k++) { acc[k] = 0.0; }
  workgroupBarrier();

  for (var kb = lo; kb < hi; kb += BK) {
    for (var i = lid; i < BK * HD; i += WG) {
      let j = i / HD;
      var v = 0.0;
      if (kb + j < hi) { v = k_at(kv_row(t0, kb + j) * kvw + ko + i % HD); }
      kv[j * (HD + 1u) + i % HD] = v;
    }
    workgroupBarrier();
    // Scores: thread lid takes key j = lid % BK (BK divides WG) for rows lid / BK + k * (WG / BK),
    // so each key value it loads serves NS rows.
    {
      let j = lid % BK;
      let pos = kb + j;
      var sacc: array<f32, 16>;
      for (var k = 0u; k < NS; k++) { sacc[k] = 0.0; }
      for (var d = 0u; d < HD; d++) {
        let kk = kv[j * (HD + 1u) + d];
        for (var k = 0u; k < NS; k++) {
          let r = min(lid / BK + k * (WG / BK), R - 1u);
          sacc[k] += qs[r * HD + d] * kk;
        }
      }
      for (var k = 0u; k < NS; k++) {
        let r = lid / BK + k * (WG / BK);
        let t = t0 + r / G;
        if (r < R) {
          var s = NEG;
          if (t < step.T) {
            let qp = row_pos(t);
            if (pos < hi && pos <= qp && pos >= first_pos(qp + 1u)) { s = score(sacc[k]); }
          }
          ps[r * BK + j] = s;
        }
      }
    }
    workgroupBarrier();
    // The value tile replaces the key tile while R threads update their row's softmax.
    for (var i = lid; i < BK * HD; i += WG) {
      let j = i / HD;
      var v = 0.0;
      if (kb + j < hi) { v = v_at(kv_row(t0, kb + j) * kvw + ko + i % HD); }
      kv[j * (HD + 1u) + i % HD] = v;
    }
    for (var r = lid; r < R; r += WG) {
      let mo = mrow[r];
      var mx = mo;
      for (var j = 0u; j < BK; j++) { mx = max(mx, ps[r * BK + j]); }
      var sum = 0.0;
      for (var j = 0u; j < BK; j++) {
        let s = ps[r * BK + j];
        let e = select(exp(s - mx), 0.0, s <= NEG);
        ps[r * BK + j] = e;
        sum += e;
      }
      let a = exp(mo - mx);
      arow[r] = a;
      lrow[r] = lrow[r] * a + sum;
      mrow[r] = mx;
    }
    workgroupBarrier();
    if (WG % HD == 0u) {
      // Every output of a thread has dimension d = lid % HD: one value load per key serves them all.
      let d = lid % HD;
      for (var k = 0u; k < NACC; k++) { acc[k] *= arow[min(lid / HD + k * (WG / HD), R - 1u)]; }
      for (var j = 0u; j < BK; j++) {
        let vv = kv[j * (HD + 1u) + d];
        for (var k = 0u; k < NACC; k++) {
          acc[k] += ps[min(lid / HD + k * (WG / HD), R - 1u) * BK + j] * vv;
        }
      }
    } else {
      for (var k = 0u; k < NACC; k++) {
        let i = lid + k * WG;
        if (i < R * HD) {
          let r = i / HD;
          let d = i % HD;
          var a = acc[k] * arow[r];
          for (var j = 0u; j < BK; j++) { a += ps[r * BK + j] * kv[j * (HD + 1u) + d]; }
          acc[k] = a;
        }
      }
    }
    workgroupBarrier();
  }

  for (var k = 0u; k < NACC; k++) {
    let i = lid + k * WG;
    if (i < R * HD) {
      let r = i / HD;
      let d = i % HD;
      let t = t0 + r / G;
      let h = kvh * G + r % G;
      // Rows whose query lies before this chunk are not read by attn_combine.
      if (t < step.T && c * chunk <= row_pos(t)) {
        if (row_pos(t) < chunk) {
          out[(t * p.heads + h) * HD + d] = acc[k] / lrow[r];
        } else {
          let b = part_base(t, h, c);
          if (d == 0u) { part[b] = mrow[r]; part[b + 1u] = lrow[r]; }
          part[b + 2u + d] = acc[k];
        }
      }
    }
  }
}

// attn_combine of attention.wgsl walks a (query, head)'s chunks in one thread, a chain of
// dependent loads that grows with the context (~63 chunks per head at 4,000 positions). Here 64
// threads share the chunks: the max and the denominator by tree reductions, then the values in
// batches of 64 chunks whose weights sit in workgroup memory (a fixed trip count, so the loads of
// a batch are independent). head_dim <= 512.
var<workgroup> cred: array<f32, 64>;
var<workgroup> cw: array<f32, 64>;

fn reduce64(lid: u32, v: f32, is_max: bool) -> f32 {
  cred[lid] = v;
  workgroupBarrier();
  for (var k = 32u; k > 0u; k >>= 1u) {
    if (lid < k) {
      let o = cred[lid + k];
      cred[lid] = select(cred[lid] + o, max(cred[lid], o), is_max);
    }
    workgroupBarrier();
  }
  let r = cred[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64)
fn attn_combine_wide(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wg.x;
  let t = wg.y;
  if (t >= step.T) { return; }
  let len = row_pos_uniform(t) + 1u;
  if (len <= chunk_size()) { return; } // written directly by its chunk's kernel
  let chunks = (len + chunk_size() - 1u) / chunk_size();
  var m = NEG;
  for (var c = lid; c < chunks; c += 64u) { m = max(m, part[part_base(t, h, c)]); }
  let mx = reduce64(lid, m, true);
  var l = 0.0;
  for (var c = lid; c < chunks; c += 64u) {
    let b = part_base(t, h, c);
    l += exp(part[b] - mx) * part[b + 1u];
  }
  let inv = 1.0 / reduce64(lid, l, false);
  var acc: array<f32, 8>;
  for (var k = 0u; k < 8u; k++) { acc[k] = 0.0; }
  for (var cb = 0u; cb < chunks; cb += 64u) {
    let c = cb + lid;
    cw[lid] = select(0.0, exp(part[part_base(t, h, min(c, chunks - 1u))] - mx), c < chunks);
    workgroupBarrier();
    for (var k = 0u; k < (HD + 63u) / 64u; k++) {
      let d = min(lid + 64u * k, HD - 1u);
      var a = 0.0;
      for (var i = 0u; i < 64u; i++) {
        a += cw[i] * part[part_base(t, h, min(cb + i, chunks - 1u)) + 2u + d];
      }
      acc[k] += a;
    }
    workgroupBarrier();
  }
  for (var k = 0u; k < (HD + 63u) / 64u; k++) {
    let d = lid + 64u * k;
    if (d < HD) { out[(t * p.heads + h) * HD + d] = acc[k] * inv; }
  }
}
