/** The tensors a model must provide, with their row-major shapes (Phi-3's fused ones arrive split, model/load.ts). */
import type { ModelConfig } from './config.js';

export function expectedTensors(c: ModelConfig): Map<string, number[]> {
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  const out = new Map<string, number[]>([
    ['token_embd.weight', [c.vocabSize, c.dim]],
    ['output_norm.weight', [c.dim]],
  ]);
  if (!c.tiedEmbeddings) out.set('output.weight', [c.vocabSize, c.dim]);
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blk.${l}.`;
    out.set(p + 'attn_norm.weight', [c.dim]);
    out.set(p + 'attn_q.weight', [qDim, c.dim]);
    out.set(p + 'attn_k.weight', [kvDim, c.dim]);
    out.set(p + 'attn_v.weight', [kvDim, c.dim]);
    out.set(p + 'attn_output.weight', [c.dim, qDim]);
    if (c.qkvBias) {
      out.set(p + 'attn_q.bias', [qDim]);
      out.set(p + 'attn_k.bias', [kvDim]);
      out.set(p + 'attn_v.bias', [kvDim]);
    }
    if (c.qkNorm) {
      out.set(p + 'attn_q_norm.weight', [c.headDim]);
      out.set(p + 'attn_k_norm.weight', [c.headDim]);
    }
    out.set(p + 'ffn_norm.weight', [c.dim]);
    out.set(p + 'ffn_gate.weight', [c.hiddenDim, c.dim]);
    out.set(p + 'ffn_up.weight', [c.hiddenDim, c.dim]);
    out.set(p + 'ffn_down.weight', [c.dim, c.hiddenDim]);
    if (c.postNorms) {
      out.set(p + 'post_attention_norm.weight', [c.dim]);
      out.set(p + 'post_ffw_norm.weight', [c.dim]);
    }
  }
  return out;
}

/** Throws a clear error naming the first missing or mis-shaped tensor. */
export function checkTensors(c: ModelConfig, shapes: Map<string, number[]>): void {
  for (const [name, shape] of expectedTensors(c)) {
    const got = shapes.get(name);
    if (!got) throw new Error(`model is missing tensor ${name}`);
    if (got.join('x') !== shape.join('x')) throw new Error(`tensor ${name} has shape [${got}], expected [${shape}]`);
  }
}
