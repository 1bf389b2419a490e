/**
 * Exports any model webinfer loads (GGUF or a Hugging Face safetensors directory) as an ONNX
 * decoder with a KV cache, in the input/output convention of Hugging Face Optimum and the
 * onnx-community repositories that transformers.js loads:
 *   inputs  input_ids [batch, seq] int64, attention_mask [batch, total] int64,
 *           position_ids [batch, seq] int64 (unless positionIds is false: then derived from the
 *           mask inside the graph, as onnxruntime-genai's model builder does),
 *           past_key_values.{i}.key|value [batch, kv_heads, past, head_dim]
 *   outputs logits [batch, seq, vocab], present.{i}.key|value [batch, kv_heads, total, head_dim]
 * Variants, as onnx-community names them:
 *   fp32   model.onnx        float32 throughout
 *   fp16   model_fp16.onnx   float16 weights, activations, KV cache and logits; RMSNorm and
 *                            softmax computed in float32 (as transformers' fp16 Llama does)
 *   q4     model_q4.onnx     4-bit com.microsoft MatMulNBits (block 32, symmetric, zero point 8)
 *                            with float32 scales, float32 activations; norms stored as float16
 *   q4f16  model_q4f16.onnx  MatMulNBits with float16 scales on float16 activations, otherwise
 *                            as fp16
 * Standard ONNX ops otherwise (opset 17). The output folder has the onnx-community layout:
 * config.json, tokenizer files, onnx/model*.onnx.
 *
 *   npx tsx scripts/export-onnx.ts <model.gguf | hf-dir> <out-dir> [fp32,fp16,q4,q4f16] [--no-position-ids] [--genai | --genai-int32]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { f16ToF32, f32ToF16, toFloat32 } from '../src/formats/dtypes.js';
import type { ModelConfig } from '../src/model/config.js';
import { loadModel, type LoadedModel } from '../src/model/load.js';
import type { ModelSource } from '../src/model/files.js';
import { DataType, model, node, tensor, valueInfo, type AttrValue, type Msg } from './onnx/proto.js';

export type OnnxWeights = 'fp32' | 'fp16' | 'q4' | 'q4f16';
export const ONNX_FILES: Record<OnnxWeights, string> = { fp32: 'model.onnx', fp16: 'model_fp16.onnx', q4: 'model_q4.onnx', q4f16: 'model_q4f16.onnx' };

/** Variants whose activations, KV cache and logits are float16. */
export function isHalf(kind: OnnxWeights): boolean {
  return kind === 'fp16' || kind === 'q4f16';
}

type Weights = Map<string, { shape: number[]; data: Float32Array }>;

