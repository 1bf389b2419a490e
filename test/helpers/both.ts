/**
 * Runs one request through the openai SDK non-streaming and streaming, folds the stream the way a
 * client would, and checks that both modes agree before returning them.
 */
import type OpenAI from 'openai';
import { expect } from 'vitest';

export interface Folded {
  choices: { index: number; text: string; reasoning?: string; finish_reason: string | null; token_ids?: number[]; logprobs: any[] }[];
  usage?: any;
  chunks: any[];
}

function foldChunks(chunks: any[], kind: 'chat' | 'completion'): Folded {
  const choices = new Map<number, Folded['choices'][number]>();
  let usage;
  for (const ch of chunks) {
    if (ch.usage) usage = ch.usage;
    for (const c of ch.choices) {
      const acc: Folded['choices'][number] = choices.get(c.index) ?? { index: c.index, text: '', finish_reason: null, logprobs: [] };
      choices.set(c.index, acc);
      if (kind === 'chat') {
        acc.text += c.delta.content ?? '';
        if (c.delta.reasoning_content) acc.reasoning = (acc.reasoning ?? '') + c.delta.reasoning_content;
        if (c.delta.completion_token_ids) acc.token_ids = [...(acc.token_ids ?? []), ...c.delta.completion_token_ids];
        if (c.logprobs) acc.logprobs.push(...c.logprobs.content);
      } else {
        acc.text += c.text;
        if (c.completion_token_ids) acc.token_ids = [...(acc.token_ids ?? []), ...c.completion_token_ids];
        if (c.logprobs) acc.logprobs.push(...c.logprobs.tokens.map((t: string, i: number) => ({ token: t, logprob: c.logprobs.token_logprobs[i], top: c.logprobs.top_logprobs[i], offset: c.logprobs.text_offset[i] })));
      }
      if (c.finish_reason) acc.finish_reason = c.finish_reason;
    }
  }
  return { choices: [...choices.values()].sort((a, b) => a.index - b.index), usage, chunks };
}

function normalise(res: any, kind: 'chat' | 'completion'): Folded {
  return {
    choices: res.choices.map((c: any) =>
      kind === 'chat'
        ? { index: c.index, text: c.message.content, reasoning: c.message.reasoning_content ?? undefined, finish_reason: c.finish_reason, token_ids: c.message.completion_token_ids ?? undefined, logprobs: c.logprobs?.content ?? [] }
        : {
            index: c.index,
            text: c.text,
            finish_reason: c.finish_reason,
            token_ids: c.completion_token_ids ?? undefined,
            logprobs: c.logprobs ? c.logprobs.tokens.map((t: string, i: number) => ({ token: t, logprob: c.logprobs.token_logprobs[i], top: c.logprobs.top_logprobs[i], offset: c.logprobs.text_offset[i] })) : [],
          },
    ),
    usage: res.usage,
    chunks: [],
  };
}

export async function both(client: OpenAI, kind: 'chat' | 'completion', params: Record<string, unknown>): Promise<{ whole: Folded; streamed: Folded; raw: any }> {
  const create = (p: Record<string, unknown>) => (kind === 'chat' ? client.chat.completions.create(p as any) : client.completions.create(p as any));
  const raw: any = await create({ ...params, stream: false });
  const whole = normalise(raw, kind);
  const stream: any = await create({ ...params, stream: true, stream_options: { include_usage: true, ...(params.stream_options as object) } });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const streamed = foldChunks(chunks, kind);
  if (params.seed !== undefined || params.temperature === 0) {
    expect(streamed.choices.map((c) => [c.index, c.text, c.reasoning, c.finish_reason])).toEqual(whole.choices.map((c) => [c.index, c.text, c.reasoning, c.finish_reason]));
    // The second request may find the first one's prompt in the prefix cache: all else is equal.
    const uncached = (u: any) => ({ ...u, prompt_tokens_details: undefined });
    expect(uncached(streamed.usage)).toEqual(uncached(whole.usage));
    expect(streamed.usage.prompt_tokens_details.cached_tokens).toBeLessThanOrEqual(streamed.usage.prompt_tokens);
    expect(streamed.choices.map((c) => c.logprobs.map((l) => l.logprob))).toEqual(whole.choices.map((c) => c.logprobs.map((l) => l.logprob)));
  }
  return { whole, streamed, raw };
}
