/**
 * One generated sequence: everything the generation loop keeps per choice (random stream,
 * penalty counts, stop-string matcher, detokenizer, reasoning channel, grammar matcher) and the
 * rules that turn a chosen token into text and decide when the sequence ends. The loop in
 * engine.ts only moves tokens between a Sequence and the backend, so that it can later run
 * several sequences through one forward pass.
 */
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import { StreamingDetokenizer } from '../tokenizer/tokenizer.js';
import type { StepSampling } from './backend.js';
import type { FinishReason, GenerationParams, TokenEvent, TokenLogprob } from './engine.js';
import { applyMask, type GrammarMatcher } from './grammar/grammar.js';
import { applyPenalties, bannedBy, logSoftmax, topK, type Penalties } from './logits.js';
import { Rng, sample, type SamplingParams } from './sampling.js';
import { StopMatcher } from './stop.js';

const GREEDY: SamplingParams = { temperature: 0, topP: 1, topK: 0, minP: 0 };

export function logprobOf(logprobs: Float32Array, id: number, k: number): TokenLogprob {
  return { id, logprob: logprobs[id]!, top: topK(logprobs, k).map((t) => ({ id: t.id, logprob: t.value })) };
}

export interface Choice {
  token: number;
  logprob?: TokenLogprob;
}

export class Sequence {
  readonly output: number[] = [];
  private readonly rng: Rng;
  /** Tokens that end the sequence (EOS unless ignore_eos, and stop_token_ids). */
  private readonly eos: Set<number>;
  private readonly minTokens: number;
  private readonly penalties?: Penalties;
  private readonly seen: Set<number>;
  private readonly counts = new Map<number, number>();
  private channel: TokenEvent['channel'];
  /** Tokens inside the thinking block, markers excluded: what reasoning_max_tokens caps. */
  private thoughts = 0;
  private detok: StreamingDetokenizer;
  private readonly stops: StopMatcher;
  private promptLogprobs?: (TokenLogprob | null)[];

  constructor(
    private readonly p: GenerationParams,
    private readonly tokenizer: TextTokenizer,
    seed: number,
    /** Constrains the answer (never the thinking block); owned by the caller. */
    private readonly grammar?: GrammarMatcher,
  ) {
    const prompt = p.promptIds;
    this.rng = new Rng(seed);
    this.eos = new Set(p.ignoreEos ? p.stopTokenIds : [...tokenizer.eosIds, ...p.stopTokenIds]);
    this.minTokens = p.minTokens ?? 0;
    const pen = p.penalties;
    this.penalties = pen && (pen.frequency !== 0 || pen.presence !== 0 || pen.repetition !== 1) ? pen : undefined;
    this.seen = new Set(this.penalties ? prompt : []);
    // The prompt may already have opened a thinking block (e.g. DeepSeek-R1's template).
    const r = p.reasoning;
    this.channel = r && prompt.lastIndexOf(r.startId) > prompt.lastIndexOf(r.endId) ? 'reasoning' : 'content';
    this.detok = new StreamingDetokenizer(tokenizer, prompt, p.keepTokens);
    this.stops = new StopMatcher(p.stop, p.includeStopStr);
  }

  /** The grammar constrains the next token (in the answer only, not inside a thinking block). */
  get constrained(): boolean {
    return this.grammar !== undefined && this.channel === 'content';
  }

  /** Prompt logprobs go out with the first event. */
  setPromptLogprobs(lp: (TokenLogprob | null)[] | undefined): void {
    this.promptLogprobs = lp;
  }

  private forcedToken(): number | undefined {
    const r = this.p.reasoning;
    return r && this.channel === 'reasoning' && r.maxTokens !== undefined && this.thoughts >= r.maxTokens ? r.endId : undefined;
  }

  /**
   * Whether the step after the one in flight can be drawn before that one's token is known: its
   * sampling would not depend on the token (no grammar, bad_words, min_tokens still to reach or
   * reasoning budget; penalties count it on the device: stepSpec('drawn')), and the token in
   * flight leaves room under max_tokens.
   */
  chainable(): boolean {
    const p = this.p;
    return !this.grammar && !p.badWords?.length && p.reasoning?.maxTokens === undefined && this.output.length >= this.minTokens && this.output.length + 1 < p.maxTokens;
  }

  /**
   * The next step's sampling (draws the step's random number). `countToken`: the step's input
   * token, or 'drawn' for the token the device drew in the step before (a chained step).
   */
  stepSpec(countToken?: number | 'drawn'): StepSampling {
    const p = this.p;
    const forced = this.forcedToken();
    const bias: [number, number][] = forced !== undefined ? [[forced, 1e4]] : [...(p.logitBias ?? [])];
    if (forced === undefined) {
      if (p.badWords?.length) bias.push(...bannedBy(this.output, p.badWords).map((id): [number, number] => [id, -Infinity]));
      if (this.output.length < this.minTokens) for (const id of [...this.tokenizer.eosIds, ...p.stopTokenIds]) bias.push([id, -Infinity]);
    }
    const grammar = this.constrained ? this.grammar : undefined;
    return {
      sampling: forced !== undefined ? GREEDY : p.sampling,
      r: this.rng.next(),
      bias,
      penalties: this.penalties,
      logprobs: p.logprobs,
      countToken: this.penalties && countToken !== 'drawn' ? countToken : undefined,
      countDrawn: this.penalties && countToken === 'drawn' ? true : undefined,
      mask: grammar && (() => grammar.mask()),
    };
  }

