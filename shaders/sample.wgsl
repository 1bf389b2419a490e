// Sampling on the GPU, one workgroup over the whole vocabulary, the same algorithm as
// src/engine/sampling.ts so that a seed gives the same tokens on every backend:
//   1. logits processors: repetition / frequency / presence penalties (counts and seen flags kept
//      on the GPU), the grammar's token bitmask, then the sparse logit_bias list (bans are bias
//      <= -1e29); when the bans leave no token the grammar allows, they are dropped (the grammar wins);
//   2. greedy: argmax (lowest id on ties); else temperature, top-k by an exact bisection over the
//      order-preserving bit patterns of the scaled logits, min-p, top-p by bisection over the
//      probabilities' bit patterns, and a draw walking the kept tokens in id order;
//   3. log-probabilities of the raw logits (chosen token and the top n).
// Only `out` ([token, logprob, id_1, lp_1, …]) is read back by the CPU.

struct Params {
  vocab: u32,
  n_bias: u32,
  top_k: u32,        // 0: off
  n_logprobs: u32,   // 0xffffffff: no logprobs
  temperature: f32,  // 0: greedy
  top_p: f32,
  min_p: f32,
  r: f32,            // the step's uniform random number
  frequency: f32,
  presence: f32,
  repetition: f32,
  count_token: u32,  // the step's input token, counted as generated output (0xffffffff: none; 0xfffffffe: out[0], the token drawn last)
  use_mask: u32,     // 1: tokens whose bit in `mask` is 0 are not allowed
  row: u32,          // the row of `logits` to sample (a batched step has one per sequence)
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> work: array<f32>;
@group(0) @binding(2) var<storage, read_write> counts: array<u32>;
@group(0) @binding(3) var<storage, read_write> seen: array<u32>;
@group(0) @binding(4) var<storage, read> bias: array<vec2u>; // (token, bitcast<u32>(value))
@group(0) @binding(5) var<storage, read_write> out: array<u32>;
@group(0) @binding(6) var<uniform> p: Params;
@group(0) @binding(7) var<storage, read> mask: array<u32>; // bit i%32 of word i/32: token i allowed

const WG = 256u;

fn logit(i: u32) -> f32 {
  return logits[p.row * p.vocab + i];
}
const NEG = -3.0e38;
var<workgroup> rf: array<f32, 256>;
var<workgroup> ru: array<u32, 256>;
var<workgroup> shared_u: u32;
var<workgroup> shared_pick: u32;
var<workgroup> shared_f: f32;
var<workgroup> picked: array<u32, 21>;

fn sum_f(lid: u32, v: f32) -> f32 {
  rf[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { rf[lid] += rf[lid + s]; }
    workgroupBarrier();
  }
  let total = rf[0];
  workgroupBarrier();
  return total;
}

fn sum_u(lid: u32, v: u32) -> u32 {
  ru[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { ru[lid] += ru[lid + s]; }
    workgroupBarrier();
  }
  let total = ru[0];
  workgroupBarrier();
  return total;
}

/** (value, index) argmax: larger value wins, then the lower index. */
fn argmax_pair(lid: u32, v: f32, i: u32) -> u32 {
  rf[lid] = v;
  ru[lid] = i;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = rf[lid + s];
      let oi = ru[lid + s];
      if (ov > rf[lid] || (ov == rf[lid] && oi < ru[lid])) { rf[lid] = ov; ru[lid] = oi; }
    }
    workgroupBarrier();
  }
  let best = ru[0];
  workgroupBarrier();
  return best;
}

/** Maps floats to u32 so that unsigned order is float order. */
fn key(f: f32) -> u32 {
  let b = bitcast<u32>(f);
  return select(~b, b | 0x80000000u, f >= 0.0);
}

fn scaled(i: u32) -> f32 {
  return work[i] / p.temperature;
}

fn allowed(i: u32) -> bool {
  return p.use_mask == 0u || ((mask[i >> 5u] >> (i & 31u)) & 1u) != 0u;
}

/** When `write`: work = the logits with penalties, and NEG where the grammar forbids the token. */
fn penalised(lid: u32, write: bool) {
  for (var i = lid; i < p.vocab && write; i += WG) {
    var l = logit(i);
    if (p.repetition != 1.0 && seen[i] != 0u) { l = select(l * p.repetition, l / p.repetition, l > 0.0); }
    let c = counts[i];
    if (c > 0u) { l -= p.frequency * f32(c) + p.presence; }
    work[i] = select(NEG, l, allowed(i));
  }
  storageBarrier();
  workgroupBarrier();
}

