/**
 * Serving logic between the wire protocol and the engine. A request is first *planned* (prompt
 * rendered and tokenized, every field turned into generation parameters, limits checked: every 4xx
 * happens here, before any byte is streamed), then *streamed* as OpenAI chunks. Non-streaming
 * responses are the fold of the same chunks, so there is exactly one generation path.
 */
import { renderChat, type TemplateMessage } from '../chat/template.js';
import { detectToolFamily, markerTexts, toolCallTag, ToolCallParser, toolFormat, type ToolCallDelta, type ToolChoice, type ToolDefinition, type ToolFormat } from '../chat/tools.js';
import type { Engine, GenerationParams, TokenEvent, TokenLogprob } from '../engine/engine.js';
import { GrammarCompiler, GrammarSyntaxError, type ConstraintSpec } from '../engine/grammar/grammar.js';
import { APIError, badRequest } from './errors.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatDelta,
  ChatLogprobs,
  ChatMessage,
  Completion,
  CompletionLogprobs,
  CompletionRequest,
  FinishReason,
  SamplingFields,
  Usage,
} from './protocol.js';

export interface ServingOptions {
  /** Mirrors the seed server's --enable-logprob: without it, requests for logprobs get a 400. */
  enableLogprob?: boolean;
  /** Take a grammar's forced continuations without sampling (default: on). */
  jumpForward?: boolean;
}

interface ChoicePlan {
  index: number;
  promptIds: number[];
  /** Completions `echo`: the prompt text to put before the generated text. */
  echo?: string;
  seed?: number;
}

export interface Plan {
  kind: 'chat' | 'completion';
  id: string;
  created: number;
  model: string;
  /** Generated sequences: the choices, or the best_of candidates they are picked from. */
  choices: ChoicePlan[];
  /** Choices returned per prompt; less than the candidates per prompt when best_of is used. */
  n: number;
  bestOf: number;
  /** Prompt tokens counted once per distinct prompt. */
  promptTokens: number;
  params: Omit<GenerationParams, 'promptIds' | 'seed'>;
  includeUsage: boolean;
  continuousUsage: boolean;
  returnTokenIds: boolean;
  /** How logprobs are shown: OpenAI chat format, legacy completions format, or not at all. */
  logprobs: 'none' | 'chat' | 'legacy';
  /** Tokens grouped into one chunk (max_streaming_response_tokens). */
  chunkTokens: number;
  /** The model separates reasoning (chat only): usage reports reasoning tokens. */
  reasoning: boolean;
  /** Tool calls are parsed out of the answer (chat with tools and tool_choice other than none). */
  tools?: { format: ToolFormat; names: Set<string> };
}

const randomId = (prefix: string) => `${prefix}-${Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('')}`;

function messageText(m: ChatMessage): string | null {
  if (m.content === null || m.content === undefined) return null;
  if (typeof m.content === 'string') return m.content;
  return m.content.map((p) => p.text).join('');
}

/**
 * A message as chat templates read it: text content, and tool-call arguments as objects (OpenAI
 * sends them as JSON strings; templates write them with `tojson`, as Hugging Face's convention is).
 */
function templateMessage(m: ChatMessage): TemplateMessage {
  const out: TemplateMessage = { ...m, content: messageText(m) };
  if (m.tool_calls)
    out.tool_calls = (m.tool_calls as { id?: string; type?: string; function: { name: string; arguments: string } }[]).map((c) => {
      let args: unknown = c.function.arguments;
      try {
        args = JSON.parse(c.function.arguments);
      } catch {
        // not JSON: the template gets the string as sent
      }
      return { ...c, function: { ...c.function, arguments: args } };
    });
  return out;
}

/** What a constraint field asks for, and the field (for errors). */
interface ConstraintRequest {
  spec: ConstraintSpec;
  param: string;
}

const KIND_NAMES: Record<ConstraintSpec['kind'], string> = { json: 'JSON schema', regex: 'regular expression', choice: 'choice list', grammar: 'grammar', structural_tag: 'structural tag' };