  /**
   * The next token from logits on the CPU (modified in place): logprobs of the raw logits, then
   * penalties, the grammar's mask, biases and bans, and the sampler, as shaders/sample.wgsl does.
 * `spec`: the step's sampling when it was drawn already (a device step answered with logits).
   */
  async choose(logits: Float32Array, spec = this.stepSpec()): Promise<Choice> {
    const raw = this.p.logprobs !== undefined ? logSoftmax(logits) : undefined;
    const mask = await spec.mask?.();
    const original = mask && spec.bias.length ? logits.slice() : undefined;
    const processed = (l: Float32Array) => {
      if (this.penalties && this.forcedToken() === undefined) applyPenalties(l, this.counts, this.seen, this.penalties);
      if (mask) applyMask(l, mask);
    };
    processed(logits);
    for (const [id, b] of spec.bias) if (id >= 0 && id < logits.length) logits[id] = b === -Infinity ? -Infinity : logits[id]! + b;
    let l = logits;
    if (original && !logits.some((v) => v > -Infinity)) {
      // Bans (min_tokens, bad_words) that leave nothing the grammar allows give way to it.
      l = original;
      processed(l);
    }
    const token = sample(l, spec.sampling, spec.r);
    return { token, logprob: raw && logprobOf(raw, token, this.p.logprobs!) };
  }

  private withPromptLogprobs(e: TokenEvent): TokenEvent {
    const lp = this.promptLogprobs;
    this.promptLogprobs = undefined;
    return lp ? { ...e, promptLogprobs: lp } : e;
  }

  /** Ends the sequence: whatever text is still held back goes out with the finish reason. */
  finish(reason: FinishReason, extra: Partial<TokenEvent> = {}): TokenEvent {
    const rest = this.detok.flush();
    const text = this.channel === 'content' ? this.stops.push(rest).text + this.stops.flush() : rest;
    return this.withPromptLogprobs({ channel: this.channel, ...extra, text: (extra.text ?? '') + text, finishReason: reason });
  }

  /**
   * Takes the next token, sampled or jumped to: its event, with a finish reason when the sequence
   * ends. `accepted`: the grammar has already taken it (jump-forward).
   */
  take(token: number, logprob?: TokenLogprob, accepted = false): TokenEvent {
    const p = this.p;
    const r = p.reasoning;
    const lp = logprob ? { logprob } : {};
    // Once the grammar is complete only stop tokens are allowed, whatever min_tokens says.
    if (this.eos.has(token) && (this.output.length >= this.minTokens || this.constrained)) return this.finish('stop'); // EOS is not output: no text, no logprob, not counted
    if (this.constrained && !accepted && !this.grammar!.accept(token)) throw new Error(`internal error: token ${token} is not allowed by the grammar`);
    this.output.push(token);
    if (this.penalties) {
      this.seen.add(token);
      this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
    }
    let event: TokenEvent;
    if (r && token === r.endId && this.channel === 'reasoning') {
      event = { tokenId: token, channel: 'reasoning', text: this.detok.flush(), ...lp };
      this.channel = 'content';
      this.detok = new StreamingDetokenizer(this.tokenizer, [...p.promptIds, ...this.output], p.keepTokens);
    } else if (r && token === r.startId && this.channel === 'content' && this.output.length === 1) {
      // A model that opens its own thinking block: the marker itself is not content.
      this.channel = 'reasoning';
      this.detok = new StreamingDetokenizer(this.tokenizer, [...p.promptIds, ...this.output], p.keepTokens);
      event = { tokenId: token, channel: 'reasoning', text: '', ...lp };
    } else if (this.channel === 'reasoning') {
      this.thoughts++;
      event = { tokenId: token, channel: 'reasoning', text: this.detok.push(token), ...lp };
    } else {
      const piece = this.stops.push(this.detok.push(token), this.output.length >= this.minTokens);
      if (piece.stopped) return this.withPromptLogprobs({ tokenId: token, channel: 'content', text: piece.text, finishReason: 'stop', ...lp });
      event = { tokenId: token, channel: 'content', text: piece.text, ...lp };
      if (this.grammar?.terminated) return this.finish('stop', event); // a stop token under ignore_eos
    }
    if (this.output.length >= p.maxTokens) return this.finish('length', event);
    return this.withPromptLogprobs(event);
  }

  /**
   * Jump-forward: where the grammar admits exactly one continuation, its tokens are taken without
   * sampling (and fed to the model as one step). Off when logprobs or penalties are asked for:
   * jumped tokens have no logprob and the GPU sampler counts one token per step.
   */
  jumpForward(): { token: number; event: TokenEvent }[] {
    if (!this.constrained || this.p.jumpForward === false || this.p.logprobs !== undefined || this.penalties) return [];
    const out: { token: number; event: TokenEvent }[] = [];
    for (const token of this.grammar!.jumpForwardTokens(this.p.maxTokens - this.output.length)) {
      const event = this.take(token, undefined, true);
      out.push({ token, event });
      if (event.finishReason) break;
    }
    return out;
  }
}
