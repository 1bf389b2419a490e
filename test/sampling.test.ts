/** Sampling as a pure function: greedy, and distributions checked with a chi-square bound. */
import { describe, expect, it } from 'vitest';
import { argmax, Rng, sample, type SamplingParams } from '../src/engine/sampling.js';
import { StopMatcher } from '../src/engine/stop.js';

const logits = Float32Array.from([2.0, 1.0, 0.5, 0.0, -1.0, 3.0]);
const base: SamplingParams = { temperature: 1, topP: 1, topK: 0, minP: 0 };

function softmax(x: number[], t: number): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp((v - m) / t));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** Draws many samples and asserts the frequencies fit `expected` (chi-square, p ≈ 0.001). */
function expectDistribution(p: SamplingParams, expected: number[], draws = 20000) {
  const rng = new Rng(42);
  const counts = new Array(expected.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sample(logits, p, rng.next())]++;
  let chi = 0;
  let dof = -1;
  expected.forEach((q, i) => {
    if (q === 0) expect(counts[i]).toBe(0);
    else {
      chi += (counts[i] - q * draws) ** 2 / (q * draws);
      dof++;
    }
  });
  const critical = [10.83, 13.82, 16.27, 18.47, 20.52, 22.46][dof - 1]!;
  expect(chi).toBeLessThan(critical);
}

describe('sampling', () => {
  it('temperature 0 is argmax', () => {
    expect(sample(logits, { ...base, temperature: 0 }, 0.5)).toBe(5);
    expect(argmax(logits)).toBe(5);
  });
  it('temperature 1 follows softmax', () => expectDistribution(base, softmax(Array.from(logits), 1)));
  it('temperature 0.5 sharpens', () => expectDistribution({ ...base, temperature: 0.5 }, softmax(Array.from(logits), 0.5)));
  it('top-k keeps the k best, renormalised', () => {
    const p = softmax([2, 3], 1);
    expectDistribution({ ...base, topK: 2 }, [p[0]!, 0, 0, 0, 0, p[1]!]);
  });
  it('top-p keeps the smallest set reaching p', () => {
    const full = softmax(Array.from(logits), 1); // order: 5, 0, 1, 2, 3, 4
    const kept = full[5]! + full[0]!; // ≈ 0.86 ≥ 0.8
    expectDistribution({ ...base, topP: 0.8 }, full.map((q, i) => (i === 5 || i === 0 ? q / kept : 0)));
  });
  it('min-p drops tokens below min_p × the best probability', () => {
    const full = softmax(Array.from(logits), 1);
    const keep = full.map((q) => (q >= 0.2 * full[5]! ? q : 0));
    const z = keep.reduce((a, b) => a + b, 0);
    expectDistribution({ ...base, minP: 0.2 }, keep.map((q) => q / z));
  });
  it('the same seed gives the same draws', () => {
    const a = new Rng(7), b = new Rng(7);
    const xs = Array.from({ length: 50 }, () => sample(logits, base, a.next()));
    expect(Array.from({ length: 50 }, () => sample(logits, base, b.next()))).toEqual(xs);
  });
});

/** The sampler as first written (whole-vocabulary sorts): what the fast one must reproduce exactly. */
function sortingSample(logits: Float32Array, p: SamplingParams, r: number): number {
  if (p.temperature <= 0) return argmax(logits);
  const n = logits.length;
  const scaled = new Float32Array(n);
  for (let i = 0; i < n; i++) scaled[i] = logits[i]! / p.temperature;
  let floor = -Infinity;
  if (p.topK > 0 && p.topK < n) floor = [...scaled].sort((a, b) => b - a)[p.topK - 1]!;
  const max = scaled[argmax(scaled)]!;
  const e = new Float32Array(n);
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

describe('sampling without sorting the vocabulary', () => {
  it('draws exactly what whole-vocabulary sorts draw: ties, masked tokens, every filter', () => {
    const rng = new Rng(2026);
    let draws = 0;
    for (const n of [1, 2, 7, 64, 65, 300, 4099, 49152]) {
      for (let trial = 0; trial < (n > 5000 ? 3 : 12); trial++) {
        const logits = new Float32Array(n);
        const kind = trial % 4;
        for (let i = 0; i < n; i++) {
          const u = rng.next();
          // peaked, flat, coarse (many exact ties) and partly masked (a grammar's -Infinity)
          logits[i] = kind === 0 ? 12 * u ** 6 : kind === 1 ? u * 0.5 : kind === 2 ? Math.round(u * 6) : u < 0.7 ? -Infinity : 4 * u;
        }
        for (const p of [
          { temperature: 0.7, topP: 0.9, topK: 0, minP: 0 },
          { temperature: 1, topP: 0.5, topK: 40, minP: 0 },
          { temperature: 1.3, topP: 0.999, topK: 0, minP: 0.05 },
          { temperature: 0.2, topP: 1, topK: Math.max(1, n >> 1), minP: 0 },
          { temperature: 1, topP: 0.95, topK: n, minP: 0 },
          { temperature: 2, topP: 1e-9, topK: 3, minP: 0 },
        ]) {
          for (let k = 0; k < 4; k++) {
            const r = rng.next();
            expect(sample(logits, p, r), `n ${n}, kind ${kind}, ${JSON.stringify(p)}, r ${r}`).toBe(sortingSample(logits, p, r));
            draws++;
          }
        }
      }
    }
    expect(draws).toBeGreaterThan(1000);
  });
});

describe('stop strings', () => {
  it('holds back a possible stop prefix and cuts at the stop', () => {
    const m = new StopMatcher(['END'], false);
    expect(m.push('abc E')).toEqual({ text: 'abc ', stopped: false });
    expect(m.push('N')).toEqual({ text: '', stopped: false });
    expect(m.push('Dxyz')).toEqual({ text: '', stopped: true });
  });
  it('releases a false start and can include the stop string', () => {
    const m = new StopMatcher(['END'], true);
    expect(m.push('EN')).toEqual({ text: '', stopped: false });
    expect(m.push('x END!')).toEqual({ text: 'ENx END', stopped: true });
  });
  it('flush returns what was held', () => {
    const m = new StopMatcher(['abc'], false);
    m.push('xab');
    expect(m.flush()).toBe('ab');
  });
});
