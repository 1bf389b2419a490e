/**
 * The engine: one loaded model, one backend runner, and the generation loop every API request goes
 * through. Backends with a paged KV cache and `step` (cpu, wasm, wgsl) serve many requests at once
 * through the scheduler (continuous batching, a shared prefix cache: scheduler.ts). A backend
 * without them (ort, whose KV layout is ONNX Runtime's) serves one request at a time in arrival
 * order, reusing the previous request's prefix.
 */
import type { LoadedModel } from '../model/load.js';
import type { LoadedRunner, ModelRunner } from './backend.js';
import type { CompiledConstraint } from './grammar/grammar.js';
import { logSoftmax, type Penalties } from './logits.js';
import type { SamplingParams } from './sampling.js';
import { Scheduler } from './scheduler.js';
import { logprobOf, Sequence, type Choice } from './sequence.js';
import { yieldToEventLoop } from './yield.js';

export type FinishReason = 'stop' | 'length';

/** Thinking markers of a reasoning model (e.g. `<think>` … `</think>`). */
export interface ReasoningMarkers {
  startId: number;
  endId: number;
}

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
  /** EOS, stop_token_ids and stop strings are ignored until this many tokens exist. */
  minTokens?: number;
  logitBias?: Map<number, number>;
  penalties?: Penalties;
  /** Token sequences that may never be produced. */
  badWords?: number[][];
  /** Report the chosen token's logprob and this many alternatives (undefined: none). */
  logprobs?: number;
  /** Report logprobs of the prompt tokens too, with this many alternatives (completions echo). */
  promptLogprobs?: number;
  /** Separate the thinking part; `maxTokens` caps it by forcing the end marker. */
  reasoning?: ReasoningMarkers & { maxTokens?: number };
  /** Constrains the answer (after any thinking block) to a grammar: a matcher per sequence. */
  grammar?: CompiledConstraint;
  /** Text the answer continues (a prefilled assistant message): the grammar has seen it already. */
  grammarPrefix?: string;
  /** Take the grammar's forced continuations without sampling (default: on). */
  jumpForward?: boolean;
  /** Special tokens whose text is output rather than skipped (tool-call markers). */
  keepTokens?: number[];
}

export interface TokenLogprob {
  id: number;
  logprob: number;
  top: { id: number; logprob: number }[];
}

export interface TokenEvent {
  /** The generated token id (absent on the final event when nothing new was sampled). */
  tokenId?: number;
  /** Text that became final with this token (may be ''). */
  text: string;
  /** Which part of the answer `text` belongs to. */
  channel: 'content' | 'reasoning';
  finishReason?: FinishReason;
  logprob?: TokenLogprob;
  /** On the first event only, when asked: one entry per prompt token (null for the first). */
  promptLogprobs?: (TokenLogprob | null)[];
  /** On the first event only, when the prompt started from cached KV blocks: how many positions. */
  cachedTokens?: number;
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
  /** A device step started before its previous token was handed out (see run). */
  private inflight?: Promise<unknown>;
  private seedCounter = 0;
  /** Continuous batching, when the runner can step several sequences over a paged KV cache. */
  private readonly scheduler?: Scheduler;

  constructor(loaded: LoadedRunner, options: { maxBatch?: number; stepTokens?: number; chainSteps?: boolean } = {}) {
    this.model = loaded.model;
    this.runner = loaded.runner;
    const r = loaded.runner;
    if (r.step && r.kv) this.scheduler = new Scheduler(loaded.model, r as ModelRunner & Required<Pick<ModelRunner, 'step' | 'kv'>>, options);
  }

  /** Requests generating together at most (1 without batching). */
  get maxBatch(): number {
    return this.scheduler?.maxBatch ?? 1;
  }

  /** For tests and reports: requests running and waiting, KV blocks in use, cached and free, live grammar matchers. */
  stats() {
    return this.scheduler?.stats();
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
    if (this.scheduler) {
      yield* this.scheduler.generate(params, params.seed ?? (Date.now() ^ (++this.seedCounter * 0x9e3779b9)), signal);
      return;
    }
    const release = await this.acquire(signal);
    try {
      yield* this.run(params, signal);
    } catch (e) {
      // A forward that failed half-way leaves the cache in an unknown state.
      if (!(e instanceof AbortError)) this.cached = [];
      throw e;
    } finally {
      // A consumer that stopped reading may leave a device step running: the next request waits for it.
      const step = this.inflight;
      this.inflight = undefined;
      if (step) void step.then(release, release);
      else release();
    }
  }

