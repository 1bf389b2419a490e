/**
 * Tool calling: how a model family writes a function call, chosen from its chat template; the
 * structural tag that makes the model write calls in exactly that layout (xgrammar's format,
 * see engine/grammar); and a streaming parser that turns the generated text back into OpenAI
 * `tool_calls` deltas, with everything outside calls left as content.
 *
 * Families (the layouts their templates teach and their documentation records):
 *   hermes    Hermes, Qwen2.5, Qwen3     <tool_call>\n{"name": …, "arguments": …}\n</tool_call>
 *   llama3    Llama 3.1 / 3.2 (JSON)     {"name": …, "parameters": …}  (optionally after <|python_tag|>, several joined by "; ")
 *   mistral   Mistral                    [TOOL_CALLS][{"name": …, "arguments": …}, …]
 *   phi4      Phi-4-mini                 <|tool_call|>[{"name": …, "arguments": …}]<|/tool_call|>
 *   json      anything else              {"name": …, "arguments": …}  (the fallback template teaches it)
 */

export interface ToolFunction {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  strict?: boolean | null;
}

export interface ToolDefinition {
  type: 'function';
  function: ToolFunction;
}

export type ToolFamily = 'hermes' | 'llama3' | 'mistral' | 'phi4' | 'json';

export interface ToolFormat {
  family: ToolFamily;
  /** Markers that open a region of calls. */
  starts: string[];
  /** What closes a region ('' for none: it runs to the end of the text). */
  end: string;
  /** A region may also begin without a marker, when the answer starts with `{` or `[`. */
  bare: boolean;
  /** The key holding the arguments. */
  argsKey: 'arguments' | 'parameters';
  /** One call as the model must write it (begin + arguments + end), for the grammar. */
  begin(name: string): string;
  close: string;
  /** Between two calls when several are made in one answer. */
  separator: string;
  /** Tool-call ids as the family's template accepts them (Mistral's: 9 alphanumerics). */
  idLength: number;
}

