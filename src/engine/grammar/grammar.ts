/**
 * Constraints on the generated text (JSON schema, regex, choice, EBNF grammar, structural tag),
 * compiled by xgrammar against the model's vocabulary. A compiled constraint is shared by every
 * request with the same constraint (cached by key); each generated sequence gets its own matcher,
 * which says after every token which tokens may come next (a bitmask of vocab/32 words).
 */
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';
import { capture, freshXgrammar, GrammarSyntaxError, type Xgrammar } from './xgrammar.js';
import type * as XG from '@mlc-ai/web-xgrammar';

export { GrammarSyntaxError } from './xgrammar.js';

export type ConstraintSpec =
  /** A JSON value matching `schema` (a JSON string); without one, any JSON object. */
  | { kind: 'json'; schema?: string }
  | { kind: 'regex'; pattern: string }
  | { kind: 'choice'; choices: string[] }
  /** EBNF as xgrammar reads it (GBNF, llama.cpp's dialect, parses too), root rule `root`. */
  | { kind: 'grammar'; ebnf: string }
  /** xgrammar's structural tag (JSON): free text with tagged, constrained regions. */
  | { kind: 'structural_tag'; tag: string };

/**
 * JSON is written in one layout, Python's json.dumps default: `{"a": 1, "b": [2, 3]}`. Measured
 * with "any whitespace" (at most 16 characters per gap): the trained stories260K model spent its
 * 40-token budget on newlines between a key and its colon, and a random model's answers to a
 * nested schema ran past 160 tokens in 97 of 100 cases. A fixed layout also lets jump-forward
 * write every separator without sampling.
 */
const JSON_LAYOUT = [false, -1, [', ', ': ']] as const;
const CACHE_SIZE = 32;

export const constraintKey = (s: ConstraintSpec): string => JSON.stringify(s);

/**
 * String formats whose xgrammar rule admits more than the format (so validators such as ajv reject
 * the answer), given to it as exact patterns instead: its `date` admits day 31 in every month and
 * 29 February in every year, its `ipv4` leading zeros ("10.0.0.01").
 */
const LEAP = '(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)';
const DATE = `(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))|${LEAP}-02-29)`;

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const EXACT_FORMATS: Record<string, string> = { date: DATE, ipv4: `${OCTET}(?:\\.${OCTET}){3}` };

function exactFormats(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(exactFormats);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'properties' || k === '$defs' || k === 'definitions' ? Object.fromEntries(Object.entries(v as object).map(([n, s]) => [n, exactFormats(s)])) : exactFormats(v);
  const exact = typeof out.format === 'string' ? EXACT_FORMATS[out.format] : undefined;
  if (exact && out.pattern === undefined && (out.type === 'string' || out.type === undefined)) {
    delete out.format;
    out.pattern = `^${exact}$`;
  }
  return out;
}

/**
 * The grammar of a JSON schema: xgrammar's own converter, in JSON_LAYOUT, with two repairs.
 * Exact string formats (see EXACT_FORMATS). And its length-limited strings (`maxLength`,
 * `minLength`) take any character but `"`, `\`, CR and LF, so tabs and other control characters,
 * which JSON forbids unescaped, would get in (measured: 2 answers of 100 from a random model were
 * not JSON): they are given the character class of its unlimited strings, which excludes all.
 */
async function jsonGrammar(xg: Xgrammar, schema: unknown): Promise<string> {
  const ebnf = await xg.Testings._jsonSchemaToEBNF(JSON.stringify(exactFormats(schema)), JSON_LAYOUT[0], JSON_LAYOUT[1], [...JSON_LAYOUT[2]], true);
  return ebnf.replaceAll('[^"\\\\\\r\\n]', '[^\\0-\\x1f"\\\\]');
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a structural tag's shape (xgrammar's formats) so that a malformed one is refused with a
 * message naming the place; xgrammar itself throws exceptions without one.
 */
