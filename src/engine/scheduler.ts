/**
 * Continuous batching: every request is a sequence, and one loop steps all running sequences
 * together through the backend's `step` (one forward pass over each sequence's next tokens, the
 * weights read once for all). Requests join between steps and leave the moment they finish or
 * are aborted. A prompt runs in chunks under a per-step token budget (chunked prefill), so a long
 * prompt never stalls the others' decode. KV blocks come from one pool (kv-cache.ts): a prompt
 * starts from the longest cached prefix of full blocks, and when blocks run out the newest sequence
 * is preempted (its blocks released) and recomputed later, never failed. Where the device draws
 * the tokens, the next decode step is submitted before the last one's tokens come back (chain).
 *
 * Each sequence's tokens are exactly those of a solo run: its random stream, penalties, grammar
 * and stops are its own (Sequence), and the backends compute a row's result independently of the
 * other rows in the step.
 */
import type { LoadedModel } from '../model/load.js';
import type { ModelRunner, SeqResult, SeqStep, StepSampling } from './backend.js';
import { AbortError, type GenerationParams, type TokenEvent, type TokenLogprob } from './engine.js';
import type { GrammarMatcher } from './grammar/grammar.js';
import { BlockPool, ROOT_SERIAL, type BlockKey } from './kv-cache.js';
import { logSoftmax } from './logits.js';
import { logprobOf, Sequence, type Choice } from './sequence.js';
import { yieldToEventLoop } from './yield.js';

/** Requests running and waiting, KV blocks in use / cached (idle, reusable) / free, grammar matchers alive. */
export interface EngineStats {
  running: number;
  waiting: number;
  blocks: { used: number; cached: number; free: number };
  matchers: number;
  /** Sequences preempted since the load (blocks ran out; recomputed later). */
  preempted: number;
  /** Steps submitted before the step before them had come back (their tokens drawn on the device): Scheduler.chain. */
  chained: number;
}

/** Tokens per step, all sequences together: decode rows first, prompt chunks fill the rest. */
export const STEP_TOKENS = 128;

/** Events of one sequence, handed from the step loop to the request reading them. */
class Channel<T> {
  private readonly items: T[] = [];
  private wake?: () => void;
  private ended = false;
  private error?: unknown;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.items.length) yield this.items.shift()!;
      else if (this.ended) {
        if (this.error !== undefined) throw this.error;
        return;
      } else await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

interface Seq {
  /** Arrival order: the newest is preempted first. */
  serial: number;
  p: GenerationParams;
  seq: Sequence;
  grammar?: GrammarMatcher;
  events: Channel<TokenEvent>;
  /** Every token whose keys and values the sequence needs: the prompt, then each token fed. */
  tokens: number[];
  /** tokens[0 .. computed) are in its blocks. */
  computed: number;
  blocks: number[];
  /** Prefix-cache keys of blocks[0 .. keys.length). */
  keys: BlockKey[];
  /** Prompt positions found in the prefix cache, reported with the first event. */
  cached?: number;
  /** Prompt logprobs still to be computed (the prompt runs with every position's logits). */
  promptLogprobs?: (TokenLogprob | null)[];
  /** Device sampler state, while running. */
  slot?: number;
  /** Sample on the CPU: prompt logprobs, or penalties after a preemption lost the device's counts. */
  cpuSampling: boolean;
  /** The step's input starts with this sampled token (the device sampler counts it for penalties). */
  lastToken?: number;
  done: boolean;
}

/** A sequence's rows in a step: n tokens from computed on, or (chainedAt) one row at that position whose token the device draws in the step before. */
interface Planned {
  s: Seq;
  n: number;
  chainedAt?: number;
}

/** A step submitted to the backend, its results still to come. */
interface Launched {
  plan: Planned[];
  /** Each row's sampling, drawn at launch. */
  specs: (StepSampling | undefined)[];
  results: Promise<SeqResult[]>;
}

export class Scheduler {
  readonly pool: BlockPool;
  readonly maxBatch: number;
  private readonly waiting: Seq[] = [];
  private readonly running: Seq[] = [];
  private readonly freeSlots: number[];
  private looping = false;
  private serial = 0;
  private liveMatchers = 0;
  private preempted = 0;
  private chained = 0;
  private readonly stepTokens: number;
  /** Steps may be chained (the runner's sampler feeds its drawn tokens to the next step, and chainSteps is not off). */
  private readonly chains: boolean;