class Graph {
  nodes: Msg[] = [];
  initializers: Msg[] = [];
  /** Bytes of initializers stored as external data (when `external` names the side file). */
  externalParts: Uint8Array[] = [];
  private externalBytes = 0;
  private n = 0;
  /** The activations' element type (also the KV cache's and the logits'). */
  readonly act: number;
  constructor(
    readonly weights: OnnxWeights,
    readonly external?: string,
  ) {
    this.act = isHalf(weights) ? DataType.FLOAT16 : DataType.FLOAT;
  }

  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1, domain?: string): string[] {
    const outs = Array.from({ length: outputs }, () => `${type.toLowerCase()}_${this.n++}`);
    this.nodes.push(node(type, inputs, outs, attrs, domain));
    return outs;
  }
  one(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, domain?: string): string {
    return this.op(type, inputs, attrs, 1, domain)[0]!;
  }
  const(name: string, dims: number[], dataType: number, raw: Uint8Array): string {
    if (this.external && raw.length >= 1024) {
      // 64-byte aligned offsets, as the ONNX external-data writers use
      const pad = (64 - (this.externalBytes % 64)) % 64;
      if (pad) this.externalParts.push(new Uint8Array(pad));
      this.externalBytes += pad;
      this.initializers.push(tensor(name, dims, dataType, raw, { location: this.external, offset: this.externalBytes, length: raw.length }));
      this.externalParts.push(raw);
      this.externalBytes += raw.length;
    } else this.initializers.push(tensor(name, dims, dataType, raw));
    return name;
  }
  f32(name: string, dims: number[], v: Float32Array | number[]): string {
    const a = v instanceof Float32Array ? v : Float32Array.from(v);
    return this.const(name, dims, DataType.FLOAT, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  i64(name: string, v: number[]): string {
    return this.const(name, [v.length], DataType.INT64, new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer));
  }
  f16(name: string, dims: number[], v: Float32Array | number[]): string {
    return this.const(name, dims, DataType.FLOAT16, new Uint8Array(Uint16Array.from(v, (x) => f32ToF16(x)).buffer));
  }
  /** A constant in the activations' type. */
  float(name: string, dims: number[], v: Float32Array | number[]): string {
    return this.act === DataType.FLOAT16 ? this.f16(name, dims, v) : this.f32(name, dims, v);
  }
  scalarF(name: string, v: number): string {
    return this.float(name, [], [v]);
  }
  /** x cast to `to` (nothing when it already is). */
  cast(x: string, from: number, to: number): string {
    return from === to ? x : this.one('Cast', [x], { to });
  }

  /** A weight vector (norms, biases) in the activations' type; the q4 variant stores it as float16 cast up. */
  vector(name: string, data: Float32Array): string {
    if (this.weights !== 'q4') return this.float(name, [data.length], data);
    return this.cast(this.f16(name + '.f16', [data.length], data), DataType.FLOAT16, DataType.FLOAT);
  }

  /** x [..., K] × W^T for W [N, K] (row-major, out × in). */
  linear(x: string, name: string, w: { shape: number[]; data: Float32Array }): string {
    const [N, K] = w.shape as [number, number];
    if ((this.weights === 'q4' || this.weights === 'q4f16') && K % 32 === 0) return this.matMulNBits(x, name, w.data, N, K);
    // MatMul wants [K, N]: transpose once at export.
    const t = new Float32Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = w.data[n * K + k]!;
    return this.one('MatMul', [x, this.float(name, [K, N], t)]);
  }

  /** com.microsoft MatMulNBits: B uint8 [N, K/32, 16], two weights per byte (low nibble first), scales [N * K/32] in the activations' type. */
  private matMulNBits(x: string, name: string, w: Float32Array, N: number, K: number): string {
    const { packed, scales } = quantizeNBits(w, N, K, this.act === DataType.FLOAT16);
    this.const(name + '.q4', [N, blocks(K), 16], DataType.UINT8, packed);
    this.float(name + '.scales', [N * blocks(K)], scales);
    return this.one('MatMulNBits', [x, name + '.q4', name + '.scales'], { K, N, bits: 4, block_size: 32 }, 'com.microsoft');
  }

  /**
   * x / sqrt(mean(x^2) + eps) * weight over the last axis; `eps` names a float32 epsilon. Computed
   * in float32 (float16 squares overflow above 256), the product with the weight in the activations' type.
   */
  rmsnorm(x: string, weight: string, eps: string): string {
    const xf = this.cast(x, this.act, DataType.FLOAT);
    const ms = this.one('ReduceMean', [this.one('Mul', [xf, xf])], { axes: [-1], keepdims: 1 });
    const inv = this.one('Reciprocal', [this.one('Sqrt', [this.one('Add', [ms, eps])])]);
    return this.one('Mul', [this.cast(this.one('Mul', [xf, inv]), DataType.FLOAT, this.act), weight]);
  }
}

const blocks = (K: number) => K / 32;

/**
 * 4-bit symmetric block quantisation for MatMulNBits: per 32 weights a scale d mapping the
 * largest magnitude to -8 (rounded to float16 when `halfScales`), q = round(w / d) + 8 in 0..15
 * (the default zero point, 8).
 */
export function quantizeNBits(w: Float32Array, N: number, K: number, halfScales = false): { packed: Uint8Array; scales: Float32Array; dequantized: Float32Array } {
  const nb = blocks(K);
  const packed = new Uint8Array(N * nb * 16);
  const scales = new Float32Array(N * nb);
  const dequantized = new Float32Array(N * K);
  for (let n = 0; n < N; n++)
    for (let b = 0; b < nb; b++) {
      let max = 0;
      for (let j = 0; j < 32; j++) {
        const v = w[n * K + b * 32 + j]!;
        if (Math.abs(v) > Math.abs(max)) max = v;
      }
      const d = halfScales ? f16ToF32(f32ToF16(max / -8)) : Math.fround(max / -8);
      scales[n * nb + b] = d;
      for (let j = 0; j < 32; j++) {
        const q = d === 0 ? 8 : Math.max(0, Math.min(15, Math.round(w[n * K + b * 32 + j]! / d + 8)));
        packed[(n * nb + b) * 16 + (j >> 1)]! |= j & 1 ? q << 4 : q;
        dequantized[n * K + b * 32 + j] = d * (q - 8);
      }
    }
  return { packed, scales, dequantized };
}

