/**
 * Serving logic between the wire protocol and the engine. A request is first *planned* (prompt
 * rendered and tokenized, limits checked: every 4xx happens here, before any byte is streamed),
 * then *streamed* as OpenAI chunks. Non-streaming responses are the fold of the same chunks, so
 * there is exactly one generation path.
 */
import { renderChat, type TemplateMessage } from '../chat/template.js';
import type { Engine, GenerationParams } from '../engine/engine.js';
import { badRequest } from './errors.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatMessage,
  Completion,
  CompletionRequest,
  SamplingFields,
  Usage,
} from './protocol.js';

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
  choices: ChoicePlan[];
  /** Prompt tokens counted once per distinct prompt. */
  promptTokens: number;
  params: Omit<GenerationParams, 'promptIds' | 'seed'>;
  includeUsage: boolean;
  returnTokenIds: boolean;
}

const randomId = (prefix: string) => `${prefix}-${Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('')}`;

function messageText(m: ChatMessage): string | null {
  if (m.content === null || m.content === undefined) return null;
  if (typeof m.content === 'string') return m.content;
  return m.content.map((p) => p.text).join('');
}

export class Serving {
  constructor(
    readonly engine: Engine,
    readonly modelId: string,
  ) {}

  // ---------------------------------------------------------------- planning

  planChat(req: ChatCompletionRequest): Plan {
    const tok = this.engine.model.tokenizer;
    let promptIds: number[];
    if (req.prompt_token_ids) promptIds = req.prompt_token_ids;
    else if ((req.messages as unknown[]).every((m) => typeof m === 'number')) promptIds = req.messages as number[];
    else {
      const messages: TemplateMessage[] = (req.messages as ChatMessage[]).map((m) => ({ ...m, content: messageText(m) }));
      let text: string;
      if (req.disable_chat_template) text = messages.map((m) => m.content ?? '').join('');
      else {
        try {
          text = renderChat(req.chat_template ?? this.engine.model.chatTemplate, messages, {
            addGenerationPrompt: req.add_generation_prompt ?? true,
            bosToken: tok.bosToken,
            eosToken: tok.eosToken,
            tools: req.tools ?? undefined,
            kwargs: req.chat_template_kwargs ?? undefined,
          });
        } catch (e) {
          throw badRequest(`the chat template could not render these messages: ${(e as Error).message}`, 'messages', 'chat_template_error');
        }
      }
      // Templates that write BOS themselves must not get a second one from the tokenizer.
      promptIds = tok.encode(text, !(tok.bosToken && text.startsWith(tok.bosToken)));
    }
    const limit = req.max_completion_tokens ?? req.max_tokens ?? undefined;
    return this.plan('chat', req, [{ ids: promptIds }], limit, req.prompt_token_ids ? 'prompt_token_ids' : 'messages');
  }

  planCompletion(req: CompletionRequest): Plan {
    const tok = this.engine.model.tokenizer;
    let prompts: { ids: number[]; text?: string }[];
    const p = req.prompt;
    if (req.prompt_token_ids) prompts = [{ ids: req.prompt_token_ids }];
    else if (typeof p === 'string') prompts = [{ ids: tok.encode(p), text: p }];
    else if (p.every((x) => typeof x === 'string')) prompts = (p as string[]).map((s) => ({ ids: tok.encode(s), text: s }));
    else if (p.every((x) => typeof x === 'number')) prompts = [{ ids: p as number[] }];
    else prompts = (p as number[][]).map((ids) => ({ ids }));
    if (req.suffix) throw badRequest(`model ${this.modelId} has no fill-in-the-middle support, so 'suffix' cannot be used`, 'suffix', 'unsupported_parameter');
    const plan = this.plan('completion', req, prompts, req.max_tokens ?? undefined, req.prompt_token_ids ? 'prompt_token_ids' : 'prompt');
    if (req.echo) for (const c of plan.choices) c.echo = prompts[Math.floor(c.index / (req.n ?? 1))]!.text ?? tok.decode(c.promptIds);
    return plan;
  }