/** How a bare JSON call (llama3, json families) begins. */
const BARE_START = '{"name": ';
const BARE_START_RE = /\{\s*"name"\s*:/;

const jsonBegin = (key: string) => (name: string) => `{"name": ${JSON.stringify(name)}, "${key}": `;

const FORMATS: Record<ToolFamily, ToolFormat> = {
  hermes: { family: 'hermes', starts: ['<tool_call>'], end: '</tool_call>', bare: false, argsKey: 'arguments', begin: (n) => `<tool_call>\n${jsonBegin('arguments')(n)}`, close: '}\n</tool_call>', separator: '\n', idLength: 24 },
  llama3: { family: 'llama3', starts: ['<|python_tag|>'], end: '', bare: true, argsKey: 'parameters', begin: jsonBegin('parameters'), close: '}', separator: '; ', idLength: 24 },
  mistral: { family: 'mistral', starts: ['[TOOL_CALLS]'], end: '', bare: false, argsKey: 'arguments', begin: (n) => `[TOOL_CALLS][${jsonBegin('arguments')(n)}`, close: '}]', separator: '', idLength: 9 },
  phi4: { family: 'phi4', starts: ['<|tool_call|>'], end: '<|/tool_call|>', bare: false, argsKey: 'arguments', begin: (n) => `<|tool_call|>[${jsonBegin('arguments')(n)}`, close: '}]<|/tool_call|>', separator: '', idLength: 24 },
  json: { family: 'json', starts: [], end: '', bare: true, argsKey: 'arguments', begin: jsonBegin('arguments'), close: '}', separator: '\n', idLength: 24 },
};

export const toolFormat = (family: ToolFamily): ToolFormat => FORMATS[family];

/** The family a chat template writes calls in (by the markers it teaches the model). */
export function detectToolFamily(template: string | undefined): ToolFamily {
  const t = template ?? '';
  if (t.includes('<tool_call>')) return 'hermes';
  if (t.includes('[TOOL_CALLS]')) return 'mistral';
  if (t.includes('<|tool_call|>')) return 'phi4';
  if (t.includes('<|python_tag|>') || (t.includes('<|start_header_id|>') && t.includes('"parameters"'))) return 'llama3';
  return 'json';
}

/** Special tokens that carry a family's markers and so must reach the parser as text. */
export function markerTexts(family: ToolFamily): string[] {
  const f = FORMATS[family];
  return [...f.starts, ...(f.end ? [f.end] : [])];
}

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

/**
 * The structural tag (xgrammar) that constrains calls: with `auto`, free text until a call's
 * marker, then the call exactly as the family writes it, arguments matching the tool's schema;
 * with `required` or a named function, nothing but calls.
 */
export function toolCallTag(format: ToolFormat, tools: ToolDefinition[], choice: Exclude<ToolChoice, 'none'>, parallel: boolean): Record<string, unknown> {
  const chosen = typeof choice === 'object' ? tools.filter((t) => t.function.name === choice.function.name) : tools;
  const tags = chosen.map((t) => ({
    type: 'tag',
    begin: format.begin(t.function.name),
    content: { type: 'json_schema', json_schema: t.function.parameters ?? { type: 'object' } },
    end: format.close,
  }));
  if (choice === 'auto') {
    // Families that write a bare JSON call start one with `{"name": ` anywhere in the answer.
    const triggers = [...format.starts, ...(format.bare ? [BARE_START] : [])];
    return { type: 'structural_tag', format: { type: 'triggered_tags', triggers, tags, at_least_one: false, stop_after_first: !parallel } };
  }
  // A named function is called once, as OpenAI's models do when one is forced.
  return { type: 'structural_tag', format: { type: 'tags_with_separator', tags, separator: format.separator, at_least_one: true, stop_after_first: !parallel || typeof choice === 'object' } };
}

// ---------------------------------------------------------------- parsing

/** Streamed: the first delta of a call has its index, id, type and name; later ones add to arguments. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

export interface ToolParse {
  content: string;
  calls: ToolCallDelta[];
}

const randomId = (length: number) => {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  const body = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
  return length === 9 ? body : `call_${body}`;
};

/** Scans JSON text char by char: nesting depth, inside a string or not. */
class JsonScanner {
  depth = 0;
  private inString = false;
  private escaped = false;
  /** Feeds one char; true when it closed the value that began at depth 0. */
  push(ch: string): boolean {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (ch === '\\') this.escaped = true;
      else if (ch === '"') this.inString = false;
      return false;
    }
    if (ch === '"') this.inString = true;
    else if (ch === '{' || ch === '[') this.depth++;
    else if (ch === '}' || ch === ']') return --this.depth === 0;
    return false;
  }
  get quiet(): boolean {
    return !this.inString;
  }
}

/** A JSON string literal's body as text, or undefined if it is not valid JSON. */
function jsonString(body: string): string | undefined {
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return undefined;
  }
}