@compute @workgroup_size(256)
fn sample(@builtin(local_invocation_index) lid: u32) {
  let V = p.vocab;
  // --- 1. logits processors -----------------------------------------------------------------
  if (lid == 0u && p.count_token != 0xffffffffu) {
    // a chained step's input is the token this slot drew in the step before, still in out[0]
    let t = select(p.count_token, out[0], p.count_token == 0xfffffffeu);
    counts[t] += 1u;
    seen[t] = 1u;
  }
  storageBarrier();
  workgroupBarrier();
  penalised(lid, true);
  if (lid == 0u) {
    for (var b = 0u; b < p.n_bias; b++) {
      let id = bias[b].x;
      let v = bitcast<f32>(bias[b].y);
      if (id < V) { work[id] = select(work[id] + v, NEG, v <= -1.0e29); }
    }
  }
  storageBarrier();
  workgroupBarrier();
  if (p.use_mask != 0u && p.n_bias > 0u) {
    var any = 0u;
    for (var i = lid; i < V; i += WG) { any += select(0u, 1u, work[i] > NEG); }
    penalised(lid, sum_u(lid, any) == 0u);
  }

  // --- 2. choose ------------------------------------------------------------------------------
  var token = 0u;
  {
    var bv = NEG;
    var bi = 0xffffffffu;
    for (var i = lid; i < V; i += WG) {
      if (work[i] > bv) { bv = work[i]; bi = i; }
    }
    token = argmax_pair(lid, bv, bi);
  }
  if (p.temperature > 0.0) {
    let mx = work[token] / p.temperature;
    // top-k: the largest key K with at least k scaled logits at or above it
    var kfloor = 0u;
    if (p.top_k > 0u && p.top_k < V) {
      for (var bit = 31i; bit >= 0i; bit--) {
        let cand = kfloor | (1u << u32(bit));
        var c = 0u;
        for (var i = lid; i < V; i += WG) { c += select(0u, 1u, key(scaled(i)) >= cand); }
        if (sum_u(lid, c) >= p.top_k) { kfloor = cand; }
      }
    }
    // kept tokens' unnormalised probabilities, min-p applied
    for (var i = lid; i < V; i += WG) {
      let s = scaled(i);
      var e = 0.0;
      if (key(s) >= kfloor && work[i] > NEG) {
        e = exp(s - mx);
        if (e < p.min_p) { e = 0.0; }
      }
      work[i] = e;
    }
    storageBarrier();
    workgroupBarrier();
    // top-p: the largest probability τ whose kept mass still reaches top_p of the total
    var pfloor = 0u;
    if (p.top_p < 1.0) {
      var t = 0.0;
      for (var i = lid; i < V; i += WG) { t += work[i]; }
      let total = sum_f(lid, t);
      for (var bit = 31i; bit >= 0i; bit--) {
        let cand = pfloor | (1u << u32(bit));
        var m = 0.0;
        for (var i = lid; i < V; i += WG) { if (work[i] > 0.0 && bitcast<u32>(work[i]) >= cand) { m += work[i]; } }
        if (sum_f(lid, m) >= p.top_p * total) { pfloor = cand; }
      }
    }
    // the draw: contiguous segments per thread, a prefix over threads, a walk in one segment
    let seg = (V + WG - 1u) / WG;
    let lo = min(lid * seg, V);
    let hi = min(lo + seg, V);
    var local = 0.0;
    for (var i = lo; i < hi; i++) { if (work[i] > 0.0 && bitcast<u32>(work[i]) >= pfloor) { local += work[i]; } }
    rf[lid] = local;
    workgroupBarrier();
    if (lid == 0u) {
      var total = 0.0;
      for (var t = 0u; t < WG; t++) { total += rf[t]; }
      let goal = p.r * total;
      var before = 0.0;
      var owner = 0xffffffffu;
      var last_nonzero = 0u;
      for (var t = 0u; t < WG; t++) {
        if (rf[t] > 0.0) { last_nonzero = t; }
        if (owner == 0xffffffffu && rf[t] > 0.0 && before + rf[t] > goal) { owner = t; shared_f = goal - before; }
        if (owner == 0xffffffffu) { before += rf[t]; }
      }
      if (owner == 0xffffffffu) { owner = last_nonzero; shared_f = rf[last_nonzero] * 2.0; }
      shared_u = owner;
    }
    workgroupBarrier();
    // the owner writes its pick to a separate variable: shared_u is still being read by others
    if (lid == shared_u) {
      var cum = 0.0;
      var pick = lo;
      for (var i = lo; i < hi; i++) {
        if (work[i] > 0.0 && bitcast<u32>(work[i]) >= pfloor) {
          cum += work[i];
          pick = i;
          if (cum > shared_f) { break; }
        }
      }
      shared_pick = pick;
    }
    workgroupBarrier();
    token = shared_pick;
    workgroupBarrier();
  }
  if (lid == 0u) { out[0] = token; }

  // --- 3. log-probabilities of the raw logits ---------------------------------------------------
  if (p.n_logprobs != 0xffffffffu) {
    var bv = NEG;
    var bi = 0u;
    for (var i = lid; i < V; i += WG) { if (logit(i) > bv) { bv = logit(i); bi = i; } }
    let top = argmax_pair(lid, bv, bi);
    let mx = logit(top);
    var s = 0.0;
    for (var i = lid; i < V; i += WG) { s += exp(logit(i) - mx); }
    let lse = mx + log(sum_f(lid, s));
    if (lid == 0u) { out[1] = bitcast<u32>(logit(token) - lse); }
    for (var n = 0u; n < p.n_logprobs; n++) {
      var v = NEG;
      var vi = 0xffffffffu;
      for (var i = lid; i < V; i += WG) {
        var taken = false;
        for (var j = 0u; j < n; j++) { if (picked[j] == i) { taken = true; } }
        if (!taken && (logit(i) > v || vi == 0xffffffffu)) { v = logit(i); vi = i; }
      }
      let id = argmax_pair(lid, v, vi);
      if (lid == 0u) {
        picked[n] = id;
        out[2u + 2u * n] = id;
        out[3u + 2u * n] = bitcast<u32>(logit(id) - lse);
      }
      workgroupBarrier();
    }
  }
}