/** (cos, sin) of every position × frequency, as two [maxPositions, headDim/2] initializers. */
function ropeTables(g: Graph, c: ModelConfig, maxPositions: number, cosName: string, sinName: string): void {
  const half = c.headDim / 2;
  const cos = new Float32Array(maxPositions * half);
  const sin = new Float32Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++)
    for (let i = 0; i < half; i++) {
      const a = p / (c.ropeTheta ** ((2 * i) / c.headDim) * (c.ropeFreqFactors?.[i] ?? 1));
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  g.float(cosName, [maxPositions, half], cos);
  g.float(sinName, [maxPositions, half], sin);
}

/** Declares layer l's past_key_values inputs and present outputs; returns the past names. */
function layerCache(g: Graph, c: ModelConfig, l: number, inputs: Msg[], outputs: Msg[]): [string, string] {
  const pk = `past_key_values.${l}.key`;
  const pv = `past_key_values.${l}.value`;
  const past = ['batch_size', c.nKvHeads, 'past_sequence_length', c.headDim];
  const present = ['batch_size', c.nKvHeads, 'total_sequence_length', c.headDim];
  inputs.push(valueInfo(pk, g.act, past), valueInfo(pv, g.act, past));
  outputs.push(valueInfo(`present.${l}.key`, g.act, present), valueInfo(`present.${l}.value`, g.act, present));
  return [pk, pv];
}

/** q/k/v projections of layer prefix p (GGUF adjacent-pair q/k rows turned into rotate-half). */
function projector(g: Graph, c: ModelConfig, get: (n: string) => { shape: number[]; data: Float32Array }, p: string, xn: string) {
  return (name: 'attn_q' | 'attn_k' | 'attn_v', heads: number): string => {
    const t = get(`${p}${name}.weight`);
    const data = c.ropeLayout === 'interleaved' && name !== 'attn_v' ? unpermute(t.data, heads, c.headDim, t.shape[1]!) : t.data;
    const y = g.linear(xn, `${p}${name}`, { shape: t.shape, data });
    return c.qkvBias ? g.one('Add', [y, g.vector(`${p}${name}.bias`, get(`${p}${name}.bias`).data)]) : y;
  };
}

