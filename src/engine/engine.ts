/**
 * The engine: one loaded model, one backend runner, and the single generation loop every API
 * request goes through. Requests are served one at a time in arrival order (the runner has one KV
 * cache); a request that shares a prefix with the previous one reuses its cached positions.
 */
import type { LoadedModel } from '../model/load.js';
import { StreamingDetokenizer } from '../tokenizer/tokenizer.js';
import type { LoadedRunner, ModelRunner } from './backend.js';
import { Rng, sample, type SamplingParams } from './sampling.js';
import { StopMatcher } from './stop.js';
import { yieldToEventLoop } from './yield.js';

export type FinishReason = 'stop' | 'length';

export interface GenerationParams {
  promptIds: number[];
  /** Already clipped to the context: generation never runs past it. */
  maxTokens: number;
  sampling: SamplingParams;
  seed?: number;
  stop: string[];
  includeStopStr: boolean;
  stopTokenIds: number[];
  ignoreEos: boolean;
}

export interface TokenEvent {
  /** The generated token id (absent on the final event when nothing new was sampled). */
  tokenId?: number;
  /** Text that became final with this token (may be ''). */
  text: string;
  finishReason?: FinishReason;
}

export class AbortError extends Error {
  constructor() {
    super('request aborted');
    this.name = 'AbortError';
  }
}


export class Engine {
  readonly model: LoadedModel;
  readonly runner: ModelRunner;
  private queue: Promise<void> = Promise.resolve();
  /** Token ids whose keys/values are in the runner's cache, position by position. */
  private cached: number[] = [];
  private seedCounter = 0;

  constructor(loaded: LoadedRunner) {
    this.model = loaded.model;
    this.runner = loaded.runner;
  }

  get maxModelLen(): number {
    return this.runner.maxSeqLen;
  }

  /** Waits for the engine, in arrival order; an abort while waiting leaves the queue untouched. */
  private async acquire(signal?: AbortSignal): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const previous = this.queue;
    this.queue = previous.then(() => mine);
    if (signal) {
      const aborted = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(new AbortError());
        signal.addEventListener('abort', () => reject(new AbortError()), { once: true });
      });
      try {
        await Promise.race([previous, aborted]);
      } catch (e) {
        // Our turn in the queue must still pass, or later requests would wait forever.
        void previous.then(release);
        throw e;
      }
    } else await previous;
    return release;
  }

  async *generate(params: GenerationParams, signal?: AbortSignal): AsyncGenerator<TokenEvent> {
    const release = await this.acquire(signal);
    try {
      yield* this.run(params, signal);
    } catch (e) {
      // A forward that failed half-way leaves the cache in an unknown state.
      if (!(e instanceof AbortError)) this.cached = [];
      throw e;
    } finally {
      release();
    }
  }

  private async *run(p: GenerationParams, signal?: AbortSignal): AsyncGenerator<TokenEvent> {
    const { tokenizer } = this.model;
    const prompt = p.promptIds;
    if (prompt.length === 0) throw new Error('empty prompt');
    const rng = new Rng(p.seed ?? (Date.now() ^ (++this.seedCounter * 0x9e3779b9)));
    const eos = new Set(p.ignoreEos ? p.stopTokenIds : [...tokenizer.eosIds, ...p.stopTokenIds]);

    // Reuse the cached prefix; the last prompt token is always re-run to get its logits.
    let common = 0;
    while (common < prompt.length - 1 && common < this.cached.length && this.cached[common] === prompt[common]) common++;
    this.cached.length = common;
    let logits = await this.runner.forward(prompt.slice(common), common);
    this.cached.push(...prompt.slice(common));

    const detok = new StreamingDetokenizer(tokenizer, prompt);
    const stops = new StopMatcher(p.stop, p.includeStopStr);
    for (let produced = 0; ; ) {
      if (signal?.aborted) throw new AbortError();
      if (produced >= p.maxTokens) {
        yield { text: stops.push(detok.flush()).text + stops.flush(), finishReason: 'length' };
        return;
      }
      const token = sample(logits, p.sampling, rng);
      if (eos.has(token)) {
        yield { text: stops.push(detok.flush()).text + stops.flush(), finishReason: 'stop' };
        return;
      }
      produced++;
      const piece = stops.push(detok.push(token));
      if (piece.stopped) {
        yield { tokenId: token, text: piece.text, finishReason: 'stop' };
        return;
      }
      if (produced >= p.maxTokens) {
        yield { tokenId: token, text: piece.text + stops.push(detok.flush()).text + stops.flush(), finishReason: 'length' };
        return;
      }
      yield { tokenId: token, text: piece.text };
      logits = await this.runner.forward([token], this.cached.length);
      this.cached.push(token);
      await yieldToEventLoop();
    }
  }

  dispose(): void {
    this.runner.dispose();
  }
}
