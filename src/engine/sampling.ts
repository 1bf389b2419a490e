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
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** Picks a token from (already processed) logits with one uniform random number r ∈ [0, 1). */
export function sample(logits: Float32Array, p: SamplingParams, r: number): number {
  if (p.temperature <= 0) return argmax(logits);
  const n = logits.length;
  const scaled = new Float32Array(n);
  for (let i = 0; i < n; i++) scaled[i] = logits[i]! / p.temperature;
  let floor = -Infinity;
  if (p.topK > 0 && p.topK < n) floor = [...scaled].sort((a, b) => b - a)[p.topK - 1]!;
  const max = scaled[argmax(scaled)]!;
  const e = new Float32Array(n); // unnormalised probabilities of kept tokens, 0 elsewhere
  for (let i = 0; i < n; i++) {
    if (scaled[i]! < floor || !Number.isFinite(scaled[i]!)) continue;
    const v = Math.fround(Math.exp(scaled[i]! - max));
    if (v >= p.minP) e[i] = v;
  }
  if (p.topP < 1) {
    const total = e.reduce((a, b) => a + b, 0);
    const sorted = Array.from(e).filter((v) => v > 0).sort((a, b) => b - a);
    let mass = 0;
    let tau = 0;
    for (const v of sorted) {
      mass += v;
      tau = v;
      if (mass >= p.topP * total) break;
    }
    for (let i = 0; i < n; i++) if (e[i]! < tau) e[i] = 0;
  }
  const total = e.reduce((a, b) => a + b, 0);
  const target = r * total;
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