/** FastDeploy / vLLM's legacy structural tag ({structures: [{begin, schema, end}], triggers}) in xgrammar's current form. */
function structuralTagJson(v: unknown): string {
  const o = (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error('it must be a JSON object');
  if (Array.isArray(o.structures)) {
    const tags = o.structures.map((s: Record<string, unknown>) => ({ type: 'tag', begin: s.begin, content: { type: 'json_schema', json_schema: s.schema ?? {} }, end: s.end }));
    return JSON.stringify({ type: 'structural_tag', format: { type: 'triggered_tags', triggers: o.triggers ?? [], tags } });
  }
  return JSON.stringify(o);
}

export class Serving {
  private readonly reasoningMarkers?: { startId: number; endId: number };
  /** How this model writes tool calls (from its chat template). */
  readonly toolFormat: ToolFormat;
  /** Special tokens that spell tool-call markers: kept as text when tools are in use. */
  private readonly markerIds: number[];
  /** Compiles constraints against this model's vocabulary (xgrammar loads on first use). */
  readonly grammars: GrammarCompiler;

  constructor(
    readonly engine: Engine,
    readonly modelId: string,
    readonly options: ServingOptions = {},
  ) {
    const tok = engine.model.tokenizer;
    const startId = tok.tokenToId('<think>');
    const endId = tok.tokenToId('</think>');
    if (startId !== undefined && endId !== undefined) this.reasoningMarkers = { startId, endId };
    this.toolFormat = toolFormat(detectToolFamily(engine.model.chatTemplate));
    this.markerIds = markerTexts(this.toolFormat.family).flatMap((m) => {
      const id = tok.tokenToId(m);
      return id !== undefined && tok.isSpecial(id) ? [id] : [];
    });
    this.grammars = new GrammarCompiler(tok, engine.model.config.vocabSize, this.markerIds);
  }

  /**
   * The part of a continued assistant message that belongs to the answer, which a constraint
   * applies to: after the thinking block, none while the block is still open.
   */
  private answerPart(content: string): string | undefined {
    const m = this.reasoningMarkers;
    if (!m) return content;
    const tok = this.engine.model.tokenizer;
    const [open, close] = [tok.idToToken(m.startId)!, tok.idToToken(m.endId)!];
    const end = content.lastIndexOf(close);
    if (content.lastIndexOf(open) > end) return undefined;
    return end === -1 ? content : content.slice(end + close.length);
  }

  // ---------------------------------------------------------------- constraints

  /** The request's constraint fields; at most one may be given. */
  private constraintOf(req: SamplingFields & Pick<ChatCompletionRequest, 'structural_tag'>, tools?: { list: ToolDefinition[]; choice: Exclude<ToolChoice, 'none'>; parallel: boolean }): ConstraintRequest | undefined {
    const found: ConstraintRequest[] = [];
    const rf = req.response_format;
    if (rf && rf.type !== 'text') {
      if (rf.type === 'json_object') found.push({ spec: { kind: 'json' }, param: 'response_format' });
      else if (rf.type === 'json_schema') {
        const js = rf.json_schema as { schema?: unknown } | undefined;
        found.push({ spec: { kind: 'json', schema: js?.schema === undefined ? undefined : JSON.stringify(js.schema) }, param: 'response_format' });
      } else throw badRequest(`response_format type must be 'text', 'json_object' or 'json_schema', got ${JSON.stringify(rf.type)}`, 'response_format.type');
    }
    const present = (k: string) => (req as Record<string, unknown>)[k] !== undefined && (req as Record<string, unknown>)[k] !== null;
    if (present('guided_json')) {
      let schema: string;
      if (typeof req.guided_json === 'string') {
        try {
          schema = JSON.stringify(JSON.parse(req.guided_json));
        } catch (e) {
          throw badRequest(`'guided_json' is not valid JSON: ${(e as Error).message}`, 'guided_json');
        }
      } else schema = JSON.stringify(req.guided_json);
      found.push({ spec: { kind: 'json', schema }, param: 'guided_json' });
    }
    if (present('guided_regex')) found.push({ spec: { kind: 'regex', pattern: req.guided_regex! }, param: 'guided_regex' });
    if (present('guided_choice')) found.push({ spec: { kind: 'choice', choices: req.guided_choice! }, param: 'guided_choice' });
    if (present('guided_grammar')) found.push({ spec: { kind: 'grammar', ebnf: req.guided_grammar! }, param: 'guided_grammar' });
    if (present('structural_tag')) {
      let tag: string;
      try {
        tag = structuralTagJson(req.structural_tag);
      } catch (e) {
        throw badRequest(`'structural_tag' is not a valid structural tag: ${(e as Error).message}`, 'structural_tag');
      }
      found.push({ spec: { kind: 'structural_tag', tag }, param: 'structural_tag' });
    }
    if (tools) found.push({ spec: { kind: 'structural_tag', tag: JSON.stringify(toolCallTag(this.toolFormat, tools.list, tools.choice, tools.parallel)) }, param: 'tools' });
    if (found.length > 1) throw badRequest(`at most one constraint may be given per request; got '${found[0]!.param}' and '${found[1]!.param}'`, found[1]!.param, 'conflicting_parameters');
    return found[0];
  }

  private async compileConstraint(c: ConstraintRequest | undefined, plan: Plan): Promise<void> {
    if (!c) return;
    try {
      plan.params.grammar = await this.grammars.compile(c.spec);
      plan.params.jumpForward = this.options.jumpForward;
    } catch (e) {
      if (e instanceof GrammarSyntaxError) throw badRequest(`'${c.param}' is not a valid ${KIND_NAMES[c.spec.kind]}: ${e.message}`, c.param, 'invalid_grammar');
      // The grammar engine itself failed (its WebAssembly did not load, e.g. under a strict CSP).
      throw new APIError(503, `structured output is unavailable: the grammar engine failed (${(e as Error).message})`, 'server_error', c.param, 'grammar_engine_unavailable');
    }
  }

  // ---------------------------------------------------------------- planning

  async planChat(req: ChatCompletionRequest): Promise<Plan> {
    const toolList = req.tools ?? [];
    const choice: ToolChoice = req.tool_choice ?? (toolList.length ? 'auto' : 'none');
    if (typeof choice === 'object' && !toolList.some((t) => t.function.name === choice.function.name))
      throw badRequest(`tool_choice names the function '${choice.function.name}', which is not in 'tools'`, 'tool_choice');
    const tools = toolList.length && choice !== 'none' ? { list: toolList, choice, parallel: req.parallel_tool_calls ?? true } : undefined;
    const constraint = this.constraintOf(req, tools);
    const { promptIds, prefill } = this.chatPrompt(req, toolList.length && choice !== 'none' ? toolList : undefined);
    if (req.logprobs) this.requireLogprobs('logprobs');
    else if (req.top_logprobs) throw badRequest("'top_logprobs' needs 'logprobs': true", 'top_logprobs');
    const plan = this.plan('chat', req, [{ ids: promptIds }], req.max_completion_tokens ?? req.max_tokens ?? undefined, req.prompt_token_ids ? 'prompt_token_ids' : 'messages');
    if (req.logprobs) {
      plan.logprobs = 'chat';
      plan.params.logprobs = req.top_logprobs ?? 0;
    }
    if (this.reasoningMarkers) {
      plan.reasoning = true;
      plan.params.reasoning = { ...this.reasoningMarkers, maxTokens: req.reasoning_max_tokens ?? undefined };
    }
    if (tools) {
      plan.tools = { format: this.toolFormat, names: new Set(toolList.map((t) => t.function.name)) };
      plan.params.keepTokens = this.markerIds;
    }
    await this.compileConstraint(constraint, plan);
    if (prefill && plan.params.grammar) {
      const m = await plan.params.grammar.matcher([]);
      const ok = m.acceptText(prefill);
      m.dispose();
      if (!ok) throw badRequest(`the final assistant message, which the answer continues, does not start text that '${constraint!.param}' allows`, 'messages');
      plan.params.grammarPrefix = prefill;
    }
    return plan;
  }

  /**
   * The token ids a chat request's messages become (its template rendered and tokenized) and, for a
   * continued final assistant message, the part of it a constraint applies to.
   */
  private chatPrompt(req: ChatCompletionRequest, tools: ToolDefinition[] | undefined): { promptIds: number[]; prefill?: string } {
    const tok = this.engine.model.tokenizer;
    if (req.prompt_token_ids) return { promptIds: req.prompt_token_ids };
    if ((req.messages as unknown[]).every((m) => typeof m === 'number')) return { promptIds: req.messages as number[] };
    const source = req.messages as ChatMessage[];
    const messages: TemplateMessage[] = source.map(templateMessage);
    const last = messages[messages.length - 1]!;
    // A final assistant message is continued (prefill), unless a new turn is asked for explicitly.
    const continueFinal = req.continue_final_message ?? (last.role === 'assistant' && req.add_generation_prompt !== true);
    let prefill: string | undefined;
    let text: string;
    if (req.disable_chat_template) text = messages.map((m) => m.content ?? '').join('');
    else {
      try {
        text = renderChat(req.chat_template ?? this.engine.model.chatTemplate, messages, {
          addGenerationPrompt: continueFinal ? false : (req.add_generation_prompt ?? true),
          bosToken: tok.bosToken,
          eosToken: tok.eosToken,
          // Templates get the tools unless tool_choice is none (as vLLM renders them).
          tools,
          kwargs: req.chat_template_kwargs ?? undefined,
        });
      } catch (e) {
        throw badRequest(`the chat template could not render these messages: ${(e as Error).message}`, 'messages', 'chat_template_error');
      }
      if (continueFinal) {
        const content = typeof last.content === 'string' ? last.content : '';
        const at = text.lastIndexOf(content);
        if (last.role !== 'assistant' || at === -1) throw badRequest('continue_final_message needs a final assistant message that the template keeps', 'messages', 'invalid_value');
        text = text.slice(0, at + content.length); // drop the template's end-of-turn markup
        prefill = this.answerPart(content);
      }
    }
    // Templates that write BOS themselves must not get a second one from the tokenizer.
    return { promptIds: tok.encode(text, !(tok.bosToken && text.startsWith(tok.bosToken))), prefill };
  }

  /**
   * vLLM's POST /tokenize: what a completion's `prompt` or a chat's `messages` (rendered as a chat
   * request would be) cost in tokens, with the context length, so a client can fit a history to
   * the context exactly instead of guessing from characters.
   */
  tokenize(input: { chat: ChatCompletionRequest } | { prompt: string; addSpecialTokens: boolean }): { count: number; max_model_len: number; tokens: number[] } {
    let ids: number[];
    if ('chat' in input) {
      const toolList = input.chat.tools ?? [];
      ids = this.chatPrompt(input.chat, toolList.length && input.chat.tool_choice !== 'none' ? toolList : undefined).promptIds;
    } else ids = this.engine.model.tokenizer.encode(input.prompt, input.addSpecialTokens);
    return { count: ids.length, max_model_len: this.engine.maxModelLen, tokens: ids };
  }

  async planCompletion(req: CompletionRequest): Promise<Plan> {
    const tok = this.engine.model.tokenizer;
    let prompts: { ids: number[]; text?: string }[];
    const p = req.prompt;
    if (req.prompt_token_ids) prompts = [{ ids: req.prompt_token_ids }];
    else if (typeof p === 'string') prompts = [{ ids: tok.encode(p), text: p }];
    else if (p.every((x) => typeof x === 'string')) prompts = (p as string[]).map((s) => ({ ids: tok.encode(s), text: s }));
    else if (p.every((x) => typeof x === 'number')) prompts = [{ ids: p as number[] }];
    else prompts = (p as number[][]).map((ids) => ({ ids }));
    if (req.suffix) throw badRequest(`model ${this.modelId} has no fill-in-the-middle support, so 'suffix' cannot be used`, 'suffix', 'unsupported_parameter');
    if (req.logprobs !== undefined && req.logprobs !== null) this.requireLogprobs('logprobs');
    const n = req.n ?? 1;
    const bestOf = req.best_of ?? n;
    if (bestOf < n) throw badRequest(`'best_of' (${bestOf}) must be at least 'n' (${n})`, 'best_of');
    if (bestOf > n && req.stream) throw badRequest("'best_of' greater than 'n' cannot be streamed", 'best_of');
    const plan = this.plan('completion', req, prompts, req.max_tokens ?? undefined, req.prompt_token_ids ? 'prompt_token_ids' : 'prompt', bestOf);
    plan.bestOf = bestOf;
    if (req.logprobs !== undefined && req.logprobs !== null) {
      plan.logprobs = 'legacy';
      plan.params.logprobs = req.logprobs;
      if (req.echo) plan.params.promptLogprobs = req.logprobs;
    } else if (bestOf > n) plan.params.logprobs = 0; // ranking needs each token's logprob
    if (req.echo) for (const c of plan.choices) c.echo = prompts[Math.floor(c.index / bestOf)]!.text ?? tok.decode(c.promptIds);
    await this.compileConstraint(this.constraintOf(req), plan);
    return plan;
  }

  private requireLogprobs(param: string): void {
    if (!this.options.enableLogprob)
      throw badRequest('log probabilities are disabled on this server; start it with --enable-logprob (createFetch: enableLogprob: true)', param, 'logprobs_disabled');
  }

  private tokenSequences(words: string[]): number[][] {
    const tok = this.engine.model.tokenizer;
    const seqs = new Map<string, number[]>();
    for (const w of words) {
      // The word at the start of a text and after a space tokenizes differently: ban both.
      for (const ids of [tok.encode(w, false), tok.encode(' ' + w, false)]) if (ids.length) seqs.set(ids.join(','), ids);
    }
    return [...seqs.values()];
  }

  private plan(kind: Plan['kind'], req: SamplingFields, prompts: { ids: number[] }[], maxTokens: number | undefined, promptParam: string, perPrompt = req.n ?? 1): Plan {
    const { model } = this.engine;
    const vocab = model.config.vocabSize;
    const maxLen = this.engine.maxModelLen;
    for (const { ids } of prompts) {
      if (ids.length === 0) throw badRequest('the prompt is empty after tokenization', promptParam);
      const bad = ids.find((t) => !Number.isInteger(t) || t < 0 || t >= vocab);
      if (bad !== undefined) throw badRequest(`token id ${bad} is outside the vocabulary (size ${vocab})`, promptParam);
      if (ids.length >= maxLen)
        throw badRequest(
          `this model's maximum context length is ${maxLen} tokens; the prompt has ${ids.length} tokens, leaving no room for a completion`,
          promptParam,
          'context_length_exceeded',
        );
    }
    const badStop = (req.stop_token_ids ?? []).find((t) => t >= vocab);
    if (badStop !== undefined) throw badRequest(`stop token id ${badStop} is outside the vocabulary (size ${vocab})`, 'stop_token_ids');
    const logitBias = new Map<number, number>();
    for (const [k, v] of Object.entries(req.logit_bias ?? {})) {
      const id = Number(k);
      if (!/^\d+$/.test(k) || id >= vocab) throw badRequest(`logit_bias key "${k}" is not a token id of this model (0..${vocab - 1})`, 'logit_bias');
      if (typeof v !== 'number' || !(v >= -100 && v <= 100)) throw badRequest(`logit_bias values must be numbers from -100 to 100, got ${JSON.stringify(v)} for token ${k}`, 'logit_bias');
      logitBias.set(id, v);
    }
    const defaults = model.generationDefaults;
    const stop = req.stop === undefined || req.stop === null ? [] : typeof req.stop === 'string' ? [req.stop] : req.stop;
    const choices: ChoicePlan[] = prompts.flatMap((p, pi) =>
      Array.from({ length: perPrompt }, (_, i) => ({ index: pi * perPrompt + i, promptIds: p.ids, seed: req.seed === undefined || req.seed === null ? undefined : req.seed + i })),
    );
    // Every choice gets the same budget: what the longest prompt leaves, capped by the request.
    const room = maxLen - Math.max(...prompts.map((p) => p.ids.length));
    return {
      kind,
      id: randomId(kind === 'chat' ? 'chatcmpl' : 'cmpl'),
      created: Math.floor(Date.now() / 1000),
      model: this.modelId,
      choices,
      n: req.n ?? 1,
      bestOf: perPrompt,
      promptTokens: prompts.reduce((a, p) => a + p.ids.length, 0),
      params: {
        maxTokens: Math.min(maxTokens ?? room, room),
        sampling: {
          temperature: req.temperature ?? defaults.temperature ?? 1,
          topP: req.top_p ?? defaults.top_p ?? 1,
          topK: req.top_k ?? defaults.top_k ?? 0,
          minP: req.min_p ?? 0,
        },
        stop,
        includeStopStr: req.include_stop_str_in_output ?? false,
        stopTokenIds: req.stop_token_ids ?? [],
        ignoreEos: req.ignore_eos ?? false,
        minTokens: req.min_tokens ?? 0,
        logitBias,
        penalties: {
          frequency: req.frequency_penalty ?? 0,
          presence: req.presence_penalty ?? 0,
          repetition: req.repetition_penalty ?? defaults.repetition_penalty ?? 1,
        },
        badWords: req.bad_words?.length ? this.tokenSequences(req.bad_words) : [],
      },
      includeUsage: req.stream_options?.include_usage ?? false,
      continuousUsage: req.stream_options?.continuous_usage_stats ?? false,
      returnTokenIds: req.return_token_ids ?? false,
      logprobs: 'none',
      chunkTokens: req.max_streaming_response_tokens ?? 1,
      reasoning: false,
    };
  }

  // ---------------------------------------------------------------- streaming

  /**
   * The one generation path: chunks for every choice, then the usage chunk if asked. Choices
   * generate together (the engine batches them); the first of each prompt runs ahead until its
   * prompt is in the KV cache, and the others start from that cached prefix.
   */
  async *stream(plan: Plan, signal?: AbortSignal): AsyncGenerator<ChatCompletionChunk | Completion> {
    const counter: Counter = { completion: 0, reasoning: 0, cached: 0 };
    if (plan.bestOf > plan.n) yield* this.streamBestOf(plan, counter, signal);
    else yield* this.together(plan, signal, (choice, started) => this.streamChoice(plan, choice, choice.index, counter, signal, undefined, started));
    if (plan.includeUsage) {
      const usage = this.usage(plan, counter);
      const base = { id: plan.id, created: plan.created, model: plan.model };
      yield plan.kind === 'chat' ? { ...base, object: 'chat.completion.chunk', choices: [], usage } : { ...base, object: 'text_completion', choices: [], usage };
    }
  }

  private usage(plan: Plan, counter: Counter): Usage {
    const u = usageOf(plan.promptTokens, counter.completion);
    if (plan.reasoning) u.completion_tokens_details = { reasoning_tokens: counter.reasoning };
    u.prompt_tokens_details = { cached_tokens: counter.cached };
    return u;
  }

  /**
   * Every choice's stream at once, chunks in the order they come. Candidates of one prompt after
   * the first wait for its first token, so they find its prompt in the prefix cache.
   */
  private together<T>(plan: Plan, signal: AbortSignal | undefined, open: (choice: ChoicePlan, started?: () => void) => AsyncGenerator<T>): AsyncGenerator<T> {
    const gens: AsyncGenerator<T>[] = [];
    for (let p = 0; p < plan.choices.length; p += plan.bestOf) {
      let started!: () => void;
      const first = new Promise<void>((r) => (started = r));
      const group = plan.choices.slice(p, p + plan.bestOf);
      gens.push(open(group[0]!, () => started()));
      for (const choice of group.slice(1))
        gens.push(
          (async function* () {
            await first;
            yield* open(choice);
          })(),
        );
    }
    return interleave(gens);
  }

  /** best_of: generate every candidate, return the n with the highest mean token logprob per prompt. */
  private async *streamBestOf(plan: Plan, counter: Counter, signal?: AbortSignal) {
    const scores = new Map<ChoicePlan, { sum: number; n: number }>();
    const chunks = new Map<ChoicePlan, (ChatCompletionChunk | Completion)[]>();
    for (const choice of plan.choices) {
      scores.set(choice, { sum: 0, n: 0 });
      chunks.set(choice, []);
    }
    const tagged = this.together(plan, signal, (choice, started) =>
      (async function* (self: Serving) {
        for await (const c of self.streamChoice(plan, choice, 0, counter, signal, scores.get(choice), started)) yield { choice, c };
      })(this),
    );
    for await (const { choice, c } of tagged) chunks.get(choice)!.push(c);
    for (let p = 0; p < plan.choices.length / plan.bestOf; p++) {
      const candidates = plan.choices.slice(p * plan.bestOf, (p + 1) * plan.bestOf).map((choice) => {
        const score = scores.get(choice)!;
        return { chunks: chunks.get(choice)!, score: score.n ? score.sum / score.n : -Infinity };
      });
      candidates.sort((a, b) => b.score - a.score);
      for (const [k, cand] of candidates.slice(0, plan.n).entries())
        for (const c of cand.chunks) yield { ...c, choices: c.choices.map((ch) => ({ ...ch, index: p * plan.n + k })) } as ChatCompletionChunk | Completion;
    }
  }

  private async *streamChoice(
    plan: Plan,
    choice: ChoicePlan,
    index: number,
    counter: Counter,
    signal?: AbortSignal,
    score?: { sum: number; n: number },
    /** Called once the prompt is in the KV cache (the first event), or when the choice ends. */
    started?: () => void,
  ): AsyncGenerator<ChatCompletionChunk | Completion> {
    const tok = this.engine.model.tokenizer;
    const base = { id: plan.id, created: plan.created, model: plan.model };
    const t0 = performance.now();
    const usage = () => (plan.continuousUsage ? { usage: this.usage(plan, counter) } : {});
    let textOffset = 0;
    const legacy = (entries: (TokenLogprob | null)[], ids: number[]): CompletionLogprobs => {
      const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
      entries.forEach((e, i) => {
        const text = tok.tokenText(ids[i]!);
        out.tokens.push(text);
        out.token_logprobs.push(e ? e.logprob : null);
        out.top_logprobs.push(e ? Object.fromEntries(e.top.map((t) => [tok.tokenText(t.id), t.logprob])) : null);
        out.text_offset.push(textOffset);
        textOffset += text.length;
      });
      return out;
    };
    const chat = (entries: TokenLogprob[]): ChatLogprobs => ({
      content: entries.map((e) => ({
        token: tok.tokenText(e.id),
        logprob: e.logprob,
        bytes: tok.tokenBytes(e.id),
        top_logprobs: e.top.map((t) => ({ token: tok.tokenText(t.id), logprob: t.logprob, bytes: tok.tokenBytes(t.id) })),
      })),
      refusal: null,
    });

    if (plan.kind === 'chat')
      yield {
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index, delta: { role: 'assistant', content: '', ...(plan.returnTokenIds ? { prompt_token_ids: choice.promptIds } : {}) }, logprobs: null, finish_reason: null }],
        ...usage(),
      };

    // A group collects up to plan.chunkTokens tokens' worth of events before a chunk goes out.
    let group: TokenEvent[] = [];
    let first = true;
    const tools = plan.tools && new ToolCallParser(plan.tools.format, plan.tools.names);
    const flush = (): ChatCompletionChunk | Completion | undefined => {
      const events = group;
      group = [];
      const ids = events.flatMap((e) => (e.tokenId !== undefined ? [e.tokenId] : []));
      const lps = events.flatMap((e) => (e.logprob ? [e.logprob] : []));
      let finish: FinishReason | null = events.at(-1)?.finishReason ?? null;
      let content = events.filter((e) => e.channel === 'content').map((e) => e.text).join('');
      const reasoning = events.filter((e) => e.channel === 'reasoning').map((e) => e.text).join('');
      const arrival_time = (performance.now() - t0) / 1000;
      const showIds = plan.returnTokenIds ? { completion_token_ids: ids } : {};
      let calls: ToolCallDelta[] = [];
      if (tools) {
        const parts = [tools.push(content), ...(finish ? [tools.flush()] : [])];
        content = parts.map((x) => x.content).join('');
        calls = parts.flatMap((x) => x.calls);
        if (finish === 'stop' && tools.callCount > 0) finish = 'tool_calls';
      }
      if (plan.kind === 'chat') {
        const delta: ChatDelta = {
          ...(content || (!finish && !reasoning && !calls.length) ? { content } : {}),
          ...(reasoning ? { reasoning_content: reasoning } : {}),
          ...(calls.length ? { tool_calls: calls } : {}),
          ...showIds,
        };
        if (!content && !reasoning && !calls.length && !finish && !(ids.length && (plan.returnTokenIds || plan.logprobs !== 'none'))) return undefined;
        return {
          ...base,
          object: 'chat.completion.chunk',
          choices: [{ index, delta, logprobs: plan.logprobs === 'chat' && lps.length ? chat(lps) : null, finish_reason: finish, arrival_time }],
          ...usage(),
        };
      }
      const promptLps = first ? events.find((e) => e.promptLogprobs)?.promptLogprobs : undefined;
      const text = (first && choice.echo !== undefined ? choice.echo : '') + content + reasoning;
      if (!text && !finish && !(ids.length && (plan.returnTokenIds || plan.logprobs !== 'none'))) return undefined;
      let logprobs: CompletionLogprobs | null = null;
      if (plan.logprobs === 'legacy') logprobs = promptLps ? legacy([...promptLps, ...lps], [...choice.promptIds, ...ids]) : legacy(lps, ids);
      first = false;
      return {
        ...base,
        object: 'text_completion',
        choices: [
          {
            index,
            text,
            logprobs,
            finish_reason: finish,
            arrival_time,
            ...showIds,
          },
        ],
        ...usage(),
      };
    };

    let tokens = 0;
    let promptIdsSent = false;
    try {
      for await (const ev of this.engine.generate({ ...plan.params, promptIds: choice.promptIds, seed: choice.seed }, signal)) {
        if (started) {
          counter.cached += ev.cachedTokens ?? 0;
          started();
          started = undefined;
        }
        if (ev.tokenId !== undefined) {
          counter.completion++;
          tokens++;
          if (ev.channel === 'reasoning') counter.reasoning++;
        }
        if (score && ev.logprob) {
          score.sum += ev.logprob.logprob;
          score.n++;
        }
        group.push(ev);
        if (tokens % plan.chunkTokens === 0 || ev.finishReason) {
          const chunk = flush();
          if (chunk) {
            if (plan.kind === 'completion' && plan.returnTokenIds && !promptIdsSent) {
              (chunk as Completion).choices[0]!.prompt_token_ids = choice.promptIds;
              promptIdsSent = true;
            }
            yield chunk;
          }
        }
      }
    } finally {
      started?.();
    }
  }
}

