/**
 * An independent, deliberately naive transformer for checking webinfer: float64, Hugging Face
 * layout and naming (rotate_half RoPE), the whole sequence recomputed at once with a causal mask,
 * no KV cache. It shares no code with src/.
 */
import type { FixtureSpec, HFWeights } from '../../scripts/make-fixtures.js';

type Vec = Float64Array;

function linear(w: HFWeights, name: string, x: Vec, bias?: string): Vec {
  const { shape, data } = w.get(name)!;
  const [rows, cols] = shape as [number, number];
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += data[r * cols + c]! * x[c]!;
    out[r] = s + (bias ? w.get(bias)!.data[r]! : 0);
  }
  return out;
}

function rmsNorm(x: Vec, weight: Float32Array, eps: number): Vec {
  const mean = x.reduce((a, v) => a + v * v, 0) / x.length;
  const inv = 1 / Math.sqrt(mean + eps);
  return x.map((v, i) => v * inv * weight[i]!);
}

function invFreq(spec: FixtureSpec, i: number): number {
  const base = 1 / spec.ropeTheta ** ((2 * i) / spec.headDim);
  const s = spec.ropeScaling;
  if (!s) return base;
  // transformers' _compute_llama3_parameters
  const factor = Number(s.factor), low = Number(s.low_freq_factor), high = Number(s.high_freq_factor), old = Number(s.original_max_position_embeddings);
  const wavelen = (2 * Math.PI) / base;
  if (wavelen < old / high) return base;
  if (wavelen > old / low) return base / factor;
  const smooth = (old / wavelen - low) / (high - low);
  return (1 - smooth) * (base / factor) + smooth * base;
}

function rotateHalf(head: Vec, pos: number, spec: FixtureSpec): Vec {
  const half = spec.headDim / 2;
  const out = new Float64Array(spec.headDim);
  for (let i = 0; i < half; i++) {
    const a = pos * invFreq(spec, i);
    out[i] = head[i]! * Math.cos(a) - head[i + half]! * Math.sin(a);
    out[i + half] = head[i + half]! * Math.cos(a) + head[i]! * Math.sin(a);
  }
  return out;
}

/**
 * Logits [tokens.length][vocab] for every position of `tokens`. `roundKv`, when given, rounds
 * every key (after RoPE) and value element as a cache of another type would store it.
 */
export function referenceLogits(spec: FixtureSpec, w: HFWeights, tokens: number[], roundKv?: (x: number) => number): Float64Array[] {
  const eps = 1e-6;
  const D = spec.dim, hd = spec.headDim;
  const emb = w.get('model.embed_tokens.weight')!;
  let hidden: Vec[] = tokens.map((t) => Float64Array.from(emb.data.subarray(t * D, (t + 1) * D)));
  for (let l = 0; l < spec.nLayers; l++) {
    const p = `model.layers.${l}.`;
    const normed = hidden.map((h) => rmsNorm(h, w.get(p + 'input_layernorm.weight')!.data, eps));
    const bias = spec.arch === 'qwen2';
    const heads = (x: Vec, n: number, norm?: string) =>
      Array.from({ length: n }, (_, h) => {
        const v = x.slice(h * hd, (h + 1) * hd);
        return norm ? rmsNorm(v, w.get(norm)!.data, eps) : v;
      });
    const qs = normed.map((x, pos) => heads(linear(w, p + 'self_attn.q_proj.weight', x, bias ? p + 'self_attn.q_proj.bias' : undefined), spec.nHeads, spec.arch === 'qwen3' ? p + 'self_attn.q_norm.weight' : undefined).map((h) => rotateHalf(h, pos, spec)));
    const kv = (h: Vec) => (roundKv ? h.map(roundKv) : h);
    const ks = normed.map((x, pos) => heads(linear(w, p + 'self_attn.k_proj.weight', x, bias ? p + 'self_attn.k_proj.bias' : undefined), spec.nKvHeads, spec.arch === 'qwen3' ? p + 'self_attn.k_norm.weight' : undefined).map((h) => kv(rotateHalf(h, pos, spec))));
    const vs = normed.map((x) => heads(linear(w, p + 'self_attn.v_proj.weight', x, bias ? p + 'self_attn.v_proj.bias' : undefined), spec.nKvHeads).map(kv));
    const group = spec.nHeads / spec.nKvHeads;
    hidden = hidden.map((h, i) => {
      const attnOut = new Float64Array(spec.nHeads * hd);
      for (let head = 0; head < spec.nHeads; head++) {
        const kvh = Math.floor(head / group);
        const scores = Array.from({ length: i + 1 }, (_, j) => qs[i]![head]!.reduce((a, q, d) => a + q * ks[j]![kvh]![d]!, 0) / Math.sqrt(hd));
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= i; j++) for (let d = 0; d < hd; d++) attnOut[head * hd + d]! += (e[j]! / z) * vs[j]![kvh]![d]!;
      }
      const o = linear(w, p + 'self_attn.o_proj.weight', attnOut);
      const r = h.map((v, d) => v + o[d]!);
      const n2 = rmsNorm(r, w.get(p + 'post_attention_layernorm.weight')!.data, eps);
      const gate = linear(w, p + 'mlp.gate_proj.weight', n2);
      const up = linear(w, p + 'mlp.up_proj.weight', n2);
      const act = gate.map((g, k) => (g / (1 + Math.exp(-g))) * up[k]!);
      const down = linear(w, p + 'mlp.down_proj.weight', act);
      return r.map((v, d) => v + down[d]!);
    });
  }
  const head = spec.tied ? 'model.embed_tokens.weight' : 'lm_head.weight';
  return hidden.map((h) => linear(w, head, rmsNorm(h, w.get('model.norm.weight')!.data, eps)));
}

/** Normalised mean squared error: sum((a-b)^2) / sum(b^2). */
export function nmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return num / den;
}