  /** How many leading prompt tokens are already in the cache; the last prompt token is always re-run. */
  private reusablePrefix(prompt: number[]): number {
    let common = 0;
    while (common < prompt.length - 1 && common < this.cached.length && this.cached[common] === prompt[common]) common++;
    this.cached.length = common;
    return common;
  }

  /** Feeds the prompt, reusing the cached prefix; returns the last position's logits. */
  private async prefill(prompt: number[], promptLogprobs?: number): Promise<{ logits: Float32Array; promptLogprobs?: (TokenLogprob | null)[] }> {
    const vocab = this.model.config.vocabSize;
    if (promptLogprobs !== undefined) {
      // Prompt logprobs need every position's logits: recompute the whole prompt.
      this.cached.length = 0;
      const all = await this.runner.forward(prompt, 0, true);
      this.cached.push(...prompt);
      const lp: (TokenLogprob | null)[] = [null];
      for (let i = 1; i < prompt.length; i++) lp.push(logprobOf(logSoftmax(all.subarray((i - 1) * vocab, i * vocab)), prompt[i]!, promptLogprobs));
      return { logits: all.slice((prompt.length - 1) * vocab), promptLogprobs: lp };
    }
    const common = this.reusablePrefix(prompt);
    const logits = await this.runner.forward(prompt.slice(common), common);
    this.cached.push(...prompt.slice(common));
    return { logits };
  }

  private async *run(p: GenerationParams, signal?: AbortSignal): AsyncGenerator<TokenEvent> {
    const prompt = p.promptIds;
    if (prompt.length === 0) throw new Error('empty prompt');
    // A constrained text ends with a stop token once complete, also under ignore_eos.
    const grammar = p.grammar && (await p.grammar.matcher([...new Set([...this.model.tokenizer.eosIds, ...p.stopTokenIds])]));
    if (grammar && p.grammarPrefix) grammar.acceptText(p.grammarPrefix);
    try {
      const seq = new Sequence(p, this.model.tokenizer, p.seed ?? (Date.now() ^ (++this.seedCounter * 0x9e3779b9)), grammar);
      // Each step picks the next token: on the device when the backend samples there (only the
      // token comes back), else from the logits on the CPU. Both draw one random number per step
      // and run the same algorithm, so a seed gives the same answer on every backend.
      const device = p.promptLogprobs === undefined ? this.runner.sampler : undefined;
      let logits: Float32Array | undefined;
      let pending: Choice | undefined;
      if (device) {
        device.reset(prompt);
        const common = this.reusablePrefix(prompt);
        pending = await device.step(prompt.slice(common), common, seq.stepSpec());
        this.cached.push(...prompt.slice(common));
      } else {
        const pre = await this.prefill(prompt, p.promptLogprobs);
        logits = pre.logits;
        seq.setPromptLogprobs(pre.promptLogprobs);
      }

      for (;;) {
        if (signal?.aborted) throw new AbortError();
        if (seq.output.length >= p.maxTokens) {
          yield seq.finish('length');
          return;
        }
        const choice = pending ?? (await seq.choose(logits!));
        pending = undefined;
        const events = [seq.take(choice.token, choice.logprob)];
        const fed = [choice.token];
        if (!events[0]!.finishReason)
          for (const j of seq.jumpForward()) {
            fed.push(j.token);
            events.push(j.event);
          }
        if (events.at(-1)!.finishReason) {
          yield* events;
          return;
        }
        const pos = this.cached.length;
        // Sampling on the device: the next step runs on the GPU while this token's text goes out.
        const next = device?.step(fed, pos, seq.stepSpec(choice.token));
        if (next) {
          this.inflight = next;
          next.catch(() => {}); // a consumer that stops reading never awaits it
        }
        yield* events;
        if (next) pending = await next;
        else logits = await this.runner.forward(fed, pos);
        this.inflight = undefined;
        this.cached.push(...fed);
        await yieldToEventLoop();
      }
    } finally {
      grammar?.dispose();
    }
  }

  dispose(): void {
    this.runner.dispose();
  }
}