type Counter = { completion: number; reasoning: number; cached: number };

/**
 * Chunks of several streams as they come. A stream that fails fails the whole; the others are
 * closed when the reader stops (their engine sequences leave at once).
 */
async function* interleave<T>(gens: AsyncGenerator<T>[]): AsyncGenerator<T> {
  type Next = { i: number; r?: IteratorResult<T>; e?: unknown };
  const pull = (i: number): Promise<Next> => gens[i]!.next().then(
    (r) => ({ i, r }),
    (e: unknown) => ({ i, e }),
  );
  const live = new Map(gens.map((_, i) => [i, pull(i)]));
  try {
    while (live.size) {
      const { i, r, e } = await Promise.race(live.values());
      if (e !== undefined) throw e;
      if (r!.done) live.delete(i);
      else {
        live.set(i, pull(i));
        yield r!.value;
      }
    }
  } finally {
    for (const [i] of live) void gens[i]!.return(undefined).catch(() => {});
  }
}

export function usageOf(prompt: number, completion: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

// ---------------------------------------------------------------- folding

/** Builds the non-streaming chat response from the streamed chunks. */
export async function foldChat(plan: Plan, chunks: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletion> {
  const choices = new Map<number, ChatCompletion['choices'][number]>();
  let usage: Usage | undefined;
  for await (const chunk of chunks) {
    for (const c of chunk.choices) {
      let acc = choices.get(c.index);
      if (!acc) {
        acc = { index: c.index, message: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null };
        choices.set(c.index, acc);
      }
      const m = acc.message;
      if (c.delta.content) m.content += c.delta.content;
      for (const d of c.delta.tool_calls ?? []) {
        const calls = (m.tool_calls ??= []);
        if (d.id) calls[d.index] = { id: d.id, type: 'function', function: { name: d.function.name ?? '', arguments: d.function.arguments } };
        else calls[d.index]!.function.arguments += d.function.arguments;
      }
      if (c.delta.reasoning_content) m.reasoning_content = (m.reasoning_content ?? '') + c.delta.reasoning_content;
      if (c.delta.prompt_token_ids) m.prompt_token_ids = c.delta.prompt_token_ids;
      if (c.delta.completion_token_ids) m.completion_token_ids = [...(m.completion_token_ids ?? []), ...c.delta.completion_token_ids];
      if (c.logprobs) acc.logprobs = { content: [...(acc.logprobs?.content ?? []), ...c.logprobs.content], refusal: null };
      if (c.finish_reason) acc.finish_reason = c.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  const out = [...choices.values()].sort((a, b) => a.index - b.index);
  if (plan.logprobs === 'chat') for (const c of out) c.logprobs ??= { content: [], refusal: null };
  // OpenAI: a message that only calls tools has content null.
  for (const c of out) if (c.message.tool_calls?.length && !c.message.content) c.message.content = null;
  return { id: plan.id, object: 'chat.completion', created: plan.created, model: plan.model, choices: out, usage: usage! };
}

/** Builds the non-streaming completions response from the streamed chunks. */
export async function foldCompletion(plan: Plan, chunks: AsyncIterable<Completion>): Promise<Completion> {
  const choices = new Map<number, Completion['choices'][number]>();
  let usage: Usage | undefined;
  for await (const chunk of chunks) {
    for (const c of chunk.choices) {
      let acc = choices.get(c.index);
      if (!acc) {
        acc = { index: c.index, text: '', logprobs: null, finish_reason: null };
        choices.set(c.index, acc);
      }
      acc.text += c.text;
      if (c.prompt_token_ids) acc.prompt_token_ids = c.prompt_token_ids;
      if (c.completion_token_ids) acc.completion_token_ids = [...(acc.completion_token_ids ?? []), ...c.completion_token_ids];
      if (c.logprobs) {
        const a = (acc.logprobs ??= { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] });
        a.tokens.push(...c.logprobs.tokens);
        a.token_logprobs.push(...c.logprobs.token_logprobs);
        a.top_logprobs.push(...c.logprobs.top_logprobs);
        a.text_offset.push(...c.logprobs.text_offset);
      }
      if (c.finish_reason) acc.finish_reason = c.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  const out = [...choices.values()].sort((a, b) => a.index - b.index);
  if (plan.logprobs === 'legacy') for (const c of out) c.logprobs ??= { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  return { id: plan.id, object: 'text_completion', created: plan.created, model: plan.model, choices: out, usage: usage! };
}
