/**
 * Converts a llama2.c checkpoint and its tokenizer into a standard GGUF file (llama architecture,
 * F32 weights, SentencePiece tokenizer in the metadata) that llama.cpp and webinfer both load.
 *
 *   npx tsx scripts/convert-llama2c.ts <model.bin> <tokenizer.bin> <out.gguf> [name]
 *
 * Weight layout: llama2.c already rotates adjacent (2i, 2i+1) pairs, which is GGUF llama's RoPE
 * layout, so q/k are written unchanged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fromFloat32 } from '../src/formats/dtypes.js';
import { writeGGUF, type GGUFTensorInput, type GGUFTypedValue } from '../src/formats/gguf.js';

export function convertLlama2c(modelBytes: Uint8Array, tokenizerBytes: Uint8Array, name: string): Uint8Array {
  const view = new DataView(modelBytes.buffer, modelBytes.byteOffset, modelBytes.byteLength);
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true)) as number[] as [number, number, number, number, number, number, number];
  const shared = rawVocab > 0;
  const vocab = Math.abs(rawVocab);
  const headSize = dim / nHeads;
  const kvDim = nKvHeads * headSize;

  let offset = 28;
  const take = (count: number): Float32Array => {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + i * 4, true);
    offset += count * 4;
    return out;
  };
  // Order of the llama2.c checkpoint (run.c memory_map_weights).
  const tokEmbd = take(vocab * dim);
  const attnNorm = take(nLayers * dim);
  const wq = take(nLayers * dim * dim);
  const wk = take(nLayers * kvDim * dim);
  const wv = take(nLayers * kvDim * dim);
  const wo = take(nLayers * dim * dim);
  const ffnNorm = take(nLayers * dim);
  const w1 = take(nLayers * hiddenDim * dim);
  const w2 = take(nLayers * dim * hiddenDim);
  const w3 = take(nLayers * hiddenDim * dim);
  const outNorm = take(dim);
  offset += seqLen * headSize * 4; // legacy freq_cis_real, unused
  const classifier = shared ? undefined : take(vocab * dim);

  const tensors: GGUFTensorInput[] = [];
  // dims are ggml order: [in_features, out_features] for a (out, in) row-major matrix.
  const add = (n: string, dims: number[], data: Float32Array) => tensors.push({ name: n, dims, dtype: 'F32', bytes: fromFloat32('F32', data) });
  const layer = (all: Float32Array, l: number, size: number) => all.subarray(l * size, (l + 1) * size);
  add('token_embd.weight', [dim, vocab], tokEmbd);
  for (let l = 0; l < nLayers; l++) {
    add(`blk.${l}.attn_norm.weight`, [dim], layer(attnNorm, l, dim));
    add(`blk.${l}.attn_q.weight`, [dim, dim], layer(wq, l, dim * dim));
    add(`blk.${l}.attn_k.weight`, [dim, kvDim], layer(wk, l, kvDim * dim));
    add(`blk.${l}.attn_v.weight`, [dim, kvDim], layer(wv, l, kvDim * dim));
    add(`blk.${l}.attn_output.weight`, [dim, dim], layer(wo, l, dim * dim));
    add(`blk.${l}.ffn_norm.weight`, [dim], layer(ffnNorm, l, dim));
    add(`blk.${l}.ffn_gate.weight`, [dim, hiddenDim], layer(w1, l, hiddenDim * dim));
    add(`blk.${l}.ffn_down.weight`, [hiddenDim, dim], layer(w2, l, dim * hiddenDim));
    add(`blk.${l}.ffn_up.weight`, [dim, hiddenDim], layer(w3, l, hiddenDim * dim));
  }
  add('output_norm.weight', [dim], outNorm);
  if (classifier) add('output.weight', [dim, vocab], classifier);

  const tok = readTokenizer(tokenizerBytes, vocab);
  const metadata: Record<string, GGUFTypedValue> = {
    'general.architecture': { type: 'string', value: 'llama' },
    'general.name': { type: 'string', value: name },
    'general.license': { type: 'string', value: 'MIT' },
    'general.source.url': { type: 'string', value: 'https://huggingface.co/karpathy/tinyllamas' },
    'llama.context_length': { type: 'u32', value: seqLen },
    'llama.embedding_length': { type: 'u32', value: dim },
    'llama.feed_forward_length': { type: 'u32', value: hiddenDim },
    'llama.block_count': { type: 'u32', value: nLayers },
    'llama.attention.head_count': { type: 'u32', value: nHeads },
    'llama.attention.head_count_kv': { type: 'u32', value: nKvHeads },
    'llama.attention.layer_norm_rms_epsilon': { type: 'f32', value: 1e-5 },
    'llama.rope.dimension_count': { type: 'u32', value: headSize },
    'llama.rope.freq_base': { type: 'f32', value: 10000 },
    'llama.vocab_size': { type: 'u32', value: vocab },
    'general.file_type': { type: 'u32', value: 0 },
    'tokenizer.ggml.model': { type: 'string', value: 'llama' },
    'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', value: tok.tokens },
    'tokenizer.ggml.scores': { type: 'array', itemType: 'f32', value: tok.scores },
    'tokenizer.ggml.token_type': { type: 'array', itemType: 'i32', value: tok.types },
    'tokenizer.ggml.unknown_token_id': { type: 'u32', value: 0 },
    'tokenizer.ggml.bos_token_id': { type: 'u32', value: 1 },
    'tokenizer.ggml.eos_token_id': { type: 'u32', value: 2 },
    'tokenizer.ggml.add_bos_token': { type: 'bool', value: true },
    'tokenizer.ggml.add_eos_token': { type: 'bool', value: false },
  };
  return writeGGUF(metadata, tensors);
}

/** tok512.bin: int32 max_token_length, then per token: float32 score, int32 length, bytes. */
function readTokenizer(bytes: Uint8Array, vocab: number): { tokens: string[]; scores: Float32Array; types: Int32Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder();
  const tokens: string[] = [];
  const scores = new Float32Array(vocab);
  const types = new Int32Array(vocab);
  let o = 4;
  for (let i = 0; i < vocab; i++) {
    scores[i] = view.getFloat32(o, true);
    const len = view.getInt32(o + 4, true);
    let piece = dec.decode(bytes.subarray(o + 8, o + 8 + len));
    o += 8 + len;
    // llama2.c writes SentencePiece's ▁ as a plain space and wraps BOS/EOS in newlines.
    if (i === 0) [piece, types[i]] = ['<unk>', 2];
    else if (i === 1) [piece, types[i]] = ['<s>', 3];
    else if (i === 2) [piece, types[i]] = ['</s>', 3];
    else if (/^<0x[0-9A-F]{2}>$/.test(piece)) types[i] = 6;
    else {
      piece = piece.replaceAll(' ', '▁');
      types[i] = 1;
    }
    tokens.push(piece);
  }
  return { tokens, scores, types };
}

if (process.argv[1] && basename(process.argv[1]).startsWith('convert-llama2c')) {
  const [model, tokenizer, out, name] = process.argv.slice(2);
  if (!model || !tokenizer || !out) {
    console.error('usage: tsx scripts/convert-llama2c.ts <model.bin> <tokenizer.bin> <out.gguf> [name]');
    process.exit(2);
  }
  const gguf = convertLlama2c(readFileSync(model), readFileSync(tokenizer), name ?? basename(model, '.bin'));
  writeFileSync(out, gguf);
  console.log(`wrote ${out} (${gguf.length} bytes)`);
}