export function checkStructuralTag(tag: unknown): void {
  const fail = (at: string, what: string): never => {
    throw new GrammarSyntaxError(`${at}: ${what}`);
  };
  const str = (o: Json, k: string, at: string) => typeof o[k] === 'string' || fail(`${at}.${k}`, 'must be a string');
  const list = (o: Json, k: string, at: string) => (Array.isArray(o[k]) ? (o[k] as unknown[]) : fail(`${at}.${k}`, 'must be a list'));
  const format = (f: unknown, at: string): void => {
    if (!isObj(f)) fail(at, 'must be an object with a "type"');
    const o = f as Json;
    switch (o.type) {
      case 'any_text':
        return;
      case 'const_string':
        str(o, 'value', at);
        return;
      case 'json_schema':
      case 'qwen_xml_parameter':
        if (!isObj(o.json_schema) && typeof o.json_schema !== 'boolean') fail(`${at}.json_schema`, 'must be a JSON schema');
        return;
      case 'grammar':
        str(o, 'grammar', at);
        return;
      case 'regex':
        str(o, 'pattern', at);
        return;
      case 'sequence':
      case 'or':
        list(o, 'elements', at).forEach((e, i) => format(e, `${at}.elements[${i}]`));
        return;
      case 'tag':
        str(o, 'begin', at);
        str(o, 'end', at);
        format(o.content, `${at}.content`);
        return;
      case 'triggered_tags':
      case 'tags_with_separator': {
        if (o.type === 'triggered_tags') {
          const triggers = list(o, 'triggers', at);
          if (!triggers.length || !triggers.every((t) => typeof t === 'string' && t)) fail(`${at}.triggers`, 'must be a list of non-empty strings');
        } else str(o, 'separator', at);
        const tags = list(o, 'tags', at);
        if (!tags.length) fail(`${at}.tags`, 'must hold at least one tag');
        tags.forEach((t, i) => {
          if (!isObj(t) || t.type !== 'tag') fail(`${at}.tags[${i}]`, 'must be a {"type": "tag", "begin", "content", "end"}');
          format(t, `${at}.tags[${i}]`);
        });
        return;
      }
      default:
        fail(`${at}.type`, `unknown format ${JSON.stringify(o.type)} (any_text, const_string, json_schema, qwen_xml_parameter, grammar, regex, sequence, or, tag, triggered_tags, tags_with_separator)`);
    }
  };
  if (!isObj(tag)) fail('structural tag', 'must be a JSON object');
  const t = tag as Json;
  if (t.type === 'structural_tag' || t.format !== undefined) format(t.format, 'format');
  else format(t, 'format');
}

/** What xgrammar's vocabulary analysis needs from a tokenizer.json (as its from_huggingface does). */
function vocabType(json: Record<string, unknown>): { type: 'byte_level' | 'byte_fallback' | 'raw'; prependSpace: boolean } {
  const types = (d: unknown): string[] => {
    if (!d || typeof d !== 'object') return [];
    const o = d as { type?: string; decoders?: unknown[]; normalizers?: unknown[] };
    return [o.type ?? '', ...(o.decoders ?? []).flatMap(types), ...(o.normalizers ?? []).flatMap(types)];
  };
  const dec = types(json.decoder);
  const type = dec.includes('ByteLevel') ? 'byte_level' : dec.includes('ByteFallback') ? 'byte_fallback' : 'raw';
  const norm = (d: unknown): boolean => {
    if (!d || typeof d !== 'object') return false;
    const o = d as { type?: string; prepend?: string; normalizers?: unknown[] };
    return (o.type === 'Prepend' && o.prepend === '▁') || (o.normalizers ?? []).some(norm);
  };
  const pre = json.pre_tokenizer as { type?: string; prepend_scheme?: string } | null | undefined;
  const prependSpace = norm(json.normalizer) || (pre?.type === 'Metaspace' && (pre.prepend_scheme === 'always' || pre.prepend_scheme === 'first'));
  return { type, prependSpace };
}

/** One xgrammar instance with this model's vocabulary: a tokenizer info and a compiler. */
interface Instance {
  xg: Xgrammar;
  info: XG.TokenizerInfo;
  compiler: XG.GrammarCompiler;
}

