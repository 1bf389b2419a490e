/** Field-by-field checks of response objects against the OpenAI shapes. */
import { expect } from 'vitest';

const ID = /^[a-z]+-[0-9a-f]{24}$/;

function common(o: Record<string, unknown>, object: string, model: string) {
  expect(o.id).toMatch(ID);
  expect(o.object).toBe(object);
  expect(Number.isInteger(o.created)).toBe(true);
  expect(Math.abs((o.created as number) - Date.now() / 1000)).toBeLessThan(600);
  expect(o.model).toBe(model);
  expect(Array.isArray(o.choices)).toBe(true);
}

function usage(u: unknown) {
  const { prompt_tokens_details: details, ...x } = u as Record<string, any>;
  expect(Object.keys(x).sort()).toEqual(['completion_tokens', 'prompt_tokens', 'total_tokens']);
  for (const k of Object.keys(x)) expect(Number.isInteger(x[k])).toBe(true);
  expect(x.total_tokens).toBe(x.prompt_tokens + x.completion_tokens);
  expect(Object.keys(details)).toEqual(['cached_tokens']);
  expect(Number.isInteger(details.cached_tokens) && details.cached_tokens >= 0 && details.cached_tokens <= x.prompt_tokens).toBe(true);
}

export function expectChatCompletion(o: any, model: string) {
  common(o, 'chat.completion', model);
  o.choices.forEach((c: any, i: number) => {
    expect(c.index).toBe(i);
    expect(c.message.role).toBe('assistant');
    expect(typeof c.message.content).toBe('string');
    expect(c.message.refusal).toBeNull(); // present: OpenAI's schema requires it
    expect(c.logprobs).toBeNull();
    expect(['stop', 'length']).toContain(c.finish_reason);
  });
  usage(o.usage);
}

export function expectCompletion(o: any, model: string) {
  common(o, 'text_completion', model);
  o.choices.forEach((c: any, i: number) => {
    expect(c.index).toBe(i);
    expect(typeof c.text).toBe('string');
    expect(c.logprobs).toBeNull();
    expect(['stop', 'length']).toContain(c.finish_reason);
  });
  usage(o.usage);
}

/** A whole chat stream: role first, content deltas, one finish_reason last, one id throughout. */
export function expectChatStream(chunks: any[], model: string): string {
  expect(chunks.length).toBeGreaterThan(1);
  const id = chunks[0].id;
  let text = '';
  let finished = 0;
  chunks.forEach((ch, i) => {
    common(ch, 'chat.completion.chunk', model);
    expect(ch.id).toBe(id);
    if (ch.choices.length === 0) {
      usage(ch.usage);
      return;
    }
    const c = ch.choices[0];
    expect(c.index).toBe(0);
    if (i === 0) expect(c.delta.role).toBe('assistant');
    else expect(c.delta.role).toBeUndefined();
    if (c.delta.content !== undefined) text += c.delta.content;
    if (c.finish_reason !== null) {
      expect(['stop', 'length']).toContain(c.finish_reason);
      finished++;
    }
  });
  expect(finished).toBe(1);
  return text;
}

export function expectCompletionStream(chunks: any[], model: string): string {
  expect(chunks.length).toBeGreaterThan(1);
  let text = '';
  let finished = 0;
  for (const ch of chunks) {
    common(ch, 'text_completion', model);
    expect(ch.id).toBe(chunks[0].id);
    if (ch.choices.length === 0) {
      usage(ch.usage);
      continue;
    }
    text += ch.choices[0].text;
    if (ch.choices[0].finish_reason !== null) finished++;
  }
  expect(finished).toBe(1);
  return text;
}