  private plan(kind: Plan['kind'], req: SamplingFields, prompts: { ids: number[] }[], maxTokens: number | undefined, promptParam: string): Plan {
    const { model } = this.engine;
    const maxLen = this.engine.maxModelLen;
    for (const { ids } of prompts) {
      if (ids.length === 0) throw badRequest('the prompt is empty after tokenization', promptParam);
      const bad = ids.find((t) => t >= model.config.vocabSize);
      if (bad !== undefined) throw badRequest(`token id ${bad} is outside the vocabulary (size ${model.config.vocabSize})`, promptParam);
      if (ids.length >= maxLen)
        throw badRequest(
          `this model's maximum context length is ${maxLen} tokens; the prompt has ${ids.length} tokens, leaving no room for a completion`,
          promptParam,
          'context_length_exceeded',
        );
    }
    const n = req.n ?? 1;
    const defaults = model.generationDefaults;
    const stop = req.stop === undefined || req.stop === null ? [] : typeof req.stop === 'string' ? [req.stop] : req.stop;
    const choices: ChoicePlan[] = prompts.flatMap((p, pi) =>
      Array.from({ length: n }, (_, i) => ({ index: pi * n + i, promptIds: p.ids, seed: req.seed === undefined || req.seed === null ? undefined : req.seed + i })),
    );
    // Every choice gets the same budget: what the longest prompt leaves, capped by the request.
    const room = maxLen - Math.max(...prompts.map((p) => p.ids.length));
    return {
      kind,
      id: randomId(kind === 'chat' ? 'chatcmpl' : 'cmpl'),
      created: Math.floor(Date.now() / 1000),
      model: this.modelId,
      choices,
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
      },
      includeUsage: req.stream_options?.include_usage ?? false,
      returnTokenIds: req.return_token_ids ?? false,
    };
  }

  // ---------------------------------------------------------------- streaming

  /** The one generation path: chunks for every choice, in order, then the usage chunk if asked. */
  async *stream(plan: Plan, signal?: AbortSignal): AsyncGenerator<ChatCompletionChunk | Completion> {
    let completionTokens = 0;
    const base = { id: plan.id, created: plan.created, model: plan.model };
    for (const choice of plan.choices) {
      const t0 = performance.now();
      const arrival = () => (performance.now() - t0) / 1000;
      if (plan.kind === 'chat')
        yield {
          ...base,
          object: 'chat.completion.chunk',
          choices: [
            {
              index: choice.index,
              delta: { role: 'assistant', content: '', ...(plan.returnTokenIds ? { prompt_token_ids: choice.promptIds } : {}) },
              logprobs: null,
              finish_reason: null,
            },
          ],
        };
      let first = true;
      for await (const ev of this.engine.generate({ ...plan.params, promptIds: choice.promptIds, seed: choice.seed }, signal)) {
        if (ev.tokenId !== undefined) completionTokens++;
        const ids = ev.tokenId !== undefined ? [ev.tokenId] : [];
        const finish = ev.finishReason ?? null;
        if (plan.kind === 'chat') {
          if (!ev.text && !finish && !plan.returnTokenIds) continue;
          yield {
            ...base,
            object: 'chat.completion.chunk',
            choices: [
              {
                index: choice.index,
                delta: { ...(ev.text || !finish ? { content: ev.text } : {}), ...(plan.returnTokenIds ? { completion_token_ids: ids } : {}) },
                logprobs: null,
                finish_reason: finish,
                arrival_time: arrival(),
              },
            ],
          };
        } else {
          const text = first && choice.echo !== undefined ? choice.echo + ev.text : ev.text;
          if (!text && !finish && !plan.returnTokenIds) continue;
          yield {
            ...base,
            object: 'text_completion',
            choices: [
              {
                index: choice.index,
                text,
                logprobs: null,
                finish_reason: finish,
                arrival_time: arrival(),
                ...(plan.returnTokenIds ? { completion_token_ids: ids, ...(first ? { prompt_token_ids: choice.promptIds } : {}) } : {}),
              },
            ],
          };
        }
        first = false;
      }
    }
    if (plan.includeUsage) {
      const usage = usageOf(plan.promptTokens, completionTokens);
      yield plan.kind === 'chat' ? { ...base, object: 'chat.completion.chunk', choices: [], usage } : { ...base, object: 'text_completion', choices: [], usage };
    }
  }
}

export function usageOf(prompt: number, completion: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

// ---------------------------------------------------------------- folding

/** Builds the non-streaming chat response from the streamed chunks. */
export async function foldChat(plan: Plan, chunks: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletion> {
  const choices = new Map<number, ChatCompletion['choices'][number]>();
  let completionTokens = 0;
  for await (const chunk of chunks) {
    for (const c of chunk.choices) {
      let acc = choices.get(c.index);
      if (!acc) {
        acc = { index: c.index, message: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null };
        choices.set(c.index, acc);
      }
      if (c.delta.content) acc.message.content += c.delta.content;
      if (c.delta.prompt_token_ids) acc.message.prompt_token_ids = c.delta.prompt_token_ids;
      if (c.delta.completion_token_ids) {
        acc.message.completion_token_ids = [...(acc.message.completion_token_ids ?? []), ...c.delta.completion_token_ids];
      }
      completionTokens += c.delta.completion_token_ids?.length ?? 0;
      if (c.finish_reason) acc.finish_reason = c.finish_reason;
    }
    if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
  }
  return {
    id: plan.id,
    object: 'chat.completion',
    created: plan.created,
    model: plan.model,
    choices: [...choices.values()].sort((a, b) => a.index - b.index),
    usage: usageOf(plan.promptTokens, completionTokens),
  };
}

/** Builds the non-streaming completions response from the streamed chunks. */
export async function foldCompletion(plan: Plan, chunks: AsyncIterable<Completion>): Promise<Completion> {
  const choices = new Map<number, Completion['choices'][number]>();
  let completionTokens = 0;
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
      completionTokens += c.completion_token_ids?.length ?? 0;
      if (c.finish_reason) acc.finish_reason = c.finish_reason;
    }
    if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
  }
  return {
    id: plan.id,
    object: 'text_completion',
    created: plan.created,
    model: plan.model,
    choices: [...choices.values()].sort((a, b) => a.index - b.index),
    usage: usageOf(plan.promptTokens, completionTokens),
  };
}

