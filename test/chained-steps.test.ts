/**
 * Chained steps (Scheduler.chain) without a GPU: a device sampler emulated on the CPU reference.
 * Like a GPU queue, steps run one after another in submission order, so a chained entry reads the
 * token its slot drew in the step submitted before; the results come back later (a timer stands
 * for the read-back). The same requests through the plain CPU backend (sampling
 * on the CPU, no chaining) are the reference: every token must match. A step that fails while the
 * next one is in flight fails its requests, leaves nothing behind, and the engine goes on.
 */
import { describe, expect, it } from 'vitest';
import type { ModelRunner, SeqResult, SeqStep, StepSampling } from '../src/engine/backend.js';
import { loadCpu } from '../src/engine/cpu/backend.js';
import { Engine, type GenerationParams } from '../src/engine/engine.js';
import { sample } from '../src/engine/sampling.js';
import { STORIES_GGUF } from './helpers/paths.js';

/** The CPU reference with a sampler "on the device": slots, chained entries, late results. */
async function emulatedDevice() {
  const loaded = await loadCpu(STORIES_GGUF, { maxBatch: 8 });
  const cpu = loaded.runner;
  const drawn = new Map<number, number>();
  const state = { steps: 0, failAt: -1, inFlight: 0, mostInFlight: 0 };
  const draw = (logits: Float32Array, spec: StepSampling) => {
    if (spec.penalties || spec.mask) throw new Error('the emulated sampler has no penalties or grammar');
    const l = logits.slice();
    for (const [id, b] of spec.bias) l[id] = b === -Infinity ? -Infinity : l[id]! + b;
    return sample(l, spec.sampling, spec.r);
  };
  // The device's queue: each step runs when the one submitted before it has run.
  let queue: Promise<unknown> = Promise.resolve();
  const step = async (batch: SeqStep[]): Promise<SeqResult[]> => {
    const n = state.steps++;
    state.mostInFlight = Math.max(state.mostInFlight, ++state.inFlight);
    const run = queue.then(async () => {
      if (n === state.failAt) throw new Error('the device failed');
      const entries = batch.map((e) => (e.chained ? { ...e, tokens: [drawn.get(e.sample!.slot)!] } : e));
      const out = await cpu.step!(entries);
      return out.map((r, i): SeqResult => {
        const s = entries[i]!.sample;
        if (!s) return r;
        const token = draw(r.logits!, s.spec);
        drawn.set(s.slot, token);
        return { token };
      });
    });
    queue = run.catch(() => undefined);
    try {
      const results = await run;
      await new Promise((r) => setTimeout(r, 2)); // the read-back
      return results;
    } finally {
      state.inFlight--;
    }
  };
  const runner: ModelRunner = { ...cpu, forward: cpu.forward.bind(cpu), step, dispose: cpu.dispose.bind(cpu), sampler: { chains: true, reset() {}, step: () => Promise.reject(new Error('unused')) } };
  return { engine: new Engine({ model: loaded.model, runner }), state };
}

const params = (i: number, over: Partial<GenerationParams> = {}): GenerationParams => ({
  promptIds: [1, 40 + i * 37, 30 + i * 11], // stories260K: a vocabulary of 512
  maxTokens: 20 + 7 * i,
  sampling: { temperature: i % 3 === 0 ? 0 : 0.9, topP: i % 2 ? 0.8 : 1, topK: 0, minP: 0 },
  seed: 100 + i,
  stop: i === 2 ? ['.'] : [],
  includeStopStr: false,
  stopTokenIds: [],
  ignoreEos: i % 2 === 0,
  ...over,
});

async function tokens(gen: AsyncGenerator<{ tokenId?: number; finishReason?: string }>): Promise<string> {
  const ids: (number | string)[] = [];
  for await (const e of gen) {
    if (e.tokenId !== undefined) ids.push(e.tokenId);
    if (e.finishReason) ids.push(e.finishReason);
  }
  return ids.join(',');
}

describe('chained steps with an emulated device sampler', () => {
  it('requests together give the CPU sampler\'s tokens; steps ran ahead; nothing is left behind', async () => {
    const { engine, state } = await emulatedDevice();
    const reference = new Engine(await loadCpu(STORIES_GGUF, { maxBatch: 8 }));
    const requests = Array.from({ length: 6 }, (_, i) => params(i, i === 5 ? { minTokens: 12, stop: [' the'] } : {}));
    const want = await Promise.all(requests.map((p) => tokens(reference.generate(p))));
    const got = await Promise.all(requests.map((p) => tokens(engine.generate(p))));
    expect(got).toEqual(want);
    expect(engine.stats()!.chained).toBeGreaterThan(10);
    expect(state.mostInFlight).toBe(2);
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, blocks: { used: 0 } });
  }, 120_000);

  it('a step that fails with the next one in flight fails its requests, and the engine goes on', async () => {
    const { engine, state } = await emulatedDevice();
    state.failAt = 12;
    const outcomes = await Promise.all([0, 1, 3].map((i) => tokens(engine.generate(params(i, { maxTokens: 40, ignoreEos: true }))).catch((e: Error) => `error: ${e.message}`)));
    expect(outcomes).toEqual(['error: the device failed', 'error: the device failed', 'error: the device failed']);
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, blocks: { used: 0 } });
    const reference = new Engine(await loadCpu(STORIES_GGUF, { maxBatch: 8 }));
    expect(await tokens(engine.generate(params(4)))).toBe(await tokens(reference.generate(params(4))));
  }, 120_000);
});