/** Token texts for jump-forward: the longest token that starts a text is found by trying its prefixes. */
export interface Pieces {
  ids: Map<string, number>;
  longest: number;
  /** Each token's bytes, empty for special tokens (what the UTF-8 guard follows). */
  bytes: Uint8Array[];
  /**
   * After these lead bytes the second byte has a narrower range than "any continuation byte":
   * E0 A0-BF, ED 80-9F, F0 90-BF, F4 80-8F. xgrammar checks only the shape of a sequence, so it
   * would let E0 80 (overlong), ED A0 (a surrogate), F0 8x or F4 9x (out of range) through, all
   * of which decode to U+FFFD. A mask per lead byte clears the tokens that start with a byte
   * outside its range (measured: 9 of 100 JSON answers of a random model held one before).
   */
  utf8Guards: Map<number, Int32Array>;
}

const SECOND_BYTE: [number, number, number][] = [
  [0xe0, 0xa0, 0xbf],
  [0xed, 0x80, 0x9f],
  [0xf0, 0x90, 0xbf],
  [0xf4, 0x80, 0x8f],
];

export class GrammarCompiler {
  private instance?: Promise<Instance>;
  private pieces?: Pieces;
  private bytesTable?: Uint8Array[];
  private readonly cache = new Map<string, Promise<CompiledConstraint>>();

  constructor(
    private readonly tokenizer: TextTokenizer,
    /** Rows of the model's logits (may exceed the tokenizer's vocabulary: padding). */
    readonly vocabSize: number,
    /** Special tokens a grammar may spell (tool-call markers such as Mistral's [TOOL_CALLS]). */
    private readonly spelled: number[] = [],
  ) {}

  /**
   * The vocabulary as xgrammar reads it. '' marks a token xgrammar never allows: special tokens
   * other than EOS and `spelled`, and tokens holding a byte that no UTF-8 text contains (C0, C1,
   * F5-FF: xgrammar checks the shape of multi-byte sequences, not their range, so such bytes would
   * decode to U+FFFD).
   */
  private encodedVocab(): string[] {
    const t = this.tokenizer;
    const eos = new Set([...t.eosIds, ...this.spelled]);
    const banned = (b: number) => b === 0xc0 || b === 0xc1 || b >= 0xf5;
    return this.tokenBytes().map((bytes, id) => ((t.isSpecial(id) && !eos.has(id)) || bytes.some(banned) ? '' : (t.idToToken(id) ?? '')));
  }

  /** Every token's bytes, once (the vocabulary, jump-forward and the UTF-8 guard read them). */
  private tokenBytes(): Uint8Array[] {
    const t = this.tokenizer;
    this.bytesTable ??= Array.from({ length: Math.min(t.vocabSize, this.vocabSize) }, (_, id) => (t.isSpecial(id) ? new Uint8Array(0) : Uint8Array.from(t.tokenBytes(id))));
    return this.bytesTable;
  }

  private jumpPieces(): Pieces {
    if (!this.pieces) {
      const bytes = this.tokenBytes();
      const utf8 = new TextDecoder();
      const ids = new Map<string, number>();
      let longest = 0;
      bytes.forEach((b, id) => {
        const text = utf8.decode(b);
        if (!text || text.includes('\uFFFD') || ids.has(text)) return;
        ids.set(text, id);
        longest = Math.max(longest, text.length);
      });
      const utf8Guards = new Map<number, Int32Array>();
      for (const [lead, lo, hi] of SECOND_BYTE) {
        const mask = new Int32Array(Math.ceil(this.vocabSize / 32)).fill(-1);
        bytes.forEach((t, id) => {
          const b = t[0] ?? -1;
          if (b >= 0x80 && b <= 0xbf && (b < lo || b > hi)) mask[id >>> 5]! &= ~(1 << (id & 31));
        });
        utf8Guards.set(lead, mask);
      }
      this.pieces = { ids, longest, bytes, utf8Guards };
    }
    return this.pieces;
  }

