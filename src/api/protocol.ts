/**
 * Wire types of the OpenAI Chat Completions and Completions APIs, in the order of OpenAI's
 * reference, followed (fenced) by the extensions of FastDeploy's OpenAI-compatible server
 * (../shared/seed). Types only: parsing and checking live in validate.ts.
 */

import type { ToolCallDelta, ToolChoice, ToolDefinition } from '../chat/tools.js';

/** Tool definitions and streamed call deltas are shaped in chat/tools.ts, which builds and parses them. */
export type { ToolCallDelta, ToolChoice, ToolDefinition };

// ================================ OpenAI: shared ================================

export interface StreamOptions {
  include_usage?: boolean;
  // ---- FastDeploy / vLLM extension ----
  continuous_usage_stats?: boolean;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  completion_tokens_details?: { reasoning_tokens?: number };
  /** Prompt positions taken from the prefix cache, not computed again (always present, as OpenAI's). */
  prompt_tokens_details?: { cached_tokens: number };
}

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface TopLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
}

/** Chat logprobs: one entry per generated token. */
export interface ChatLogprobs {
  content: (TopLogprob & { top_logprobs: TopLogprob[] })[];
  refusal: null;
}

/** Legacy completions logprobs (parallel arrays; the first prompt token has no logprob). */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

/** Sampling and stopping fields common to both endpoints, including FastDeploy's extras. */
export interface SamplingFields {
  frequency_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  max_tokens?: number | null;
  n?: number | null;
  presence_penalty?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  stream?: boolean | null;
  stream_options?: StreamOptions | null;
  temperature?: number | null;
  top_p?: number | null;
  user?: string;
  // ---- FastDeploy extensions ----
  top_k?: number | null;
  min_p?: number | null;
  min_tokens?: number | null;
  include_stop_str_in_output?: boolean | null;
  bad_words?: string[] | null;
  repetition_penalty?: number | null;
  stop_token_ids?: number[] | null;
  ignore_eos?: boolean | null;
  guided_json?: string | Record<string, unknown> | null;
  guided_regex?: string | null;
  guided_choice?: string[] | null;
  guided_grammar?: string | null;
  /** Also OpenAI's chat field; accepted on completions too, as vLLM does. */
  response_format?: { type: string; [k: string]: unknown } | null;
  return_token_ids?: boolean | null;
  prompt_token_ids?: number[] | null;
  max_streaming_response_tokens?: number | null;
}

// ================================ OpenAI: chat ================================

export interface ChatContentPart {
  type: 'text';
  text: string;
}

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string | ChatContentPart[] | null;
  name?: string;
  tool_calls?: unknown[];
  tool_call_id?: string;
  // ---- FastDeploy extension ----
  reasoning_content?: string | null;
}

export interface ChatCompletionRequest extends SamplingFields {
  messages: ChatMessage[] | number[];
  model?: string;
  logprobs?: boolean | null;
  max_completion_tokens?: number | null;
  metadata?: Record<string, string> | null;
  parallel_tool_calls?: boolean | null;
  tool_choice?: ToolChoice | null;
  tools?: ToolDefinition[] | null;
  top_logprobs?: number | null;
  // ---- FastDeploy extensions ----
  chat_template_kwargs?: Record<string, unknown> | null;
  reasoning_max_tokens?: number | null;
  structural_tag?: string | Record<string, unknown> | null;
  disable_chat_template?: boolean | null;
  add_generation_prompt?: boolean | null;
  chat_template?: string | null;
  // ---- vLLM extension ----
  continue_final_message?: boolean | null;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatCompletionMessage {
  role: 'assistant';
  content: string | null;
  /** Always present, null: OpenAI's schema requires the property (webinfer never refuses). */
  refusal: null;
  tool_calls?: ToolCall[];
  // ---- FastDeploy extensions ----
  reasoning_content?: string | null;
  prompt_token_ids?: number[] | null;
  completion_token_ids?: number[] | null;
}

export interface ChatCompletionChoice {
  index: number;
  message: ChatCompletionMessage;
  logprobs: ChatLogprobs | null;
  finish_reason: FinishReason | null;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ChatCompletionChoice[];
  usage: Usage;
  system_fingerprint?: string;
}

export interface ChatDelta {
  role?: 'assistant';
  content?: string | null;
  tool_calls?: ToolCallDelta[];
  // ---- FastDeploy extensions ----
  reasoning_content?: string | null;
  prompt_token_ids?: number[] | null;
  completion_token_ids?: number[] | null;
}

export interface ChatCompletionChunkChoice {
  index: number;
  delta: ChatDelta;
  logprobs: ChatLogprobs | null;
  finish_reason: FinishReason | null;
  // ---- FastDeploy extension ----
  arrival_time?: number;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: ChatCompletionChunkChoice[];
  usage?: Usage | null;
  system_fingerprint?: string;
}

// ================================ OpenAI: completions ================================

export interface CompletionRequest extends SamplingFields {
  model?: string;
  prompt: string | string[] | number[] | number[][];
  best_of?: number | null;
  echo?: boolean | null;
  logprobs?: number | null;
  suffix?: string | null;
}

export interface CompletionChoice {
  index: number;
  text: string;
  logprobs: CompletionLogprobs | null;
  finish_reason: FinishReason | null;
  // ---- FastDeploy extensions ----
  prompt_token_ids?: number[] | null;
  completion_token_ids?: number[] | null;
  arrival_time?: number;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: CompletionChoice[];
  usage?: Usage | null;
  system_fingerprint?: string;
}

// ================================ OpenAI: models ================================

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  // ---- vLLM / FastDeploy extensions ----
  root?: string;
  max_model_len?: number;
}