  constructor(
    private readonly model: LoadedModel,
    private readonly runner: ModelRunner & Required<Pick<ModelRunner, 'step' | 'kv'>>,
    options: { maxBatch?: number; stepTokens?: number; chainSteps?: boolean } = {},
  ) {
    this.pool = new BlockPool(runner.kv.numBlocks, runner.kv.blockSize);
    this.maxBatch = Math.max(1, Math.min(options.maxBatch ?? runner.maxBatch ?? 1, runner.maxBatch ?? 1));
    this.stepTokens = Math.max(1, options.stepTokens ?? STEP_TOKENS);
    this.chains = options.chainSteps !== false && !!runner.sampler?.chains;
    this.freeSlots = Array.from({ length: this.maxBatch }, (_, i) => this.maxBatch - 1 - i);
  }


  /** For tests and reports: sequences, KV blocks and grammar matchers alive now. */
  stats(): EngineStats {
    return { running: this.running.length, waiting: this.waiting.length, blocks: this.pool.stats(), matchers: this.liveMatchers, preempted: this.preempted, chained: this.chained };
  }

  async *generate(p: GenerationParams, seed: number, signal?: AbortSignal): AsyncGenerator<TokenEvent> {
    if (p.promptIds.length === 0) throw new Error('empty prompt');
    if (signal?.aborted) throw new AbortError();
    // A constrained text ends with a stop token once complete, also under ignore_eos.
    const grammar = p.grammar && (await p.grammar.matcher([...new Set([...this.model.tokenizer.eosIds, ...p.stopTokenIds])]));
    if (grammar) this.liveMatchers++;
    if (grammar && p.grammarPrefix) grammar.acceptText(p.grammarPrefix);
    const s: Seq = {
      serial: ++this.serial,
      p,
      seq: new Sequence(p, this.model.tokenizer, seed, grammar),
      grammar,
      events: new Channel(),
      tokens: [...p.promptIds],
      computed: 0,
      blocks: [],
      keys: [],
      cpuSampling: p.promptLogprobs !== undefined || !this.runner.sampler,
      done: false,
    };
    if (p.promptLogprobs !== undefined) s.promptLogprobs = [null];
    const onAbort = () => this.finish(s, new AbortError());
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    this.waiting.push(s);
    this.kick();
    try {
      yield* s.events;
    } finally {
      // Also when the reader stops early: the sequence leaves at once.
      signal?.removeEventListener('abort', onAbort);
      this.finish(s);
    }
  }

  /** Ends a sequence (finished, aborted or failed): its blocks, slot and matcher are freed now. */
  private finish(s: Seq, error?: unknown): void {
    s.events.end(error);
    if (s.done) return;
    s.done = true;
    const w = this.waiting.indexOf(s);
    if (w >= 0) this.waiting.splice(w, 1);
    const r = this.running.indexOf(s);
    if (r >= 0) this.running.splice(r, 1);
    this.releaseBlocks(s);
    if (s.grammar) {
      s.grammar.dispose();
      this.liveMatchers--;
    }
  }

  private releaseBlocks(s: Seq): void {
    for (const b of s.blocks) this.pool.release(b);
    s.blocks = [];
    s.keys = [];
    s.computed = 0;
    if (s.slot !== undefined) this.freeSlots.push(s.slot);
    s.slot = undefined;
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    // A step submitted before the one before it came back (chain): at most one at a time.
    let ahead: Launched | undefined;
    try {
      for (;;) {
        let current = ahead;
        ahead = undefined;
        if (!current) {
          this.admit();
          const plan = this.plan();
          if (!plan.length) {
            // Set in the same turn as the check, so a request arriving later starts a new loop.
            this.looping = false;
            return;
          }
          current = this.launch(plan);
        }
        ahead = this.chain(current);
        await this.complete(current);
        await yieldToEventLoop();
      }
    } catch (e) {
      await ahead?.results.catch(() => undefined);
      // A broken invariant must not leave requests waiting forever: they all fail with it.
      for (const s of [...this.running, ...this.waiting]) this.finish(s, e);
      this.pool.clearCache();
      this.looping = false;
    }
  }

