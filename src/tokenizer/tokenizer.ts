/**
 * The tokenizer every engine uses: @huggingface/tokenizers driven by a tokenizer.json (shipped by
 * Hugging Face models, or built from GGUF metadata), plus the special-token facts generation needs.
 */
import { Tokenizer } from '@huggingface/tokenizers';

export interface SpecialTokenInfo {
  bosId?: number;
  /** Every id that ends generation: the tokenizer's EOS plus generation_config's eos_token_id list. */
  eosIds: number[];
  addBos: boolean;
}

/** tokenizer_config.json writes special tokens as strings or as `{__type: "AddedToken", content}`. */
export function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** GPT-2's byte-level alphabet: printable stand-ins for each of the 256 byte values. */
function byteLevelDecoder(): Map<string, number> {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = [...bytes];
  let n = 0;
  for (let b = 0; b < 256; b++)
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + n++);
    }
  return new Map(bytes.map((b, i) => [String.fromCodePoint(chars[i]!), b]));
}

function usesByteLevel(decoder: unknown): boolean {
  if (!decoder || typeof decoder !== 'object') return false;
  const d = decoder as { type?: string; decoders?: unknown[] };
  return d.type === 'ByteLevel' || (d.decoders ?? []).some(usesByteLevel);
}

export class TextTokenizer {
  private readonly impl: Tokenizer;
  private readonly byteLevel?: Map<string, number>;
  private readonly utf8 = new TextEncoder();
  readonly bosId?: number;
  readonly eosIds: number[];
  readonly addBos: boolean;
  readonly bosToken?: string;
  readonly eosToken?: string;
  private readonly specialIds: Set<number>;

  constructor(
    /** The tokenizer.json description (kept so a model can be re-exported with its tokenizer). */
    readonly json: Record<string, unknown>,
    readonly config: Record<string, unknown>,
    extraEosIds: number[] = [],
  ) {
    this.impl = new Tokenizer(json, { ...config, bos_token: tokenContent(config.bos_token), eos_token: tokenContent(config.eos_token) });
    this.bosToken = tokenContent(config.bos_token);
    this.eosToken = tokenContent(config.eos_token);
    this.bosId = this.bosToken !== undefined ? this.impl.token_to_id(this.bosToken) : undefined;
    const eos = this.eosToken !== undefined ? this.impl.token_to_id(this.eosToken) : undefined;
    this.eosIds = [...new Set([...(eos !== undefined ? [eos] : []), ...extraEosIds])];
    if (usesByteLevel(json.decoder)) this.byteLevel = byteLevelDecoder();
    this.specialIds = new Set([...this.impl.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
    // A post-processor that inserts BOS is how tokenizer.json says "add BOS"; tokenizer_config may override.
    this.addBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : this.bosId !== undefined && this.impl.encode('a').ids[0] === this.bosId;
  }

  get vocabSize(): number {
    return this.impl.get_vocab(true).size;
  }

  /** Text → ids. `addSpecialTokens` adds BOS (and EOS) as the model's tokenizer config says. */
  encode(text: string, addSpecialTokens = true): number[] {
    const ids = this.impl.encode(text, { add_special_tokens: false }).ids;
    if (addSpecialTokens && this.addBos && this.bosId !== undefined && ids[0] !== this.bosId) ids.unshift(this.bosId);
    return ids;
  }

  decode(ids: number[], skipSpecialTokens = true): string {
    return this.impl.decode(ids, { skip_special_tokens: skipSpecialTokens, clean_up_tokenization_spaces: false });
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  idToToken(id: number): string | undefined {
    return this.impl.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.impl.token_to_id(token);
  }

  /**
   * The raw bytes one token stands for, as OpenAI's logprobs `bytes` report them: byte-fallback
   * pieces (`<0xE6>`) and byte-level pieces give their bytes; SentencePiece's ▁ is a space.
   */
  tokenBytes(id: number): number[] {
    const piece = this.impl.id_to_token(id) ?? '';
    if (this.specialIds.has(id)) return [...this.utf8.encode(piece)];
    if (this.byteLevel) return [...piece].map((ch) => this.byteLevel!.get(ch) ?? 0x3f);
    const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
    if (byte) return [parseInt(byte[1]!, 16)];
    return [...this.utf8.encode(piece.replaceAll('▁', ' '))];
  }

  /** The token as text for logprobs (a partial UTF-8 character shows as U+FFFD). */
  tokenText(id: number): string {
    return new TextDecoder().decode(new Uint8Array(this.tokenBytes(id)));
  }
}

/**
 * Turns a growing list of generated ids into text deltas that never split a UTF-8 character or a
 * multi-token grapheme: text is only released once decoding it no longer ends in U+FFFD. Decoding
 * is done over a short window that starts in the prompt, so tokenizers that strip a leading space
 * at the start of a sequence do not eat the space of the first generated word.
 */
export class StreamingDetokenizer {
  private ids: number[];
  private prefixOffset = 0;
  private readOffset: number;
  private readonly keep: Set<number>;

  constructor(
    private readonly tokenizer: TextTokenizer,
    promptIds: number[],
    /** Special tokens whose text is output (decoding skips special tokens otherwise). */
    keep: number[] = [],
    contextTokens = 6,
  ) {
    this.ids = promptIds.slice(-contextTokens);
    this.readOffset = this.ids.length;
    this.keep = new Set(keep);
  }

  /** Adds one token; returns the text that became final (possibly ''). */
  push(id: number): string {
    if (this.keep.has(id)) {
      const held = this.flush();
      this.ids = [id];
      this.prefixOffset = 0;
      this.readOffset = 1;
      return held + (this.tokenizer.idToToken(id) ?? '');
    }
    this.ids.push(id);
    const prefix = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.tokenizer.decode(this.ids.slice(this.prefixOffset));
    if (full.length > prefix.length && !full.endsWith('\uFFFD')) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      // Keep the window short: decode cost must not grow with the length of the answer.
      if (this.prefixOffset > 64) {
        this.ids = this.ids.slice(this.prefixOffset);
        this.readOffset -= this.prefixOffset;
        this.prefixOffset = 0;
      }
      return full.slice(prefix.length);
    }
    return '';
  }

  /** Whatever is still held back at the end of generation (an incomplete character decodes as U+FFFD). */
  flush(): string {
    const prefix = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.tokenizer.decode(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    return full.length > prefix.length ? full.slice(prefix.length) : '';
  }
}
