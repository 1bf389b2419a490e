/**
 * Turning logits into the next token: greedy, or temperature sampling restricted by top-k, top-p
 * (nucleus) and min-p, drawn from a seedable generator so a seed reproduces an answer exactly.
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

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

export function sample(logits: Float32Array, p: SamplingParams, rng: Rng): number {
  if (p.temperature <= 0) return argmax(logits);
  // Candidates sorted by logit, cut to top-k first: sorting the whole vocabulary is the cost to avoid.
  const k = p.topK > 0 ? Math.min(p.topK, logits.length) : logits.length;
  let ids = Array.from({ length: logits.length }, (_, i) => i);
  ids.sort((a, b) => logits[b]! - logits[a]!);
  ids = ids.slice(0, k);
  const max = logits[ids[0]!]!;
  let probs = ids.map((i) => Math.exp((logits[i]! - max) / p.temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((x) => x / total);
  let keep = probs.length;
  if (p.minP > 0) {
    const floor = p.minP * probs[0]!;
    keep = Math.max(1, probs.findIndex((x) => x < floor) === -1 ? keep : probs.findIndex((x) => x < floor));
  }
  if (p.topP < 1) {
    let cum = 0;
    for (let i = 0; i < keep; i++) {
      cum += probs[i]!;
      if (cum >= p.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  total = 0;
  for (let i = 0; i < keep; i++) total += probs[i]!;
  let r = rng.next() * total;
  for (let i = 0; i < keep; i++) {
    r -= probs[i]!;
    if (r <= 0) return ids[i]!;
  }
  return ids[keep - 1]!;
}
