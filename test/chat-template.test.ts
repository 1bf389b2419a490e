/** Every real chat template in test/fixtures/real renders a conversation exactly as its model expects. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FALLBACK_TEMPLATE, renderChat } from '../src/chat/template.js';
import { FIXTURES } from './helpers/paths.js';

const read = (p: string) => readFileSync(join(FIXTURES, p), 'utf8');
const fromConfig = (p: string) => JSON.parse(read(p)).chat_template as string;

const conversation = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hi!' },
  { role: 'assistant', content: 'Hello.' },
  { role: 'user', content: 'Bye?' },
];
const chatml =
  '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye?<|im_end|>\n<|im_start|>assistant\n';

const CASES: [string, string, string][] = [
  ['phi-3.5-mini-instruct', fromConfig('phi-3.5-mini-instruct/tokenizer_config.json'), '<|system|>\nYou are terse.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nBye?<|end|>\n<|assistant|>\n'],
  ['smollm2-135m-instruct', read('smollm2-135m-instruct/chat_template.jinja'), chatml],
  ['deepseek-r1-distill-qwen', fromConfig('deepseek-r1-distill-qwen/tokenizer_config.json'), '<s>You are terse.<｜User｜>Hi!<｜Assistant｜>Hello.<｜end▁of▁sentence｜><｜User｜>Bye?<｜Assistant｜>'],
  ['qwen2.5-coder (onnx export)', fromConfig('qwen2.5-coder-onnx/tokenizer_config.json'), chatml],
  ['qwen2.5-0.5b-instruct', read('chat-templates/qwen2.5-0.5b-instruct.jinja'), chatml],
  ['qwen3-0.6b', read('chat-templates/qwen3-0.6b.jinja'), chatml],
  [
    'llama-3.2-3b-instruct',
    read('chat-templates/llama-3.2-3b-instruct.jinja'),
    '<s><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Nov 2026\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  ],
  // Gemma folds the system prompt into the first user turn and calls the assistant "model".
  ['gemma-3-1b-it', read('chat-templates/gemma-3-1b-it.jinja'), '<s><start_of_turn>user\nYou are terse.\n\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n<start_of_turn>user\nBye?<end_of_turn>\n<start_of_turn>model\n'],
];

describe.each(CASES)('%s', (_, template, expected) => {
  it('renders the conversation with a generation prompt', () => {
    expect(renderChat(template, conversation, { addGenerationPrompt: true, bosToken: '<s>', eosToken: '</s>', kwargs: { date_string: '26 Nov 2026' } })).toBe(expected);
  });
});

describe('template variables and helpers', () => {
  it('Qwen3 enable_thinking=false closes an empty think block', () => {
    const out = renderChat(read('chat-templates/qwen3-0.6b.jinja'), [{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true, kwargs: { enable_thinking: false } });
    expect(out).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
  });
  it('Qwen2.5 lists tools as JSON in the system turn', () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const out = renderChat(read('chat-templates/qwen2.5-0.5b-instruct.jinja'), [{ role: 'user', content: 'Weather in Paris?' }], { addGenerationPrompt: true, tools });
    expect(out).toContain('<tools>\n{"type": "function", "function": {"name": "get_weather"');
    expect(out.endsWith('<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n')).toBe(true);
  });
  it('raise_exception surfaces as an error (Gemma rejects non-alternating roles)', () => {
    expect(() => renderChat(read('chat-templates/gemma-3-1b-it.jinja'), [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }], { addGenerationPrompt: true })).toThrow(/alternate/);
  });
  it('DeepSeek-R1 strips earlier reasoning from assistant turns', () => {
    const out = renderChat(fromConfig('deepseek-r1-distill-qwen/tokenizer_config.json'), [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: '<think>secret</think>Answer' },
      { role: 'user', content: 'Q2' },
    ], { addGenerationPrompt: true, bosToken: '<s>' });
    expect(out).not.toContain('secret');
    expect(out).toContain('Answer');
  });
  it('the fallback for models without a template is plain "Role: text" lines', () => {
    expect(renderChat(undefined, conversation, { addGenerationPrompt: true })).toBe('System: You are terse.\nUser: Hi!\nAssistant: Hello.\nUser: Bye?\nAssistant:');
    expect(FALLBACK_TEMPLATE).toContain('capitalize');
  });
  it('the fallback lists tools and writes earlier calls as the JSON it teaches', () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
    const out = renderChat(undefined, [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: { x: 1 } } }] },
      { role: 'tool', content: '42', tool_call_id: 'c1' },
    ], { addGenerationPrompt: true, tools });
    expect(out).toBe(`Tools: [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]\nTo call a tool, answer with {"name": <tool name>, "arguments": <its arguments as JSON>}.\nUser: Hi\nAssistant: {"name": "f", "arguments": {"x": 1}}\nTool: 42\nAssistant:`);
  });
});
