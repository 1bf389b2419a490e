/** Logits processors as pure functions on known logits. */
import { describe, expect, it } from 'vitest';
import { applyLogitBias, applyPenalties, banSequences, logSoftmax, suppress, topK } from '../src/engine/logits.js';

const v = (...x: number[]) => Float32Array.from(x);

describe('logits processors', () => {
  it('logSoftmax normalises and keeps differences', () => {
    const lp = logSoftmax(v(1, 2, 3));
    expect(Math.exp(lp[0]!) + Math.exp(lp[1]!) + Math.exp(lp[2]!)).toBeCloseTo(1, 6);
    expect(lp[2]! - lp[1]!).toBeCloseTo(1, 6);
    expect(lp[0]).toBeCloseTo(1 - Math.log(Math.E + Math.E ** 2 + Math.E ** 3), 6);
  });
  it('topK returns the best entries in order, ties by lower id', () => {
    expect(topK(v(0.1, 5, 3, 5, -1), 3)).toEqual([{ id: 1, value: 5 }, { id: 3, value: 5 }, { id: 2, value: 3 }]);
    expect(topK(v(1, 2), 0)).toEqual([]);
    expect(topK(v(1, 2), 5).map((t) => t.id)).toEqual([1, 0]);
  });
  it('logit_bias adds per token, ignoring ids outside the vocabulary', () => {
    const l = v(0, 0, 0);
    applyLogitBias(l, new Map([[1, 5], [2, -100], [7, 3]]));
    expect(Array.from(l)).toEqual([0, 5, -100]);
  });
  it('bad word sequences ban the last token only after their prefix', () => {
    const seqs = [[4], [1, 2, 3]];
    const l = v(0, 0, 0, 0, 0);
    banSequences(l, [9, 1, 2], seqs);
    expect(Array.from(l)).toEqual([0, 0, 0, -Infinity, -Infinity]);
    const m = v(0, 0, 0, 0, 0);
    banSequences(m, [1, 9], seqs);
    expect(Array.from(m)).toEqual([0, 0, 0, 0, -Infinity]);
  });
  it('suppress sets -Infinity', () => {
    const l = v(1, 2);
    suppress(l, [0]);
    expect(l[0]).toBe(-Infinity);
  });
  it('repetition penalty divides positive and multiplies negative logits of seen tokens (HF/CTRL)', () => {
    const l = v(2, -2, 2, -2);
    applyPenalties(l, new Map(), new Set([0, 1]), { frequency: 0, presence: 0, repetition: 2 });
    expect(Array.from(l)).toEqual([1, -4, 2, -2]);
  });
  it('frequency and presence penalties subtract per count and once (OpenAI)', () => {
    const l = v(1, 1, 1);
    applyPenalties(l, new Map([[0, 3], [1, 1]]), new Set([0, 1, 2]), { frequency: 0.5, presence: 0.25, repetition: 1 });
    expect(Array.from(l)).toEqual([1 - 1.5 - 0.25, 1 - 0.5 - 0.25, 1]);
  });
});