  private start(): Promise<Instance> {
    if (!this.instance) {
      const { type, prependSpace } = vocabType(this.tokenizer.json);
      const vocab = this.encodedVocab();
      const p = freshXgrammar(async (xg) => {
        const info = await xg.TokenizerInfo.createTokenizerInfo(vocab, type, prependSpace, this.vocabSize, this.tokenizer.eosIds);
        // Our own cache keeps compiled grammars; xgrammar's would keep every rejected one too.
        const compiler = await xg.GrammarCompiler.createGrammarCompiler(info, false);
        return { info, compiler };
      }).then(({ xg, started }) => ({ xg, ...started }));
      this.instance = p;
      p.catch(() => (this.instance = undefined));
    }
    return this.instance;
  }

  /** Compiles (or finds in the cache) a constraint; a constraint xgrammar rejects throws GrammarSyntaxError. */
  compile(spec: ConstraintSpec): Promise<CompiledConstraint> {
    const key = constraintKey(spec);
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit); // most recently used last
      return hit;
    }
    const p = this.compileNew(spec);
    this.cache.set(key, p);
    p.catch(() => this.cache.delete(key));
    while (this.cache.size > CACHE_SIZE) {
      const [oldest, evicted] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      // WebAssembly objects are not garbage-collected; matchers in use hold their own reference.
      void evicted.then((c) => c.dispose(), () => {});
    }
    return p;
  }

  private async compileNew(spec: ConstraintSpec): Promise<CompiledConstraint> {
    const pending = this.start();
    const inst = await pending;
    const retire = () => {
      // Later compiles get a fresh instance; grammars and matchers of this one keep working.
      if (this.instance === pending) this.instance = undefined;
    };
    const t0 = performance.now();
    const c = inst.compiler;
    const compiled = await capture(async () => {
      switch (spec.kind) {
        case 'json':
          return c.compileGrammar(await jsonGrammar(inst.xg, spec.schema ? JSON.parse(spec.schema) : { type: 'object' }), 'root');
        case 'regex':
          return c.compileStructuralTag({ type: 'structural_tag', format: { type: 'regex', pattern: spec.pattern } });
        case 'choice':
          return c.compileStructuralTag({ type: 'structural_tag', format: { type: 'or', elements: spec.choices.map((value) => ({ type: 'const_string', value })) } });
        case 'grammar':
          return c.compileGrammar(spec.ebnf, 'root');
        case 'structural_tag':
          return this.compileTag(inst.xg, c, spec.tag);
      }
    }, retire);
    return new CompiledConstraint(inst.xg, compiled, this.vocabSize, performance.now() - t0, retire, this.jumpPieces(), () => this.compile(spec));
  }

  /**
   * A structural tag, its JSON regions in the layout of JSON outputs: xgrammar writes a tag's
   * `json_schema` with any whitespace, so each becomes the grammar xgrammar's converter makes for
   * the schema in JSON_LAYOUT.
   */
  private async compileTag(xg: Xgrammar, c: XG.GrammarCompiler, text: string): Promise<XG.CompiledGrammar> {
    const tag = JSON.parse(text) as unknown;
    checkStructuralTag(tag);
    const rewrite = async (v: unknown): Promise<unknown> => {
      if (Array.isArray(v)) return Promise.all(v.map(rewrite));
      if (!isObj(v)) return v;
      if (v.type === 'json_schema') {
        return { type: 'grammar', grammar: await jsonGrammar(xg, v.json_schema === true ? {} : v.json_schema) };
      }
      const out: Json = {};
      for (const [k, x] of Object.entries(v)) out[k] = k === 'json_schema' ? x : await rewrite(x);
      return out;
    };
    return c.compileStructuralTag(JSON.stringify(await rewrite(tag)));
  }
}

export class CompiledConstraint {
  constructor(
    private readonly xg: Xgrammar,
    private readonly compiled: XG.CompiledGrammar,
    readonly vocabSize: number,
    /** Milliseconds the compilation took (0 for later uses of a cached constraint: it is this object). */
    readonly compileMs: number,
    private readonly retire: () => void,
    private readonly pieces: Pieces,
    /** The same constraint compiled again (from the cache, or anew). */
    private readonly recompile: () => Promise<CompiledConstraint>,
  ) {}

