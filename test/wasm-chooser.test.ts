/**
 * ThreadChooser's policy on scripted times (no threads, no clock): the matrices' chooser (second
 * fastest of five, alternating warm-up, one exploration in 32) and the passes' (Kernels.pass:
 * median, the pool first, explorations backing off and starting their side afresh).
 */
import { describe, expect, it } from 'vitest';
import { ThreadChooser } from '../src/engine/wasm/threads.js';

/** Runs `calls` choices, timing each side with `time`; returns the choices as a string of 1 (pool) and 0 (alone). */
function drive(c: ThreadChooser, calls: number, time: (pooled: boolean, call: number) => number): string {
  let seen = '';
  for (let i = 0; i < calls; i++) {
    const pooled = c.pool('k');
    c.record('k', pooled, time(pooled, i));
    seen += pooled ? '1' : '0';
  }
  return seen;
}

const passes = () => new ThreadChooser({ typical: (t) => t[t.length >> 1]!, maxExplore: 512, warm: 0 });

describe('the matrices’ chooser', () => {
  it('alternates six calls, then keeps the faster side, trying the other once in 32', () => {
    const seen = drive(new ThreadChooser(), 102, (pooled) => (pooled ? 1 : 2));
    expect(seen.slice(0, 6)).toBe('101010');
    const explored = [...seen].flatMap((s, i) => (i >= 6 && s === '0' ? [i + 1] : []));
    expect(explored).toEqual([38, 70, 102]);
  });

  it('judges by the second fastest: one slow pooled call does not send the work alone', () => {
    const seen = drive(new ThreadChooser(), 40, (pooled, i) => (pooled ? (i === 8 ? 50 : 1) : 2));
    expect(seen.slice(6, 37)).toBe('1'.repeat(31));
  });
});

describe('the passes’ chooser', () => {
  it('starts on the pool and stays there while the pool is faster, exploring less and less', () => {
    const seen = drive(passes(), 1000, (pooled) => (pooled ? 1 : 2));
    expect(seen.slice(0, 31)).toBe('1'.repeat(31));
    const explored = [...seen].flatMap((s, i) => (s === '0' ? [i + 1] : []));
    // at call 32, then 64, 128, 256 and 512 calls apart
    expect(explored).toEqual([32, 96, 224, 480, 992]);
  });

  it('goes alone when lone passes are faster (a busy machine), and the pool explorations back off', () => {
    const seen = drive(passes(), 600, (pooled) => (pooled ? 3 : 1));
    expect(seen.slice(0, 31)).toBe('1'.repeat(31));
    expect(seen.slice(31, 63)).toBe('0'.repeat(32));
    // one pooled exploration each at calls 64, 128, 256 and 512
    expect([...seen].flatMap((s, i) => (i >= 31 && s === '1' ? [i + 1] : []))).toEqual([64, 128, 256, 512]);
  });

  it('comes back to the pool at its next exploration once the pool is faster again, despite stale slow times', () => {
    // slow pooled passes at first (busy, or V8 still compiling), then fast ones
    const seen = drive(passes(), 200, (pooled, i) => (pooled ? (i < 40 ? 5 : 1) : 2));
    expect(seen.indexOf('0')).toBe(31);
    // a single fresh pooled time is enough: back on the pool by the first exploration after the change
    const back = seen.indexOf('1', 41);
    expect(back).toBeGreaterThan(40);
    expect(back).toBeLessThanOrEqual(32 + 64);
    expect(seen.slice(back, back + 30)).toBe('1'.repeat(30));
  });
});