  /** Waiting sequences start, oldest first, while there are free places in the batch. */
  private admit(): void {
    while (this.waiting.length && this.running.length < this.maxBatch) {
      const s = this.waiting.shift()!;
      // Reuse cached full blocks of the prompt (every token but the last, whose logits are needed).
      if (!s.promptLogprobs) {
        const m = this.pool.match(s.tokens, Math.floor((s.tokens.length - 1) / this.pool.blockSize));
        s.blocks = m.blocks;
        s.keys = m.keys;
        s.computed = m.blocks.length * this.pool.blockSize;
      }
      s.cached ??= Math.min(s.computed, s.p.promptIds.length);
      if (!s.cpuSampling) {
        s.slot = this.freeSlots.pop()!;
        this.runner.sampler!.reset(s.p.promptIds, s.slot);
      }
      this.running.push(s);
    }
  }

  /**
   * This step's rows: each running sequence's tokens not yet computed, sequences that are decoding
   * first, then prompt chunks, within the token budget. Blocks are allocated for them; when the
   * pool cannot hold them, the newest sequences are preempted (back to the queue's front).
   */
  private plan(): Planned[] {
    for (;;) {
      let budget = this.stepTokens;
      const plan: Planned[] = [];
      const decoding = this.running.filter((s) => s.seq.output.length > 0);
      const prompting = this.running.filter((s) => !decoding.includes(s));
      for (const s of [...decoding, ...prompting]) {
        const n = Math.min(s.tokens.length - s.computed, budget);
        if (n <= 0) continue;
        plan.push({ s, n });
        budget -= n;
      }
      const bs = this.pool.blockSize;
      const need = plan.reduce((sum, { s, n }) => sum + Math.max(0, Math.ceil((s.computed + n) / bs) - s.blocks.length), 0);
      if (need <= this.pool.available) {
        for (const { s, n } of plan) while (s.blocks.length * bs < s.computed + n) s.blocks.push(this.pool.allocate()!);
        return plan;
      }
      const victim = this.running.reduce((a, b) => (b.serial > a.serial ? b : a));
      if (this.running.length === 1) throw new Error(`internal error: one sequence needs more KV blocks than the cache has (${this.pool.numBlocks})`);
      this.preempt(victim);
    }
  }

  private preempt(s: Seq): void {
    this.preempted++;
    this.running.splice(this.running.indexOf(s), 1);
    this.releaseBlocks(s);
    // The device sampler's penalty counts are lost with the slot: the CPU keeps them from now on.
    if (s.seq.output.length > 0 && s.p.penalties) s.cpuSampling = true;
    if (s.promptLogprobs) s.promptLogprobs = [null];
    this.waiting.unshift(s);
  }

  /** Submits a step for the plan's rows (a backend on a device has submitted its work when this returns). */
  private launch(plan: Planned[]): Launched {
    const entries: SeqStep[] = [];
    const specs: (StepSampling | undefined)[] = [];
    for (const { s, n, chainedAt } of plan) {
      if (chainedAt !== undefined) {
        // The token is the one the sampler slot draws in the step still running.
        const spec = s.seq.stepSpec('drawn');
        specs.push(spec);
        entries.push({ tokens: [0], pos: chainedAt, blocks: s.blocks, logits: 'last', sample: { slot: s.slot!, spec }, chained: true });
        continue;
      }
      const ends = s.computed + n === s.tokens.length;
      let spec: StepSampling | undefined;
      // Sampling happens only once every token is in; maxTokens 0 ends without one.
      if (ends && !s.cpuSampling && s.seq.output.length < s.p.maxTokens) spec = s.seq.stepSpec(s.lastToken);
      specs.push(spec);
      entries.push({
        tokens: s.tokens.slice(s.computed, s.computed + n),
        pos: s.computed,
        blocks: s.blocks,
        logits: s.promptLogprobs ? 'all' : ends ? 'last' : 'none',
        ...(spec ? { sample: { slot: s.slot!, spec } } : {}),
      });
    }
    const results = this.runner.step(entries);
    // Awaited by complete; until then a failure must not count as unhandled.
    results.catch(() => undefined);
    return { plan, specs, results };
  }

