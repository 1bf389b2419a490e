/**
 * Chat templates: the model's own Jinja template (tokenizer_config.json `chat_template`,
 * chat_template.jinja, or GGUF `tokenizer.chat_template`) rendered by @huggingface/jinja with the
 * variables Hugging Face's apply_chat_template provides. Models without a template get a plain
 * documented fallback (FALLBACK_TEMPLATE).
 */
import { Template } from '@huggingface/jinja';

export interface TemplateMessage {
  role: string;
  content: string | null | { type: string; text: string }[];
  [key: string]: unknown;
}

export interface RenderOptions {
  addGenerationPrompt: boolean;
  bosToken?: string;
  eosToken?: string;
  tools?: unknown[];
  /** Extra variables (`chat_template_kwargs`), e.g. `enable_thinking`. */
  kwargs?: Record<string, unknown>;
}

/**
 * Used when a model ships no template (base models such as stories260K): each turn on its own
 * line as "Role: text", then "Assistant:" when a reply is wanted. With tools, a first line lists
 * them and says how to call one (the `json` tool-call layout of chat/tools.ts).
 */
export const FALLBACK_TEMPLATE =
  '{% if tools %}Tools: {{ tools | tojson }}\nTo call a tool, answer with {"name": <tool name>, "arguments": <its arguments as JSON>}.\n{% endif %}' +
  "{% for message in messages %}{{ message['role'] | capitalize }}: {% if message['content'] %}{{ message['content'] }}{% endif %}" +
  // The newline is an expression: templates render with trim_blocks, which eats one after a tag.
  "{% if message['tool_calls'] %}{% for call in message['tool_calls'] %}{{ call['function'] | tojson }}{% endfor %}{% endif %}{{ '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}Assistant:{% endif %}";

const cache = new Map<string, Template>();

export function compileTemplate(source: string): Template {
  let t = cache.get(source);
  if (!t) {
    t = new Template(source);
    if (cache.size > 16) cache.clear();
    cache.set(source, t);
  }
  return t;
}

/**
 * Templates disagree on what `content` is: most concatenate it as a string, multimodal ones (Gemma 3)
 * index it as a list of parts. Render with strings first and, if the template fails, once more with
 * every content as a list of text parts, as vLLM's content-format detection would choose.
 */
export function renderChat(template: string | undefined, messages: TemplateMessage[], o: RenderOptions): string {
  try {
    return renderWith(template, messages, o);
  } catch (first) {
    const asParts = messages.map((m) => (typeof m.content === 'string' ? { ...m, content: [{ type: 'text', text: m.content }] } : m));
    try {
      return renderWith(template, asParts, o);
    } catch {
      throw first;
    }
  }
}

function renderWith(template: string | undefined, messages: TemplateMessage[] | Record<string, unknown>[], o: RenderOptions): string {
  const t = compileTemplate(template ?? FALLBACK_TEMPLATE);
  return t.render({
    ...o.kwargs,
    messages,
    add_generation_prompt: o.addGenerationPrompt,
    bos_token: o.bosToken ?? '',
    eos_token: o.eosToken ?? '',
    ...(o.tools ? { tools: o.tools } : {}),
  });
}
