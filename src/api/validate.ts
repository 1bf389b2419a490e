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
  checkConstraintFields(body);
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

/** Shapes of the structured-output fields; their contents are checked by compiling them (serving.ts). */
function checkConstraintFields(body: Obj): void {
  const c = new Checker(body);
  const present = (k: string) => body[k] !== undefined && body[k] !== null;
  if (present('guided_json') && typeof body.guided_json !== 'string' && !isObj(body.guided_json))
    throw badRequest(`'guided_json' must be a JSON schema (an object, or a string holding one), got ${typeName(body.guided_json)}`, 'guided_json', 'invalid_type');
  c.string('guided_regex');
  c.string('guided_grammar');
  if (present('guided_choice')) {
    c.stringList('guided_choice', 4096);
    if ((body.guided_choice as string[]).length === 0) throw badRequest("'guided_choice' must hold at least one choice", 'guided_choice');
  }
  if (present('structural_tag') && typeof body.structural_tag !== 'string' && !isObj(body.structural_tag))
    throw badRequest(`'structural_tag' must be an object or a JSON string, got ${typeName(body.structural_tag)}`, 'structural_tag', 'invalid_type');
  c.object('response_format');
  const rf = body.response_format;
  if (isObj(rf)) {
    if (typeof rf.type !== 'string') throw badRequest("'response_format.type' is required ('text', 'json_object' or 'json_schema')", 'response_format.type', 'missing_required_parameter');
    if (!['text', 'json_object', 'json_schema'].includes(rf.type)) throw badRequest(`'response_format.type' must be 'text', 'json_object' or 'json_schema', got ${JSON.stringify(rf.type)}`, 'response_format.type');
    if (rf.type === 'json_schema') {
      if (!isObj(rf.json_schema)) throw badRequest("response_format of type 'json_schema' needs a 'json_schema' object ({name, schema, strict})", 'response_format.json_schema', 'missing_required_parameter');
      const js = new Checker(rf.json_schema);
      js.string('name');
      js.bool('strict');
      if (rf.json_schema.schema !== undefined && rf.json_schema.schema !== null && !isObj(rf.json_schema.schema) && typeof rf.json_schema.schema !== 'boolean')
        throw badRequest("'response_format.json_schema.schema' must be a JSON schema object", 'response_format.json_schema.schema', 'invalid_type');
    }
  }
}

const TOOL_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;

function checkTools(body: Obj): void {
  const tools = body.tools;
  const present = tools !== undefined && tools !== null;
  if (present) {
    if (!Array.isArray(tools)) throw badRequest("'tools' must be a list", 'tools', 'invalid_type');
    const names = new Set<string>();
    tools.forEach((t, i) => {
      const param = `tools[${i}]`;
      if (!isObj(t) || t.type !== 'function' || !isObj(t.function)) throw badRequest(`${param} must be {"type": "function", "function": {"name", "parameters"}}`, param, 'invalid_type');
      const f = t.function;
      if (typeof f.name !== 'string' || !TOOL_NAME.test(f.name)) throw badRequest(`${param}.function.name must be 1 to 64 letters, digits, '_', '.' or '-', got ${JSON.stringify(f.name)}`, `${param}.function.name`);
      if (names.has(f.name)) throw badRequest(`two tools are named '${f.name}'`, `${param}.function.name`);
      names.add(f.name);
      if (f.description !== undefined && f.description !== null && typeof f.description !== 'string') throw badRequest(`${param}.function.description must be a string`, `${param}.function.description`, 'invalid_type');
      if (f.parameters !== undefined && f.parameters !== null && !isObj(f.parameters)) throw badRequest(`${param}.function.parameters must be a JSON schema object`, `${param}.function.parameters`, 'invalid_type');
      new Checker(f).bool('strict');
    });
  }
  const choice = body.tool_choice;
  if (choice !== undefined && choice !== null) {
    const named = isObj(choice) && choice.type === 'function' && isObj(choice.function) && typeof choice.function.name === 'string';
    if (!named && !['none', 'auto', 'required'].includes(choice as string))
      throw badRequest(`'tool_choice' must be 'none', 'auto', 'required' or {"type": "function", "function": {"name"}}, got ${JSON.stringify(choice)}`, 'tool_choice');
    if (choice !== 'none' && !(present && (tools as unknown[]).length)) throw badRequest("'tool_choice' needs 'tools'", 'tool_choice');
  }
  new Checker(body).bool('parallel_tool_calls');
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
  checkTools(body);
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
  if (m.role === 'assistant' && m.tool_calls !== undefined && m.tool_calls !== null) {
    if (!Array.isArray(m.tool_calls)) throw badRequest(`${param}.tool_calls must be a list`, `${param}.tool_calls`, 'invalid_type');
    m.tool_calls.forEach((t, j) => {
      const p = `${param}.tool_calls[${j}]`;
      if (!isObj(t) || !isObj(t.function) || typeof t.function.name !== 'string' || typeof t.function.arguments !== 'string')
        throw badRequest(`${p} must be {"id", "type": "function", "function": {"name", "arguments" (a JSON string)}}`, p, 'invalid_type');
    });
  }
  if (m.role === 'tool' && m.tool_call_id !== undefined && typeof m.tool_call_id !== 'string') throw badRequest(`${param}.tool_call_id must be a string`, `${param}.tool_call_id`, 'invalid_type');
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
