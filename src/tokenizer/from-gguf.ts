/**
 * Builds a Hugging Face tokenizer.json description from GGUF tokenizer metadata, so that one
 * tokenizer implementation (@huggingface/tokenizers) serves GGUF and Hugging Face models alike.
 */
import type { GGUFValue } from '../formats/gguf.js';

/** GGUF `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type). */
const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** Pre-tokenizer regexes that llama.cpp associates with `tokenizer.ggml.pre`. */
const PRE_TOKENIZER_REGEX: Record<string, string> = {
  default: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
  'llama-bpe': "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  qwen2: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};
PRE_TOKENIZER_REGEX.smollm = PRE_TOKENIZER_REGEX.default!;

export interface GGUFTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

function strings(v: GGUFValue | undefined, what: string): string[] {
  if (!Array.isArray(v)) throw new Error(`GGUF tokenizer metadata ${what} is missing`);
  return v.map(String);
}

export function tokenizerFromGGUF(meta: Map<string, GGUFValue>): GGUFTokenizerFiles {
  const model = String(meta.get('tokenizer.ggml.model') ?? '');
  const tokens = strings(meta.get('tokenizer.ggml.tokens'), 'tokenizer.ggml.tokens');
  const types = (meta.get('tokenizer.ggml.token_type') as number[] | undefined) ?? [];
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => {
    if (!(t in vocab)) vocab[t] = i;
  });
  const added_tokens = tokens.flatMap((content, id) =>
    types[id] === TokenType.CONTROL || types[id] === TokenType.USER_DEFINED || types[id] === TokenType.UNKNOWN
      ? [{ id, content, special: types[id] !== TokenType.USER_DEFINED, normalized: false, lstrip: false, rstrip: false, single_word: false }]
      : [],
  );
  const id = (k: string) => (meta.has(k) ? Number(meta.get(k)) : undefined);
  const bos = id('tokenizer.ggml.bos_token_id');
  const eos = id('tokenizer.ggml.eos_token_id');
  const unk = id('tokenizer.ggml.unknown_token_id');
  const addBos = meta.has('tokenizer.ggml.add_bos_token') ? Boolean(meta.get('tokenizer.ggml.add_bos_token')) : model === 'llama';
  const addEos = Boolean(meta.get('tokenizer.ggml.add_eos_token') ?? false);
  const bosToken = bos !== undefined ? tokens[bos] : undefined;
  const eosToken = eos !== undefined ? tokens[eos] : undefined;

  const single: unknown[] = [];
  const specialTokens: Record<string, unknown> = {};
  if (addBos && bosToken !== undefined) {
    single.push({ SpecialToken: { id: bosToken, type_id: 0 } });
    specialTokens[bosToken] = { id: bosToken, ids: [bos], tokens: [bosToken] };
  }
  single.push({ Sequence: { id: 'A', type_id: 0 } });
  if (addEos && eosToken !== undefined) {
    single.push({ SpecialToken: { id: eosToken, type_id: 0 } });
    specialTokens[eosToken] = { id: eosToken, ids: [eos], tokens: [eosToken] };
  }
  const post_processor = { type: 'TemplateProcessing', single, pair: single, special_tokens: specialTokens };

  let tokenizerJson: Record<string, unknown>;
  if (model === 'llama') {
    const scores = (meta.get('tokenizer.ggml.scores') as number[] | undefined) ?? tokens.map((_, i) => -i);
    tokenizerJson = {
      added_tokens,
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'Prepend', prepend: '▁' },
          { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
        ],
      },
      pre_tokenizer: null,
      post_processor,
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          { type: 'Strip', content: ' ', start: 1, stop: 0 },
        ],
      },
      model: {
        type: 'BPE',
        unk_token: unk !== undefined ? tokens[unk] : null,
        fuse_unk: true,
        byte_fallback: true,
        ignore_merges: false,
        vocab,
        merges: mergesFromScores(tokens, scores, types),
      },
    };
  } else if (model === 'gpt2') {
    const pre = String(meta.get('tokenizer.ggml.pre') ?? 'default');
    const regex = PRE_TOKENIZER_REGEX[pre] ?? PRE_TOKENIZER_REGEX.default!;
    const merges = strings(meta.get('tokenizer.ggml.merges'), 'tokenizer.ggml.merges');
    tokenizerJson = {
      added_tokens,
      normalizer: null,
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
        ],
      },
      post_processor,
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      model: { type: 'BPE', unk_token: null, byte_fallback: false, ignore_merges: false, vocab, merges },
    };
  } else {
    throw new Error(`GGUF tokenizer model "${model}" is not supported (llama, gpt2 are)`);
  }
  return {
    tokenizerJson,
    tokenizerConfig: {
      bos_token: bosToken ?? null,
      eos_token: eosToken ?? null,
      add_bos_token: addBos,
      add_eos_token: addEos,
      clean_up_tokenization_spaces: false,
      chat_template: meta.get('tokenizer.chat_template'),
    },
  };
}

/**
 * SentencePiece BPE merges by score: every way to split a vocabulary piece into two pieces that are
 * both in the vocabulary is a merge, ranked by the merged piece's score (higher merges first). This
 * is the order llama.cpp and llama2.c apply when they repeatedly merge the best-scoring pair.
 */
function mergesFromScores(tokens: string[], scores: number[], types: number[]): [string, string][] {
  const normal = (i: number) => types[i] === undefined || types[i] === TokenType.NORMAL || types[i] === TokenType.USER_DEFINED;
  const index = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (normal(i) && !index.has(t)) index.set(t, i);
  });
  const merges: { pair: [string, string]; score: number; id: number; left: number }[] = [];
  for (const [piece, id] of index) {
    const chars = Array.from(piece);
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      const li = index.get(left);
      if (li !== undefined && index.has(right)) merges.push({ pair: [left, right], score: scores[id] ?? 0, id, left: li });
    }
  }
  merges.sort((a, b) => b.score - a.score || a.id - b.id || a.left - b.left);
  return merges.map((m) => m.pair);
}