/** HF rotate-half rows from GGUF adjacent-pair rows (inverse of llama.cpp's permute). */
function unpermute(data: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < half; i++)
      for (let j = 0; j < 2; j++) {
        const src = h * headDim + 2 * i + j;
        const dst = h * headDim + j * half + i;
        out.set(data.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
  return out;
}

/**
 * `optimum`: standard ONNX ops (attention, RoPE and masks spelled out), position_ids optional.
 * `genai`: the style of onnxruntime-genai's model builder: com.microsoft GroupQueryAttention with
 * rotary embedding inside, SkipSimplifiedLayerNormalization for residual + RMSNorm, no position_ids.
 * `genai-int32`: the same with int32 input_ids and attention_mask, as some model-builder exports have.
 */
export type OnnxStyle = 'optimum' | 'genai' | 'genai-int32';

export interface OnnxFile {
  model: Uint8Array;
  /** The side file's bytes when weights are stored as external data. */
  externalData?: Uint8Array;
}

function finish(g: Graph, bytes: Uint8Array): OnnxFile {
  if (!g.external) return { model: bytes };
  const total = g.externalParts.reduce((a, p) => a + p.length, 0);
  const data = new Uint8Array(total);
  let o = 0;
  for (const p of g.externalParts) {
    data.set(p, o);
    o += p.length;
  }
  return { model: bytes, externalData: data };
}

export function buildDecoder(c: ModelConfig, w: Weights, kind: OnnxWeights, positionIds: boolean, maxPositions: number, style: OnnxStyle = 'optimum', external?: string): OnnxFile {
  if (style !== 'optimum') return buildGenaiDecoder(c, w, kind, maxPositions, external, style === 'genai-int32' ? DataType.INT32 : DataType.INT64);
  const g = new Graph(kind, external);
  const hd = c.headDim;
  const half = hd / 2;
  const rep = c.nHeads / c.nKvHeads;
  const get = (n: string) => {
    const t = w.get(n);
    if (!t) throw new Error(`missing weight ${n}`);
    return t;
  };
  const inputs: Msg[] = [valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length']), valueInfo('attention_mask', DataType.INT64, ['batch_size', 'total_sequence_length'])];
  if (positionIds) inputs.push(valueInfo('position_ids', DataType.INT64, ['batch_size', 'sequence_length']));
  const outputs: Msg[] = [valueInfo('logits', g.act, ['batch_size', 'sequence_length', c.vocabSize])];

  // Constants shared by every layer.
  // Norms, the mask and the softmax work in float32 whatever the activations' type.
  const eps = g.f32('eps', [], [c.normEps]);
  const scale = g.scalarF('attn_scale', 1 / Math.sqrt(hd));
  const negInf = g.f32('mask_min', [], [-3.0e38]);
  const zero = g.f32('zero', [], [0]);
  ropeTables(g, c, maxPositions, 'cos_table', 'sin_table');

  // Positions: given, or the running count of attended tokens (model-builder style).
  let positions = 'position_ids';
  if (!positionIds) {
    const one64 = g.i64('one_i64', [1]);
    const cum = g.one('CumSum', ['attention_mask', g.i64('axis1', [1])]);
    const all = g.one('Sub', [cum, one64]);
    const seq = g.one('Shape', ['input_ids'], { start: 1, end: 2 });
    const total = g.one('Shape', ['attention_mask'], { start: 1, end: 2 });
    positions = g.one('Slice', [all, g.one('Sub', [total, seq]), total, g.i64('axes1', [1])]);
  }
  // Mask [batch, 1, 1, seq, total]: key t is visible to a query at position p when t <= p and attended.
  const total = g.one('Squeeze', [g.one('Shape', ['attention_mask'], { start: 1, end: 2 })]);
  const scalar64 = (name: string, v: number) => g.const(name, [], DataType.INT64, new Uint8Array(BigInt64Array.of(BigInt(v)).buffer));
  const kpos = g.one('Range', [scalar64('zero_s', 0), total, scalar64('one_s', 1)]);
  const causal = g.one('LessOrEqual', [kpos, g.one('Unsqueeze', [positions, g.i64('axes_m1', [-1])])]);
  const attended = g.one('Cast', [g.one('Unsqueeze', ['attention_mask', g.i64('axes_1', [1])])], { to: DataType.BOOL });
  const allowed = g.one('And', [causal, attended]);
  const mask = g.one('Unsqueeze', [g.one('Where', [allowed, zero, negInf]), g.i64('axes_12', [1, 2])]);
  const cosP = g.one('Unsqueeze', [g.one('Gather', ['cos_table', positions]), g.i64('axes_1b', [1])]); // [B,1,S,half]
  const sinP = g.one('Unsqueeze', [g.one('Gather', ['sin_table', positions]), g.i64('axes_1c', [1])]);
  const sh = (name: string, v: number[]) => g.i64(name, v);
  const splitHalf = sh('split_half', [half, half]);
  const rope = (x: string) => {
    const [x1, x2] = g.op('Split', [x, splitHalf], { axis: -1 }, 2) as [string, string];
    const a = g.one('Sub', [g.one('Mul', [x1, cosP]), g.one('Mul', [x2, sinP])]);
    const b = g.one('Add', [g.one('Mul', [x2, cosP]), g.one('Mul', [x1, sinP])]);
    return g.one('Concat', [a, b], { axis: -1 });
  };
  const heads = (x: string, n: number, name: string) => g.one('Transpose', [g.one('Reshape', [x, sh(name, [0, 0, n, hd])])], { perm: [0, 2, 1, 3] }); // [B, n, S, hd]

  let x = g.one('Gather', [g.float('model.embed_tokens.weight', get('token_embd.weight').shape, get('token_embd.weight').data), 'input_ids']);
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blk.${l}.`;
    const [pk, pv] = layerCache(g, c, l, inputs, outputs);
    const xn = g.rmsnorm(x, g.vector(`${p}attn_norm`, get(p + 'attn_norm.weight').data), eps);
    const proj = projector(g, c, get, p, xn);
    let q = heads(proj('attn_q', c.nHeads), c.nHeads, `${p}q_shape`);
    let k = heads(proj('attn_k', c.nKvHeads), c.nKvHeads, `${p}k_shape`);
    const v = heads(proj('attn_v', c.nKvHeads), c.nKvHeads, `${p}v_shape`);
    if (c.qkNorm) {
      q = g.rmsnorm(q, g.vector(`${p}q_norm`, get(p + 'attn_q_norm.weight').data), eps);
      k = g.rmsnorm(k, g.vector(`${p}k_norm`, get(p + 'attn_k_norm.weight').data), eps);
    }
    q = rope(q);
    k = rope(k);
    g.nodes.push(node('Concat', [pk, k], [`present.${l}.key`], { axis: 2 }));
    g.nodes.push(node('Concat', [pv, v], [`present.${l}.value`], { axis: 2 }));
    // Grouped-query attention: the rep query heads of one kv head attend together.
    const qg = g.one('Reshape', [q, sh(`${p}qg_shape`, [0, c.nKvHeads, rep, -1, hd])]); // [B, kvH, rep, S, hd]
    const kt = g.one('Unsqueeze', [g.one('Transpose', [`present.${l}.key`], { perm: [0, 1, 3, 2] }), sh(`${p}axes2`, [2])]); // [B, kvH, 1, hd, T]
    const scores = g.one('Add', [g.cast(g.one('Mul', [g.one('MatMul', [qg, kt]), scale]), g.act, DataType.FLOAT), mask]); // [B, kvH, rep, S, T]
    const probs = g.cast(g.one('Softmax', [scores], { axis: -1 }), DataType.FLOAT, g.act);
    const ctx = g.one('MatMul', [probs, g.one('Unsqueeze', [`present.${l}.value`, sh(`${p}axes2v`, [2])])]); // [B, kvH, rep, S, hd]
    const merged = g.one('Reshape', [g.one('Transpose', [g.one('Reshape', [ctx, sh(`${p}ctx_shape`, [0, c.nHeads, -1, hd])])], { perm: [0, 2, 1, 3] }), sh(`${p}out_shape`, [0, 0, c.nHeads * hd])]);
    x = g.one('Add', [x, g.linear(merged, `${p}attn_output`, get(p + 'attn_output.weight'))]);
    const hn = g.rmsnorm(x, g.vector(`${p}ffn_norm`, get(p + 'ffn_norm.weight').data), eps);
    const gate = g.linear(hn, `${p}ffn_gate`, get(p + 'ffn_gate.weight'));
    const up = g.linear(hn, `${p}ffn_up`, get(p + 'ffn_up.weight'));
    const act = g.one('Mul', [g.one('Mul', [gate, g.one('Sigmoid', [gate])]), up]);
    x = g.one('Add', [x, g.linear(act, `${p}ffn_down`, get(p + 'ffn_down.weight'))]);
  }
  const xf = g.rmsnorm(x, g.vector('output_norm', get('output_norm.weight').data), eps);
  const headW = w.get('output.weight') ?? get('token_embd.weight');
  const logits = g.linear(xf, 'lm_head', headW);
  g.nodes.push(node('Identity', [logits], ['logits']));
  return finish(g, model({ name: 'webinfer-decoder', nodes: g.nodes, inputs, outputs, initializers: g.initializers }, { '': 17, 'com.microsoft': 1 }));
}

function buildGenaiDecoder(c: ModelConfig, w: Weights, kind: OnnxWeights, maxPositions: number, external: string | undefined, ids: number): OnnxFile {
  const g = new Graph(kind, external);
  const hd = c.headDim;
  const MS = 'com.microsoft';
  const get = (n: string) => {
    const t = w.get(n);
    if (!t) throw new Error(`missing weight ${n}`);
    return t;
  };
  const inputs: Msg[] = [valueInfo('input_ids', ids, ['batch_size', 'sequence_length']), valueInfo('attention_mask', ids, ['batch_size', 'total_sequence_length'])];
  const outputs: Msg[] = [valueInfo('logits', g.act, ['batch_size', 'sequence_length', c.vocabSize])];
  ropeTables(g, c, maxPositions, 'cos_cache', 'sin_cache');
  // GroupQueryAttention's sequence inputs: per batch the index of the last attended token, and the total length.
  const one = ids === DataType.INT32 ? g.const('one_k', [1], DataType.INT32, new Uint8Array(Int32Array.of(1).buffer)) : g.i64('one_k', [1]);
  const seqlensK = g.one('Cast', [g.one('Sub', [g.one('ReduceSum', ['attention_mask', g.i64('sum_axes', [1])], { keepdims: 0 }), one])], { to: DataType.INT32 });
  const totalLen = g.one('Cast', [g.one('Squeeze', [g.one('Shape', ['attention_mask'], { start: 1, end: 2 })])], { to: DataType.INT32 });

  let x = g.one('Gather', [g.float('model.embed_tokens.weight', get('token_embd.weight').shape, get('token_embd.weight').data), 'input_ids']);
  let residual = '';
  let xn = g.one('SimplifiedLayerNormalization', [x, g.vector('blk.0.attn_norm', get('blk.0.attn_norm.weight').data)], { axis: -1, epsilon: { float: c.normEps } });
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blk.${l}.`;
    const [pk, pv] = layerCache(g, c, l, inputs, outputs);
    const proj = projector(g, c, get, p, xn);
    let q = proj('attn_q', c.nHeads);
    let k = proj('attn_k', c.nKvHeads);
    const v = proj('attn_v', c.nKvHeads);
    if (c.qkNorm) {
      const headNorm = (t: string, n: number, name: string) =>
        g.one('Reshape', [g.one('SimplifiedLayerNormalization', [g.one('Reshape', [t, g.i64(`${p}${name}_split`, [0, 0, n, hd])]), g.vector(`${p}${name}`, get(`${p}attn_${name}.weight`).data)], { axis: -1, epsilon: { float: c.normEps } }), g.i64(`${p}${name}_merge`, [0, 0, n * hd])]);
      q = headNorm(q, c.nHeads, 'q_norm');
      k = headNorm(k, c.nKvHeads, 'k_norm');
    }
    g.nodes.push(
      node('GroupQueryAttention', [q, k, v, pk, pv, seqlensK, totalLen, 'cos_cache', 'sin_cache'], [`${p}attn`, `present.${l}.key`, `present.${l}.value`], {
        num_heads: c.nHeads,
        kv_num_heads: c.nKvHeads,
        scale: { float: 1 / Math.sqrt(hd) },
        do_rotary: 1,
        rotary_interleaved: 0,
      }, MS),
    );
    const attnOut = g.linear(`${p}attn`, `${p}attn_output`, get(p + 'attn_output.weight'));
    // residual + attention output, then the FFN norm, in one fused op
    const [hn, , , sum] = g.op('SkipSimplifiedLayerNormalization', [attnOut, residual || x, g.vector(`${p}ffn_norm`, get(p + 'ffn_norm.weight').data)], { epsilon: { float: c.normEps } }, 4, MS) as [string, string, string, string];
    residual = sum;
    const gate = g.linear(hn, `${p}ffn_gate`, get(p + 'ffn_gate.weight'));
    const up = g.linear(hn, `${p}ffn_up`, get(p + 'ffn_up.weight'));
    const down = g.linear(g.one('Mul', [g.one('Mul', [gate, g.one('Sigmoid', [gate])]), up]), `${p}ffn_down`, get(p + 'ffn_down.weight'));
    const nextNorm = l + 1 < c.nLayers ? get(`blk.${l + 1}.attn_norm.weight`) : get('output_norm.weight');
    const [n2, , , sum2] = g.op('SkipSimplifiedLayerNormalization', [down, residual, g.vector(l + 1 < c.nLayers ? `blk.${l + 1}.attn_norm` : 'output_norm', nextNorm.data)], { epsilon: { float: c.normEps } }, 4, MS) as [string, string, string, string];
    xn = n2;
    residual = sum2;
    x = residual;
  }
  const headW = w.get('output.weight') ?? get('token_embd.weight');
  g.nodes.push(node('Identity', [g.linear(xn, 'lm_head', headW)], ['logits']));
  return finish(g, model({ name: 'webinfer-decoder-genai', nodes: g.nodes, inputs, outputs, initializers: g.initializers }, { '': 17, 'com.microsoft': 1 }));
}

const HF_ARCH = { llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' } as const;

/** Loads `source` and writes the onnx-community layout to `outDir`; returns the written files. */
/**
 * `externalData`: weights go to `onnx/<file>_data` beside the graph, as large exports ship (ONNX
 * protobuf files cannot exceed 2 GB); 'auto' does so above 1 GB of weights.
 */
export async function exportOnnx(source: ModelSource, outDir: string, kinds: OnnxWeights[] = ['fp32'], positionIds = true, style: OnnxStyle = 'optimum', externalData: boolean | 'auto' = 'auto'): Promise<string[]> {
  const weights: Weights = new Map();
  const m: LoadedModel = await loadModel(source, { tensor: (name, shape, dtype, bytes) => void weights.set(name, { shape, data: toFloat32(dtype, bytes, shape.reduce((a, b) => a * b, 1)) }) });
  const c = m.config;
  if (!(c.arch in HF_ARCH)) throw new Error(`the ONNX exporter writes ${Object.keys(HF_ARCH).join(', ')} models, not ${c.arch}`);
  mkdirSync(join(outDir, 'onnx'), { recursive: true });
  const tok = m.tokenizer;
  writeFileSync(
    join(outDir, 'config.json'),
    JSON.stringify({
      architectures: [HF_ARCH[c.arch as keyof typeof HF_ARCH]],
      model_type: c.arch,
      hidden_size: c.dim,
      intermediate_size: c.hiddenDim,
      num_hidden_layers: c.nLayers,
      num_attention_heads: c.nHeads,
      num_key_value_heads: c.nKvHeads,
      head_dim: c.headDim,
      vocab_size: c.vocabSize,
      max_position_embeddings: c.contextLength,
      rms_norm_eps: c.normEps,
      rope_theta: c.ropeTheta,
      tie_word_embeddings: c.tiedEmbeddings,
      bos_token_id: tok.bosId ?? null,
      eos_token_id: tok.eosIds,
    }, null, 2),
  );
  writeFileSync(join(outDir, 'tokenizer.json'), JSON.stringify(tok.json));
  writeFileSync(join(outDir, 'tokenizer_config.json'), JSON.stringify({ ...tok.config, ...(m.chatTemplate ? { chat_template: m.chatTemplate } : {}) }));
  writeFileSync(join(outDir, 'generation_config.json'), JSON.stringify({ bos_token_id: tok.bosId ?? null, eos_token_id: tok.eosIds }));
  const files = [];
  for (const kind of kinds) {
    const file = join(outDir, 'onnx', ONNX_FILES[kind]);
    const weightBytes = [...weights.values()].reduce((a, t) => a + t.data.byteLength, 0);
    const external = externalData === true || (externalData === 'auto' && weightBytes > 2 ** 30) ? `${ONNX_FILES[kind]}_data` : undefined;
    const out = buildDecoder(c, weights, kind, positionIds, c.contextLength, style, external);
    writeFileSync(file, out.model);
    files.push(file);
    if (out.externalData) {
      writeFileSync(`${file}_data`, out.externalData);
      files.push(`${file}_data`);
    }
  }
  return files;
}

if (process.argv[1] && basename(process.argv[1]).startsWith('export-onnx')) {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const [src, out, kinds] = args;
  if (!src || !out) {
    console.error('usage: tsx scripts/export-onnx.ts <model.gguf | hf-dir> <out-dir> [fp32,fp16,q4,q4f16] [--no-position-ids] [--genai | --genai-int32]');
    process.exit(2);
  }
  const style: OnnxStyle = process.argv.includes('--genai-int32') ? 'genai-int32' : process.argv.includes('--genai') ? 'genai' : 'optimum';
  const files = await exportOnnx(src, out, (kinds ?? 'fp32').split(',') as OnnxWeights[], !process.argv.includes('--no-position-ids'), style);
  console.log(files.join('\n'));
}
