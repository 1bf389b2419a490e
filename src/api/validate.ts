/**
 * Request checking: every known field is type- and range-checked, and a bad one is answered with a
 * 400 naming it (`param`). Fields the engine does not know are ignored, as OpenAI clients send
 * provider-specific extras freely.
 */
import { badRequest } from './errors.js';
import type { ChatCompletionRequest, ChatMessage, CompletionRequest } from './protocol.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

export function parseJsonBody(text: string): Obj {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw badRequest(`request body is not valid JSON: ${(e as Error).message}`, null, 'invalid_json');
  }
  if (!isObj(body)) throw badRequest(`request body must be a JSON object, got ${typeName(body)}`, null, 'invalid_type');
  return body;
}

class Checker {
  constructor(private readonly body: Obj) {}

  private present(key: string): boolean {
    return this.body[key] !== undefined && this.body[key] !== null;
  }

  number(key: string, min: number, max: number, opts: { int?: boolean; exclusiveMin?: boolean } = {}): void {
    if (!this.present(key)) return;
    const v = this.body[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw badRequest(`'${key}' must be a ${opts.int ? 'integer' : 'number'}, got ${typeName(v)}`, key, 'invalid_type');
    if (opts.int && !Number.isInteger(v)) throw badRequest(`'${key}' must be an integer, got ${v}`, key, 'invalid_type');
    if (v < min || v > max || (opts.exclusiveMin && v === min)) throw badRequest(`'${key}' must be ${opts.exclusiveMin ? '>' : '>='} ${min} and <= ${max}, got ${v}`, key);
  }

  bool(key: string): void {
    if (this.present(key) && typeof this.body[key] !== 'boolean') throw badRequest(`'${key}' must be a boolean, got ${typeName(this.body[key])}`, key, 'invalid_type');
  }

  string(key: string): void {
    if (this.present(key) && typeof this.body[key] !== 'string') throw badRequest(`'${key}' must be a string, got ${typeName(this.body[key])}`, key, 'invalid_type');
  }

  object(key: string): void {
    if (this.present(key) && !isObj(this.body[key])) throw badRequest(`'${key}' must be an object, got ${typeName(this.body[key])}`, key, 'invalid_type');
  }

  intList(key: string): void {
    if (!this.present(key)) return;
    const v = this.body[key];
    if (!Array.isArray(v) || !v.every((x) => isInt(x) && x >= 0)) throw badRequest(`'${key}' must be a list of non-negative integer token ids`, key, 'invalid_type');
  }

  stringList(key: string, maxItems: number): void {
    if (!this.present(key)) return;
    const v = this.body[key];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw badRequest(`'${key}' must be a list of strings`, key, 'invalid_type');
    if (v.length > maxItems) throw badRequest(`'${key}' may hold at most ${maxItems} items`, key);
  }
}

/** Fields shared by both endpoints. */
function checkSampling(body: Obj): void {
  const c = new Checker(body);
  c.string('model');
  c.number('frequency_penalty', -2, 2);
  c.number('presence_penalty', -2, 2);
  c.number('repetition_penalty', 0, 1e4, { exclusiveMin: true });
  c.object('logit_bias');
  c.number('max_tokens', 1, 2 ** 31 - 1, { int: true });
  c.number('n', 1, 128, { int: true });
  c.number('seed', -(2 ** 63), 2 ** 64, { int: true });
  c.number('temperature', 0, 2);
  c.number('top_p', 0, 1, { exclusiveMin: true });
  c.number('top_k', -1, 2 ** 31 - 1, { int: true });
  c.number('min_p', 0, 1);
  c.number('min_tokens', 0, 2 ** 31 - 1, { int: true });
  c.number('max_streaming_response_tokens', 1, 2 ** 31 - 1, { int: true });
  c.bool('stream');
  c.object('stream_options');
  if (isObj(body.stream_options)) {
    new Checker(body.stream_options).bool('include_usage');
    new Checker(body.stream_options).bool('continuous_usage_stats');
  }
  c.bool('ignore_eos');
  c.bool('include_stop_str_in_output');
  c.bool('return_token_ids');
  c.string('user');
  c.object('metadata');
  c.intList('stop_token_ids');
  c.intList('prompt_token_ids');
  c.stringList('bad_words', 1024);
  const stop = body.stop;
  if (stop !== undefined && stop !== null) {
    if (typeof stop === 'string') {
      if (stop === '') throw badRequest("'stop' must not be empty", 'stop');
    } else {
      c.stringList('stop', 16);
      if ((stop as string[]).some((s) => s === '')) throw badRequest("'stop' strings must not be empty", 'stop');
    }
  }
}

export function parseChatRequest(body: Obj): ChatCompletionRequest {
  checkSampling(body);
  const c = new Checker(body);
  c.number('max_completion_tokens', 1, 2 ** 31 - 1, { int: true });
  c.bool('logprobs');
  c.number('top_logprobs', 0, 20, { int: true });
  c.bool('disable_chat_template');
  c.bool('add_generation_prompt');
  c.bool('continue_final_message');
  if (body.continue_final_message === true && body.add_generation_prompt === true)
    throw badRequest("'continue_final_message' and 'add_generation_prompt' cannot both be true", 'continue_final_message');
  if (body.tools !== undefined && body.tools !== null && !Array.isArray(body.tools)) throw badRequest("'tools' must be a list", 'tools', 'invalid_type');
  c.object('response_format');
  c.object('chat_template_kwargs');
  c.string('chat_template');
  c.number('reasoning_max_tokens', 1, 2 ** 31 - 1, { int: true });
  const messages = body.messages;
  if (messages === undefined || messages === null) throw badRequest("'messages' is required", 'messages', 'missing_required_parameter');
  if (!Array.isArray(messages)) throw badRequest(`'messages' must be a list, got ${typeName(messages)}`, 'messages', 'invalid_type');
  if (messages.length === 0) throw badRequest("'messages' must not be empty", 'messages');
  if (messages.every(isInt)) return body as unknown as ChatCompletionRequest;
  messages.forEach((m, i) => checkMessage(m, i));
  return body as unknown as ChatCompletionRequest;
}

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'];

function checkMessage(m: unknown, i: number): asserts m is ChatMessage {
  const param = `messages[${i}]`;
  if (!isObj(m)) throw badRequest(`${param} must be an object with 'role' and 'content'`, param, 'invalid_type');
  if (typeof m.role !== 'string' || !ROLES.includes(m.role)) throw badRequest(`${param}.role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(m.role)}`, `${param}.role`);
  const content = m.content;
  if (content === undefined || content === null) {
    if (m.role === 'assistant') return; // an assistant turn may carry only tool calls
    throw badRequest(`${param}.content is required`, `${param}.content`, 'missing_required_parameter');
  }
  if (typeof content === 'string') return;
  if (!Array.isArray(content)) throw badRequest(`${param}.content must be a string or a list of content parts`, `${param}.content`, 'invalid_type');
  content.forEach((part, j) => {
    const p = `${param}.content[${j}]`;
    if (!isObj(part) || typeof part.type !== 'string') throw badRequest(`${p} must be a content part object with a 'type'`, p, 'invalid_type');
    if (part.type !== 'text') throw badRequest(`${p}: content parts of type '${part.type}' are not supported by this model (text only)`, p, 'unsupported_content');
    if (typeof part.text !== 'string') throw badRequest(`${p}.text must be a string`, `${p}.text`, 'invalid_type');
  });
}

export function parseCompletionRequest(body: Obj): CompletionRequest {
  checkSampling(body);
  const c = new Checker(body);
  c.bool('echo');
  c.number('logprobs', 0, 20, { int: true });
  c.number('best_of', 1, 128, { int: true });
  c.string('suffix');
  const prompt = body.prompt;
  if (prompt === undefined || prompt === null) throw badRequest("'prompt' is required", 'prompt', 'missing_required_parameter');
  const ok =
    typeof prompt === 'string' ||
    (Array.isArray(prompt) &&
      prompt.length > 0 &&
      (prompt.every((p) => typeof p === 'string') || prompt.every((p) => isInt(p) && p >= 0) || prompt.every((p) => Array.isArray(p) && p.length > 0 && p.every((t) => isInt(t) && t >= 0))));
  if (!ok) throw badRequest("'prompt' must be a string, a list of strings, a list of token ids, or a list of token-id lists (none empty)", 'prompt', 'invalid_type');
  return body as unknown as CompletionRequest;
}