const HEADER = /^\s*\{\s*"name"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"(arguments|parameters)"\s*:\s*/;

/**
 * Streams text in, content and tool-call deltas out. Content that could be the start of a marker
 * is held back until it is known not to be. A call's name goes out as soon as it is read, its
 * arguments as they are generated. A region that turns out not to hold calls goes out as content.
 */
export class ToolCallParser {
  private buf = '';
  private mode: 'content' | 'region' = 'content';
  /** Text of the current region so far (returned as content if it holds no call). */
  private region = '';
  private sawAnyText = false;
  private calls = 0;
  private obj?: { text: string; scanner: JsonScanner; header?: { name: string; argsAt: number }; argsScanner?: JsonScanner; argsDone: boolean; sent: number };
  /** Calls emitted in this region (a region that emitted one is never returned as content). */
  private regionCalls = 0;

  constructor(
    private readonly format: ToolFormat,
    /** Names the model may call; others are not calls. */
    private readonly names: Set<string>,
    /**
     * Stream a call's arguments as they come (the text is grammar-constrained, so a call that
     * starts is well formed). Off: each call is parsed when complete, and one that does not parse
     * stays content.
     */
    private readonly streamArgs = true,
  ) {}

  get callCount(): number {
    return this.calls;
  }

  push(text: string): ToolParse {
    this.buf += text;
    return this.drain(false);
  }

  /** The end of the text: whatever is held back is resolved. */
  flush(): ToolParse {
    return this.drain(true);
  }

  private drain(final: boolean): ToolParse {
    const out: ToolParse = { content: '', calls: [] };
    for (;;) {
      if (this.mode === 'content') {
        const at = this.findStart();
        if (at) {
          out.content += this.buf.slice(0, at.index);
          this.buf = this.buf.slice(at.index + at.marker.length);
          this.mode = 'region';
          this.region = at.marker;
          this.regionCalls = 0;
          continue;
        }
        const keep = final ? 0 : this.holdBack();
        const free = this.buf.slice(0, this.buf.length - keep);
        if (free.trim()) this.sawAnyText = true;
        out.content += free;
        this.buf = this.buf.slice(free.length);
        return out;
      }
      // region: calls, separated by whitespace , ; [ ], until the end marker (or the text's end)
      if (!this.obj) {
        const m = /^[\s,;[\]]*/.exec(this.buf)!;
        this.region += m[0];
        this.buf = this.buf.slice(m[0].length);
        if (this.format.end && this.buf.startsWith(this.format.end)) {
          this.region += this.format.end;
          this.buf = this.buf.slice(this.format.end.length);
          this.endRegion(out, false);
          continue;
        }
        if (this.buf.startsWith('{')) {
          this.obj = { text: '', scanner: new JsonScanner(), argsDone: false, sent: 0 };
          continue;
        }
        if (this.buf === '' || (this.format.end && this.format.end.startsWith(this.buf) && !final)) {
          if (final) this.endRegion(out, true);
          return out;
        }
        // Something that is not a call: the region is over (its text is content if it held none).
        this.endRegion(out, true);
        continue;
      }
      // inside a call object
      const o = this.obj;
      let i = 0;
      let closed = false;
      for (; i < this.buf.length && !closed; i++) {
        const ch = this.buf[i]!;
        o.text += ch;
        if (o.header && !o.argsDone) {
          if (!o.argsScanner && /\s/.test(ch)) {
            o.sent = o.text.length; // whitespace before the arguments is not part of them
            closed = o.scanner.push(ch);
            continue;
          }
          if (!o.argsScanner) o.argsScanner = new JsonScanner();
          const s = o.argsScanner;
          const ended = s.push(ch);
          // A primitive argument value ends at the comma or brace that follows it.
          if (ended || (s.depth === 0 && s.quiet && (ch === ',' || ch === '}') && o.text.length - 1 > o.header.argsAt)) o.argsDone = true;
        }
        closed = o.scanner.push(ch);
        if (!o.header && this.streamArgs) {
          const h = HEADER.exec(o.text);
          const name = h ? jsonString(h[1]!) : undefined;
          if (h && name !== undefined && this.names.has(name)) {
            o.header = { name, argsAt: h[0].length };
            o.sent = h[0].length;
            out.calls.push({ index: this.calls, id: randomId(this.format.idLength), type: 'function', function: { name: o.header.name, arguments: '' } });
            this.calls++;
            this.regionCalls++;
          }
        }
      }
      this.buf = this.buf.slice(i);
      if (o.header) {
        // Arguments stream out as generated, except the character that closed them.
        let upto = o.text.length;
        if (o.argsDone) upto = this.argsEnd(o.text, o.header.argsAt);
        if (upto > o.sent) {
          out.calls.push({ index: this.calls - 1, function: { arguments: o.text.slice(o.sent, upto) } });
          o.sent = upto;
        }
      }
      if (closed) {
        this.region += o.text;
        this.obj = undefined;
        if (!o.header) {
          // Not streamed: keys in another order, or a name we do not know. Parse it whole.
          const call = this.parseWhole(o.text);
          if (call) {
            out.calls.push({ index: this.calls, id: randomId(this.format.idLength), type: 'function', function: call });
            this.calls++;
            this.regionCalls++;
          } else {
            this.endRegion(out, true);
            continue;
          }
        }
        continue;
      }
      if (final) {
        this.region += o.text;
        this.obj = undefined;
        this.endRegion(out, !o.header);
      }
      return out;
    }
  }

  /** Where the arguments end in a closed object's text (the value before the final `}`). */
  private argsEnd(text: string, argsAt: number): number {
    const s = new JsonScanner();
    for (let i = argsAt; i < text.length; i++) {
      const ch = text[i]!;
      if (s.push(ch)) return i + 1;
      if (s.depth === 0 && s.quiet && (ch === ',' || ch === '}') && i > argsAt) return i;
    }
    return text.length;
  }

  private parseWhole(text: string): { name: string; arguments: string } | undefined {
    try {
      const v = JSON.parse(text) as Record<string, unknown>;
      const fn = (typeof v.function === 'object' && v.function !== null ? v.function : v) as Record<string, unknown>;
      const args = fn.arguments ?? fn.parameters;
      if (typeof fn.name !== 'string' || !this.names.has(fn.name) || args === undefined) return undefined;
      return { name: fn.name, arguments: typeof args === 'string' ? args : JSON.stringify(args) };
    } catch {
      return undefined;
    }
  }

  /** Closes the region; without a call in it (`asContent`), its text was never a call: it is content. */
  private endRegion(out: ToolParse, asContent: boolean): void {
    if (asContent && this.regionCalls === 0) out.content += this.region;
    this.region = '';
    this.mode = 'content';
  }

  private findStart(): { index: number; marker: string } | undefined {
    let best: { index: number; marker: string } | undefined;
    for (const m of this.format.starts) {
      const i = this.buf.indexOf(m);
      if (i !== -1 && (!best || i < best.index)) best = { index: i, marker: m };
    }
    if (this.format.bare) {
      // A list of calls at the very start, or one call object anywhere.
      const lead = !this.sawAnyText && this.calls === 0 ? /^\s*(?=\[)/.exec(this.buf) : null;
      const bare = BARE_START_RE.exec(this.buf);
      const at = lead ? lead[0].length : bare ? bare.index : -1;
      if (at !== -1 && (!best || at < best.index)) return { index: at, marker: '' };
    }
    return best;
  }

  /** How much of the buffer's end could still become a marker (or a bare call at the start). */
  private holdBack(): number {
    if (this.format.bare && !this.sawAnyText && this.calls === 0 && /^\s*$/.test(this.buf)) return this.buf.length;
    let keep = 0;
    // A bare call's start may still be arriving: `{`, `{"na`, `{ "name" `…
    if (this.format.bare) {
      const partial = /\{\s*(?:"(?:n(?:a(?:m(?:e(?:"\s*)?)?)?)?)?)?$/.exec(this.buf);
      if (partial) keep = partial[0].length;
    }
    for (const m of this.format.starts)
      for (let k = Math.min(m.length - 1, this.buf.length); k > keep; k--) if (this.buf.endsWith(m.slice(0, k))) keep = k;
    return keep;
  }
}

/** Parses a whole answer: calls that do not parse stay content. */
export function parseToolCalls(format: ToolFormat, names: Iterable<string>, text: string, chunks: string[] = [text], streamArgs = false): { content: string; calls: { id: string; name: string; arguments: string }[] } {
  const p = new ToolCallParser(format, new Set(names), streamArgs);
  const parts = [...chunks.map((c) => p.push(c)), p.flush()];
  const calls: { id: string; name: string; arguments: string }[] = [];
  for (const d of parts.flatMap((x) => x.calls)) {
    if (d.id) calls.push({ id: d.id, name: d.function.name!, arguments: d.function.arguments });
    else calls[d.index]!.arguments += d.function.arguments;
  }
  return { content: parts.map((x) => x.content).join(''), calls };
}
