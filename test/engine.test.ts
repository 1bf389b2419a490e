/**
 * The one-request-at-a-time generation loop (backends without batching) with a device sampler: the next step is started before the current token is
 * handed out (so the GPU works while the text is streamed), and a consumer that stops reading must
 * not let the next request's steps overlap the one still running. The sampler here is the CPU
 * reference made slow, and it refuses overlapping steps the way a GPU read-back buffer would.
 */
import { describe, expect, it } from 'vitest';
import { loadCpu } from '../src/engine/cpu/backend.js';
import { Engine, type GenerationParams } from '../src/engine/engine.js';
import { argmax } from '../src/engine/sampling.js';
import { STORIES_GGUF, storiesReference } from './helpers/paths.js';

async function slowDeviceEngine() {
  const delay = { ms: 1 };
  const loaded = await loadCpu(STORIES_GGUF, {});
  const cpu = loaded.runner;
  let busy = false;
  let overlaps = 0;
  const sampler = {
    reset() {},
    async step(tokens: number[], pos: number) {
      if (busy) overlaps++;
      busy = true;
      try {
        await new Promise((r) => setTimeout(r, delay.ms));
        return { token: argmax(await cpu.forward(tokens, pos)) };
      } finally {
        busy = false;
      }
    },
  };
  // Without step and kv: the one-request-at-a-time loop (a backend that cannot batch).
  const engine = new Engine({ model: loaded.model, runner: { ...cpu, step: undefined, kv: undefined, forward: cpu.forward.bind(cpu), dispose: cpu.dispose.bind(cpu), sampler } });
  return { engine, delay, overlaps: () => overlaps };
}

const params = (maxTokens: number): GenerationParams => ({
  promptIds: [1],
  maxTokens,
  sampling: { temperature: 0, topP: 1, topK: 0, minP: 0 },
  stop: [],
  includeStopStr: false,
  stopTokenIds: [],
  ignoreEos: false,
});

async function text(gen: AsyncGenerator<{ text: string }>): Promise<string> {
  let s = '';
  for await (const e of gen) s += e.text;
  return s;
}

describe('engine with a device sampler', () => {
  it('pipelined steps give the reference text', async () => {
    const { engine, overlaps } = await slowDeviceEngine();
    expect(await text(engine.generate(params(256)))).toBe(storiesReference());
    expect(overlaps()).toBe(0);
  }, 60_000);

  it('a consumer that stops reading: the next request waits for the step in flight', async () => {
    const { engine, delay, overlaps } = await slowDeviceEngine();
    delay.ms = 50;
    const gen = engine.generate(params(256));
    await gen.next();
    await gen.next();
    await gen.return(undefined); // the step for the third token is still running
    delay.ms = 0;
    expect(await text(engine.generate(params(256)))).toBe(storiesReference());
    expect(overlaps()).toBe(0);
  }, 60_000);
});
