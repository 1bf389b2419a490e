/**
 * Turning logits into the next token: greedy, or temperature sampling restricted by top-k, top-p
 * (nucleus) and min-p, with one uniform random number per step from a seedable generator.
 *
 * The kept set is defined by thresholds, not by a sorted order, so that the GPU sampler
 * (shaders/sample.wgsl) can compute exactly the same thing with reductions:
 *   top-k:  tokens whose scaled logit is at least the k-th largest (ties at the k-th value stay);
 *   min-p:  tokens whose probability is at least min_p × the top probability;
 *   top-p:  of those, the tokens at or above the largest probability τ whose kept mass (tokens
 *           with p ≥ τ) still reaches top_p of the total.
 * The draw walks the kept tokens in id order until the running mass passes r × total.
 */

export interface SamplingParams {
  /** 0 means greedy (argmax). */
  temperature: number;
  topP: number; // 1 disables
  topK: number; // 0 or -1 disables
  minP: number; // 0 disables
}

/** mulberry32: tiny, fast and good enough for sampling; the same seed gives the same stream everywhere. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** Index of the largest value; the lowest index wins ties. */
export function argmax(logits: Float32Array): number {
  let best = 0;
  let max = logits[0]!;
  for (let i = 1; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > max) {
      max = v;
      best = i;
    }
  }
  return best;
}

/**
 * Work arrays reused from call to call (sampling is synchronous, one call at a time): three
 * vocabulary-long arrays a token (~1.5 MB for a 128K vocabulary) showed as garbage collection in
 * a batch's steps.
 */
let work = new Float32Array(0);

/**
 * Rearranges a[lo .. hi) so that a[lo .. lo + m) holds its m largest values, in no order
 * (quickselect, three-way partitions: runs of equal values, such as probabilities that underflowed
 * to the same float, cost no more than distinct ones).
 */
function selectLargest(a: Float32Array, lo: number, hi: number, m: number): void {
  const target = lo + m;
  while (target > lo && target < hi) {
    const x = a[lo]!, y = a[(lo + hi) >>> 1]!, z = a[hi - 1]!;
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z)); // the median of three
    // [lo, lt) > pivot, [lt, gt) = pivot, [gt, hi) < pivot
    let lt = lo, gt = hi;
    for (let i = lo; i < gt; ) {
      const v = a[i]!;
      if (v > pivot) {
        a[i++] = a[lt]!;
        a[lt++] = v;
      } else if (v < pivot) {
        a[i] = a[--gt]!;
        a[gt] = v;
      } else i++;
    }
    if (target <= lt) hi = lt;
    else if (target <= gt) return;
    else lo = gt;
  }
}

/** The k-th largest of the n values (1 ≤ k ≤ n), counting equal values one by one. */
function kthLargest(values: Float32Array, k: number, scratch: Float32Array): number {
  scratch.set(values);
  selectLargest(scratch, 0, values.length, k);
  let min = Infinity;
  for (let i = 0; i < k; i++) if (scratch[i]! < min) min = scratch[i]!;
  return min;
}

/** Per bucket of top-p's weights (their float bits' top 16): a count, then where the bucket ends; zeros between calls. */
const buckets = new Uint32Array(1 << 15);

/**
 * top-p's τ: the positive weights of e taken largest first, their running mass (float64, in that
 * order) until it reaches `need`; τ is the weight that reached it (or the smallest). Sorting the
 * whole vocabulary cost 22 ms a token at 49K entries, 62 ms at 128K. Instead the weights are
 * spread into buckets by their bits' top 16 (a positive float's order is its bits' order), largest
 * bucket first, and only the buckets the walk reaches are sorted: two passes over the vocabulary,
 * then a few small sorts for a peaked distribution, many tiny ones for a flat one. A few weights
 * (a small vocabulary, a grammar's mask) are sorted whole: walking the buckets would cost more.
 */
function topPThreshold(e: Float32Array, need: number, scratch: Float32Array): number {
  const n = e.length;
  const eBits = new Uint32Array(e.buffer, e.byteOffset, n);
  const sBits = new Uint32Array(scratch.buffer, scratch.byteOffset, n);
  let m = 0;
  let lo = buckets.length, hi = -1;
  for (let i = 0; i < n; i++) {
    if (!(e[i]! > 0)) continue;
    const b = eBits[i]! >>> 16;
    buckets[b]!++;
    if (b < lo) lo = b;
    if (b > hi) hi = b;
    m++;
  }
  if (m === 0) return 0;
  if (m <= 2048) {
    buckets.fill(0, lo, hi + 1);
    for (let i = 0, j = 0; i < n; i++) if (e[i]! > 0) sBits[j++] = eBits[i]!;
    return walk(scratch, sBits, 0, m, { mass: 0, need }) ?? scratch[0]!;
  }
  // each bucket's start, the largest bucket first; the scatter then moves each start to its end
  for (let b = hi, at = 0; b >= lo; b--) {
    const count = buckets[b]!;
    buckets[b] = at;
    at += count;
  }
  for (let i = 0; i < n; i++) if (e[i]! > 0) sBits[buckets[eBits[i]! >>> 16]!++] = eBits[i]!;
  const state = { mass: 0, need };
  let tau = 0;
  for (let b = hi, start = 0; b >= lo; b--) {
    const end = buckets[b]!;
    if (end === start) continue;
    const t = walk(scratch, sBits, start, end, state);
    tau = scratch[start]!;
    start = end;
    if (t !== undefined) {
      tau = t;
      break;
    }
  }
  buckets.fill(0, lo, hi + 1);
  return tau;
}

/** Sorts scratch[start .. end) and adds it to the mass largest first: the weight that reached `need`, if one did. */
function walk(scratch: Float32Array, bits: Uint32Array, start: number, end: number, state: { mass: number; need: number }): number | undefined {
  bits.subarray(start, end).sort();
  for (let i = end - 1; i >= start; i--) {
    state.mass += scratch[i]!;
    if (state.mass >= state.need) return scratch[i]!;
  }
  return undefined;
}

/** Picks a token from (already processed) logits with one uniform random number r ∈ [0, 1). */
export function sample(logits: Float32Array, p: SamplingParams, r: number): number {
  if (p.temperature <= 0) return argmax(logits);
  const n = logits.length;
  if (work.length < 3 * n) work = new Float32Array(3 * n);
  const scaled = work.subarray(0, n);
  const e = work.subarray(n, 2 * n); // unnormalised probabilities of kept tokens, 0 elsewhere
  const scratch = work.subarray(2 * n, 3 * n);
  for (let i = 0; i < n; i++) scaled[i] = logits[i]! / p.temperature;
  const floor = p.topK > 0 && p.topK < n ? kthLargest(scaled, p.topK, scratch) : -Infinity;
  const max = scaled[argmax(scaled)]!;
  for (let i = 0; i < n; i++) {
    e[i] = 0;
    if (scaled[i]! < floor || !Number.isFinite(scaled[i]!)) continue;
    const v = Math.fround(Math.exp(scaled[i]! - max));
    if (v >= p.minP) e[i] = v;
  }
  if (p.topP < 1) {
    const tau = topPThreshold(e, p.topP * sum(e), scratch);
    for (let i = 0; i < n; i++) if (e[i]! < tau) e[i] = 0;
  }
  const target = r * sum(e);
  let cum = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    if (e[i] === 0) continue;
    cum += e[i]!;
    last = i;
    if (cum > target) return i;
  }
  return last;
}

/** The values' sum in index order, float64. */
function sum(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}