  /**
   * The step after `current`, submitted now, before current's tokens come back, when the device
   * draws them and every sequence of current can go on without knowing its token (Sequence.chainable):
   * the device then runs one step while the next is recorded and the last one's events go out.
   * Not while a newcomer could be admitted (it would wait a step longer).
   */
  private chain(current: Launched): Launched | undefined {
    if (!this.chains || (this.waiting.length && this.running.length < this.maxBatch)) return undefined;
    const plan = current.plan.filter(({ s }) => !s.done);
    if (!plan.length) return undefined;
    const bs = this.pool.blockSize;
    let need = 0;
    for (const { s, n, chainedAt } of plan) {
      // current's rows end the sequence's known tokens (a decode row, or a prompt's last chunk)
      const ends = chainedAt !== undefined || s.computed + n === s.tokens.length;
      if (!ends || s.cpuSampling || s.slot === undefined || !s.seq.chainable()) return undefined;
      need += Math.max(0, Math.ceil((s.computed + n + 1) / bs) - s.blocks.length);
    }
    if (need > this.pool.available) return undefined;
    this.chained++;
    return this.launch(
      plan.map(({ s, n }) => {
        while (s.blocks.length * bs < s.computed + n + 1) s.blocks.push(this.pool.allocate()!);
        return { s, n: 1, chainedAt: s.computed + n };
      }),
    );
  }

  /** Waits for a launched step and moves each sequence on: its computed tokens, its next token and events. */
  private async complete({ plan, specs, results: pending }: Launched): Promise<void> {
    const vocab = this.model.config.vocabSize;
    let results;
    try {
      results = await pending;
    } catch (e) {
      // A step that failed half-way leaves its blocks' contents unknown.
      for (const { s } of plan) this.finish(s, e);
      this.pool.clearCache();
      return;
    }
    for (const [i, { s, n }] of plan.entries()) {
      if (s.done) continue; // aborted while the step ran, or ended by the step before a chained one
      const r = results[i]!;
      if (s.promptLogprobs) {
        // Logits at position j predict token j + 1.
        for (let j = 0; j < n; j++) {
          const next = s.computed + j + 1;
          if (next < s.p.promptIds.length) s.promptLogprobs.push(logprobOf(logSoftmax(r.logits!.subarray(j * vocab, (j + 1) * vocab)), s.p.promptIds[next]!, s.p.promptLogprobs!));
        }
      }
      s.computed += n;
      this.registerFull(s);
      if (s.computed < s.tokens.length) continue;
      if (s.promptLogprobs) {
        s.seq.setPromptLogprobs(s.promptLogprobs);
        s.promptLogprobs = undefined;
      }
      try {
        await this.advance(s, r, specs[i], vocab);
      } catch (e) {
        this.finish(s, e);
      }
    }
  }

  /** Enters the sequence's newly filled blocks in the prefix cache. */
  private registerFull(s: Seq): void {
    const bs = this.pool.blockSize;
    while ((s.keys.length + 1) * bs <= s.computed) {
      const i = s.keys.length;
      s.keys.push(this.pool.register(s.blocks[i]!, s.keys[i - 1]?.serial ?? ROOT_SERIAL, s.tokens, i * bs));
    }
  }

  /** Every token is in: the next token is chosen, its events go out, and what it feeds is queued. */
  private async advance(s: Seq, r: { logits?: Float32Array; token?: number; logprob?: TokenLogprob }, spec: StepSampling | undefined, vocab: number): Promise<void> {
    const seq = s.seq;
    const first = seq.output.length === 0;
    const withCached = (e: TokenEvent): TokenEvent => (first && s.cached ? { ...e, cachedTokens: s.cached } : e);
    if (seq.output.length >= s.p.maxTokens) {
      s.events.push(withCached(seq.finish('length')));
      this.finish(s);
      return;
    }
    let choice: Choice;
    if (r.token !== undefined) choice = { token: r.token, logprob: r.logprob };
    else {
      // The last row's logits; a backend may answer a device-sampling request with them too.
      const all = r.logits!;
      // processed in place: the row is the step's, done with once the token is chosen
      choice = await seq.choose(all.subarray(all.length - vocab), spec);
    }
    if (s.done) return;
    const events = [withCached(seq.take(choice.token, choice.logprob))];
    const fed = [choice.token];
    if (!events[0]!.finishReason)
      for (const j of seq.jumpForward()) {
        fed.push(j.token);
        events.push(j.event);
      }
    for (const e of events) s.events.push(e);
    if (events.at(-1)!.finishReason) {
      this.finish(s);
      return;
    }
    s.tokens.push(...fed);
    s.lastToken = choice.token;
  }
}
