/**
 * A real GGUF model (the stories260K vocabulary, one llama layer) whose greedy answer to any
 * prompt is a given text: every layer weight is zero, so the final norm sees the token's one-hot
 * embedding, and the output matrix maps each token to the next token of the text (the text's
 * last token to end-of-sequence). Tests use it to make the engine produce exactly what they need
 * to see handled, e.g. markup that must be shown as text and never run.
 *
 * The text is spelled with tokens used once each (a vocabulary piece or a byte token per
 * stretch), since a token's successor is fixed: a depth-first search finds such a spelling.
 */
import { writeFileSync } from 'node:fs';
import { storiesTokenizer, writeFixtureGGUF, type FixtureSpec, type HFWeights } from './make-fixtures.js';

const EOS = 2;

/** Token ids whose concatenated pieces spell `text`, each id used at most once. */
function spell(text: string, pieces: string[]): number[] {
  const candidates = (at: number): number[] => {
    const out: number[] = [];
    pieces.forEach((p, id) => {
      if (id < 3) return;
      const byte = /^<0x([0-9A-F]{2})>$/.exec(p);
      const s = byte ? String.fromCharCode(parseInt(byte[1]!, 16)) : p.replace(/▁/g, ' ');
      if (s && text.startsWith(s, at) && (!byte || parseInt(byte[1]!, 16) < 0x80)) out.push(id);
    });
    return out.sort((a, b) => pieces[b]!.length - pieces[a]!.length);
  };
  const used = new Set<number>();
  const path: number[] = [];
  const search = (at: number): boolean => {
    if (at === text.length) return true;
    for (const id of candidates(at)) {
      if (used.has(id)) continue;
      const p = pieces[id]!;
      const len = /^<0x/.test(p) ? 1 : p.replace(/▁/g, ' ').length;
      used.add(id);
      path.push(id);
      if (search(at + len)) return true;
      used.delete(id);
      path.pop();
    }
    return false;
  };
  if (!search(0)) throw new Error(`cannot spell ${JSON.stringify(text)} with tokens used once each`);
  return path;
}

/** `loop`: the text repeats until max_tokens instead of ending (a model that never stops by itself). */
export async function scriptedModel(text: string, options: { loop?: boolean } = {}): Promise<Uint8Array> {
  const tok = await storiesTokenizer();
  const pieces = (tok.meta['tokenizer.ggml.tokens'] as { value: string[] }).value;
  const vocab = tok.vocab;
  const chain = spell(text, pieces);
  const dim = vocab;
  const spec: FixtureSpec = { name: 'scripted', arch: 'llama', dim, hiddenDim: 8, nLayers: 1, nHeads: 8, nKvHeads: 8, headDim: dim / 8, ropeTheta: 10000, tied: false, seed: 1 };
  const w: HFWeights = new Map();
  const zeros = (name: string, rows: number, cols: number) => w.set(name, { shape: [rows, cols], data: new Float32Array(rows * cols) });
  const ones = (name: string, n: number) => w.set(name, { shape: [n], data: new Float32Array(n).fill(1) });
  const embed = new Float32Array(vocab * dim);
  for (let i = 0; i < vocab; i++) embed[i * dim + i] = 1;
  w.set('model.embed_tokens.weight', { shape: [vocab, dim], data: embed });
  const p = 'model.layers.0.';
  ones(p + 'input_layernorm.weight', dim);
  for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) zeros(`${p}self_attn.${m}.weight`, dim, dim);
  ones(p + 'post_attention_layernorm.weight', dim);
  zeros(p + 'mlp.gate_proj.weight', 8, dim);
  zeros(p + 'mlp.up_proj.weight', 8, dim);
  zeros(p + 'mlp.down_proj.weight', dim, 8);
  ones('model.norm.weight', dim);
  // next[t]: the text's first token after any token outside it; along the text, the next one.
  const next = new Int32Array(vocab).fill(chain[0]!);
  chain.forEach((t, i) => (next[t] = chain[i + 1] ?? (options.loop ? chain[0]! : EOS)));
  const head = new Float32Array(vocab * dim);
  for (let t = 0; t < vocab; t++) head[next[t]! * dim + t] = 1;
  w.set('lm_head.weight', { shape: [vocab, dim], data: head });
  return writeFixtureGGUF(spec, w, tok.meta, 'F32', 4096);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out, ...words] = process.argv.slice(2);
  if (!out || !words.length) throw new Error('usage: tsx scripts/make-scripted-model.ts out.gguf "text"');
  writeFileSync(out, await scriptedModel(words.join(' ')));
}
