/**
 * The engine: one loaded model, one backend runner, and the single generation loop every API
 * request goes through. Requests are served one at a time in arrival order (the runner has one KV
 * cache); a request that shares a prefix with the previous one reuses its cached positions.
 */
import type { LoadedModel } from '../model/load.js';
import { StreamingDetokenizer } from '../tokenizer/tokenizer.js';
import type { LoadedRunner, ModelRunner, StepSampling } from './backend.js';
import { applyPenalties, bannedBy, logSoftmax, topK, type Penalties } from './logits.js';
import { Rng, sample, type SamplingParams } from './sampling.js';

const GREEDY: SamplingParams = { temperature: 0, topP: 1, topK: 0, minP: 0 };
import { StopMatcher } from './stop.js';
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
}

export class AbortError extends Error {
  constructor() {
    super('request aborted');
    this.name = 'AbortError';
  }
}

function logprobOf(logprobs: Float32Array, id: number, k: number): TokenLogprob {
  return { id, logprob: logprobs[id]!, top: topK(logprobs, k).map((t) => ({ id: t.id, logprob: t.value })) };
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
    const { tokenizer } = this.model;
    const prompt = p.promptIds;
    if (prompt.length === 0) throw new Error('empty prompt');
    const rng = new Rng(p.seed ?? (Date.now() ^ (++this.seedCounter * 0x9e3779b9)));
    const eos = new Set(p.ignoreEos ? p.stopTokenIds : [...tokenizer.eosIds, ...p.stopTokenIds]);
    const minTokens = p.minTokens ?? 0;
    const penalties = p.penalties && (p.penalties.frequency !== 0 || p.penalties.presence !== 0 || p.penalties.repetition !== 1) ? p.penalties : undefined;
    const seen = new Set(penalties ? prompt : []);
    const counts = new Map<number, number>();
    const output: number[] = [];

    // Reasoning: the prompt may already have opened a thinking block (e.g. DeepSeek-R1's template).
    const r = p.reasoning;
    let channel: TokenEvent['channel'] = r && prompt.lastIndexOf(r.startId) > prompt.lastIndexOf(r.endId) ? 'reasoning' : 'content';
    let thoughts = 0; // tokens inside the thinking block, markers excluded: what reasoning_max_tokens caps

    // Each step picks the next token: on the device when the backend samples there (only the
    // token comes back), else from the logits on the CPU. Both draw one random number per step
    // and run the same algorithm, so a seed gives the same answer on every backend.
    const device = p.promptLogprobs === undefined ? this.runner.sampler : undefined;
    let logits: Float32Array | undefined;
    let promptLogprobs: (TokenLogprob | null)[] | undefined;
    let pending: { token: number; logprob?: TokenLogprob } | undefined;
    const stepSpec = (countToken: number | undefined, forced: number | undefined): StepSampling => {
      const bias: [number, number][] = forced !== undefined ? [[forced, 1e4]] : [...(p.logitBias ?? [])];
      if (forced === undefined) {
        if (p.badWords?.length) bias.push(...bannedBy(output, p.badWords).map((id): [number, number] => [id, -Infinity]));
        if (output.length < minTokens) for (const id of [...tokenizer.eosIds, ...p.stopTokenIds]) bias.push([id, -Infinity]);
      }
      return { sampling: forced !== undefined ? GREEDY : p.sampling, r: rng.next(), bias, penalties, logprobs: p.logprobs, countToken: penalties ? countToken : undefined };
    };
    const forcedToken = () => (r && channel === 'reasoning' && r.maxTokens !== undefined && thoughts >= r.maxTokens ? r.endId : undefined);
    if (device) {
      device.reset(prompt);
      const common = this.reusablePrefix(prompt);
      pending = await device.step(prompt.slice(common), common, stepSpec(undefined, forcedToken()));
      this.cached.push(...prompt.slice(common));
    } else {
      const pre = await this.prefill(prompt, p.promptLogprobs);
      logits = pre.logits;
      promptLogprobs = pre.promptLogprobs;
    }
    /** The next token from the CPU logits: logprobs of the raw logits, processors, the sampler. */
    const cpuChoice = (): { token: number; logprob?: TokenLogprob } => {
      const forced = forcedToken();
      const spec = stepSpec(undefined, forced);
      const l = logits!;
      const raw = p.logprobs !== undefined ? logSoftmax(l) : undefined;
      if (penalties && forced === undefined) applyPenalties(l, counts, seen, penalties);
      for (const [id, b] of spec.bias) if (id >= 0 && id < l.length) l[id] = b === -Infinity ? -Infinity : l[id]! + b;
      const token = sample(l, spec.sampling, spec.r);
      return { token, logprob: raw && logprobOf(raw, token, p.logprobs!) };
    };

    let detok = new StreamingDetokenizer(tokenizer, prompt);
    const stops = new StopMatcher(p.stop, p.includeStopStr);
    const takePromptLogprobs = () => {
      const v = promptLogprobs;
      promptLogprobs = undefined;
      return v ? { promptLogprobs: v } : {};
    };
    /** Ends generation: whatever text is still held back goes out with the finish reason. */
    const finish = (reason: FinishReason, extra: Partial<TokenEvent> = {}): TokenEvent => {
      const rest = detok.flush();
      const text = channel === 'content' ? stops.push(rest).text + stops.flush() : rest;
      return { channel, ...extra, text: (extra.text ?? '') + text, finishReason: reason, ...takePromptLogprobs() };
    };

    for (;;) {
      if (signal?.aborted) throw new AbortError();
      if (output.length >= p.maxTokens) {
        yield finish('length');
        return;
      }
      let choice: { token: number; logprob?: TokenLogprob };
      if (pending) choice = pending;
      else choice = cpuChoice();
      pending = undefined;
      const token = choice.token;
      const lp = choice.logprob ? { logprob: choice.logprob } : {};
      if (eos.has(token) && output.length >= minTokens) {
        yield finish('stop'); // EOS is not part of the output: no text, no logprob, not counted
        return;
      }
      output.push(token);
      if (penalties) {
        seen.add(token);
        counts.set(token, (counts.get(token) ?? 0) + 1);
      }

      let event: TokenEvent;
      if (r && token === r.endId && channel === 'reasoning') {
        event = { tokenId: token, channel, text: detok.flush(), ...lp };
        channel = 'content';
        detok = new StreamingDetokenizer(tokenizer, [...prompt, ...output]);
      } else if (r && token === r.startId && channel === 'content' && output.length === 1) {
        // A model that opens its own thinking block: the marker itself is not content.
        channel = 'reasoning';
        detok = new StreamingDetokenizer(tokenizer, [...prompt, ...output]);
        event = { tokenId: token, channel, text: '', ...lp };
      } else if (channel === 'reasoning') {
        thoughts++;
        event = { tokenId: token, channel, text: detok.push(token), ...lp };
      } else {
        const piece = stops.push(detok.push(token), output.length >= minTokens);
        if (piece.stopped) {
          yield { tokenId: token, channel, text: piece.text, finishReason: 'stop', ...lp, ...takePromptLogprobs() };
          return;
        }
        event = { tokenId: token, channel, text: piece.text, ...lp };
      }
      if (output.length >= p.maxTokens) {
        yield finish('length', event);
        return;
      }
      const pos = this.cached.length;
      // Sampling on the device: the next step runs on the GPU while this token's text goes out.
      const next = device?.step([token], pos, stepSpec(token, forcedToken()));
      if (next) {
        this.inflight = next;
        next.catch(() => {}); // a consumer that stops reading never awaits it
      }
      yield { ...event, ...takePromptLogprobs() };
      if (next) pending = await next;
      else logits = await this.runner.forward([token], pos);
      this.inflight = undefined;
      this.cached.push(token);
      await yieldToEventLoop();
    }
  }

  dispose(): void {
    this.runner.dispose();
  }
}
