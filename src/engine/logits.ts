/**
 * Logits processors, as pure functions over a logits vector (modified in place), applied in this
 * order before sampling: logit_bias, bad_words, min_tokens suppression, repetition_penalty,
 * frequency/presence penalties. Log-probabilities reported to clients are taken from the raw model
 * logits, before any of these (see README, "Log probabilities").
 */

/** log_softmax over the whole vocabulary (float64 accumulation). */
export function logSoftmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - lse;
  return out;
}

/** The k largest entries, best first (ties broken by lower id). */
export function topK(values: Float32Array, k: number): { id: number; value: number }[] {
  const best: { id: number; value: number }[] = [];
  if (k <= 0) return best;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (best.length < k || v > best[best.length - 1]!.value) {
      let j = best.length < k ? best.length : best.length - 1;
      if (best.length < k) best.push({ id: i, value: v });
      while (j > 0 && best[j - 1]!.value < v) {
        best[j] = best[j - 1]!;
        j--;
      }
      best[j] = { id: i, value: v };
    }
  }
  return best;
}

/** OpenAI logit_bias: added to the logit of each listed token id. */
export function applyLogitBias(logits: Float32Array, bias: Map<number, number>): void {
  for (const [id, b] of bias) if (id >= 0 && id < logits.length) logits[id] = logits[id]! + b;
}

/**
 * bad_words as token sequences: a sequence whose all-but-last tokens end the output so far can
 * never be completed, so its last token is banned; one-token sequences are always banned.
 */
export function banSequences(logits: Float32Array, output: number[], sequences: number[][]): void {
  suppress(logits, bannedBy(output, sequences));
}

/** The tokens `banSequences` would ban after `output`. */
export function bannedBy(output: number[], sequences: number[][]): number[] {
  const banned: number[] = [];
  for (const seq of sequences) {
    const prefix = seq.length - 1;
    if (prefix > output.length) continue;
    let match = true;
    for (let i = 0; i < prefix && match; i++) match = output[output.length - prefix + i] === seq[i];
    if (match) banned.push(seq[prefix]!);
  }
  return banned;
}

export function suppress(logits: Float32Array, ids: Iterable<number>): void {
  for (const id of ids) if (id >= 0 && id < logits.length) logits[id] = -Infinity;
}

export interface Penalties {
  /** OpenAI: subtracted once per occurrence in the output so far. */
  frequency: number;
  /** OpenAI: subtracted once if the token occurs in the output so far. */
  presence: number;
  /** CTRL / Hugging Face: over prompt and output, positive logits divided, negative multiplied. */
  repetition: number;
}

/**
 * `outputCounts` counts tokens generated so far; `seen` holds every token of prompt and output.
 * Matches vLLM's apply_penalties for the same inputs.
 */
export function applyPenalties(logits: Float32Array, outputCounts: Map<number, number>, seen: Set<number>, p: Penalties): void {
  if (p.repetition !== 1) {
    for (const id of seen) {
      const v = logits[id]!;
      logits[id] = v > 0 ? v / p.repetition : v * p.repetition;
    }
  }
  if (p.frequency !== 0 || p.presence !== 0) {
    for (const [id, count] of outputCounts) logits[id] = logits[id]! - p.frequency * count - p.presence;
  }
}