  private disposed = false;

  /** Frees the WebAssembly object (they are not garbage-collected); a later matcher() compiles again. */
  dispose(): void {
    this.disposed = true;
    this.compiled.dispose();
  }

  /** A matcher for one sequence; `stopIds` end the text once the grammar is complete. */
  async matcher(stopIds: number[]): Promise<GrammarMatcher> {
    // Evicted from the cache while a request that planned with it waited for its turn.
    if (this.disposed) return (await this.recompile()).matcher(stopIds);
    const m = await capture(() => this.xg.GrammarMatcher.createGrammarMatcher(this.compiled, stopIds.length ? stopIds : undefined), this.retire);
    return new GrammarMatcher(m, this.vocabSize, this.pieces);
  }
}

/** The grammar state of one sequence. */
export class GrammarMatcher {
  constructor(
    private readonly m: XG.GrammarMatcher,
    private readonly vocabSize: number,
    private readonly pieces: Pieces,
  ) {}

  /** The lead byte of a multi-byte character of which only the lead has been generated, if any. */
  private lead?: number;
  /** Continuation bytes the current character still needs. */
  private need = 0;

  /** Advances by one generated token; false if the grammar does not allow it (the state is unchanged). */
  accept(token: number): boolean {
    if (!this.m.acceptToken(token)) return false;
    this.follow(token);
    return true;
  }

  private follow(token: number): void {
    for (const b of this.pieces.bytes[token] ?? []) {
      if (this.need > 0 && b >= 0x80 && b <= 0xbf) {
        this.need--;
        this.lead = undefined;
      } else {
        this.need = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
        this.lead = this.need > 0 ? b : undefined;
      }
    }
  }

  /** True once a stop token was accepted: nothing may follow. */
  get terminated(): boolean {
    return this.m.isTerminated();
  }

  /** The allowed next tokens as bits (bit i of word i/32 set: token i allowed), or undefined when all are allowed. */
  async mask(): Promise<Int32Array | undefined> {
    const mask = await this.m.getNextTokenBitmask();
    const guard = this.lead !== undefined ? this.pieces.utf8Guards.get(this.lead) : undefined;
    if (guard) for (let i = 0; i < mask.length; i++) mask[i]! &= guard[i]!;
    const full = this.vocabSize >>> 5;
    for (let i = 0; i < full; i++) if (mask[i] !== -1) return mask;
    const tail = this.vocabSize & 31;
    const bits = (1 << tail) - 1;
    if (tail && (mask[full]! & bits) !== bits) return mask;
    return undefined;
  }

  /**
   * Advances by text rather than tokens, character by character (xgrammar's test entry point):
   * false as soon as a character is not allowed. Used to check that a text is a valid prefix.
   */
  acceptText(text: string): boolean {
    for (const ch of text) if (!this.m._acceptString(ch)) return false;
    return true;
  }

  /**
   * The only continuation as tokens, already accepted: at each point the longest token that
   * spells the next part of it, up to `limit` tokens (a text no single token starts stops it).
   */
  jumpForwardTokens(limit: number): number[] {
    const text = this.m.findJumpForwardString();
    const out: number[] = [];
    let at = 0;
    while (at < text.length && out.length < limit) {
      let len = Math.min(this.pieces.longest, text.length - at);
      let id: number | undefined;
      for (; len > 0; len--) if ((id = this.pieces.ids.get(text.slice(at, at + len))) !== undefined) break;
      if (id === undefined || !this.accept(id)) break;
      out.push(id);
      at += len;
    }
    return out;
  }

  dispose(): void {
    this.m.dispose();
  }
}

/** Sets to -Infinity the logits of tokens the mask forbids. */
export function applyMask(logits: Float32Array, mask: Int32Array): void {
  for (let i = 0; i < logits.length; i++) if (((mask[i >>> 5]! >>> (i & 31)) & 1) === 0) logits[i] = -Infinity;
}
