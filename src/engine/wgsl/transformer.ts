/**
 * The WGSL forward pass: the same computation as engine/cpu/forward.ts, as a list of GPU ops
 * recorded into one command buffer per step. Every buffer is allocated once, at the largest step
 * size (MAX_STEP tokens); longer prompts are fed in steps. The only CPU round trip of a step is
 * reading back its logits.
 */
import type { ModelConfig } from '../../model/config.js';
import { attentionOps, attentionPartialBytes } from './kernels/attention.js';
import { siluMulOp } from './kernels/elementwise.js';
import { embeddingOps } from './kernels/embedding.js';
import { matmulOps } from './kernels/matmul.js';
import { PipelineCache, type Op } from './kernels/op.js';
import { addNormOp, normRowsOp } from './kernels/rmsnorm.js';
import { ropeStoreOp, ropeTable } from './kernels/rope.js';
import { Sampler, type DeviceSampling } from './kernels/sample.js';
import type { GpuWeights } from './weights.js';
import { OpTimer } from './profile.js';
import type { TokenLogprob } from '../engine.js';

export interface SampledToken {
  token: number;
  logprob?: TokenLogprob;
}

/** Tokens per step: prompt chunks of this size keep every activation buffer small. */
export const MAX_STEP = 64;
/**
 * Steps of up to this many tokens use the matvec kernels (one weight pass per token, from cache)
 * rather than the tiled gemm on GPUs: with few tokens the gemm has too few workgroups to fill one.
 */
const MATVEC_MAX_TOKENS = 32;
/** Rows of logits one step may return (all-positions logits for prompt logprobs). */
const LOGITS_BYTES = 32 * 1024 * 1024;

interface LayerOps {
  pre: Op[]; // (residual add +) attention norm
  qkv: { matvec: Op[]; gemm: Op[] };
  qkNorm: Op[];
  rope: Op[]; // rope q and k, store k/v
  attention: Op[];
  out: { matvec: Op[]; gemm: Op[] };
  ffnNorm: Op[];
  gateUp: { matvec: Op[]; gemm: Op[] };
  act: Op[];
  down: { matvec: Op[]; gemm: Op[] };
}

function merge(...all: { matvec: Op[]; gemm: Op[] }[]): { matvec: Op[]; gemm: Op[] } {
  return { matvec: all.flatMap((a) => a.matvec), gemm: all.flatMap((a) => a.gemm) };
}

export class WgslTransformer {
  private readonly buffers: GPUBuffer[] = [];
  private stepBuf!: GPUBuffer;
  private tokensBuf!: GPUBuffer;
  private xb!: GPUBuffer;
  private xlast!: GPUBuffer;
  private logits!: GPUBuffer;
  private readback!: GPUBuffer;
  private embed!: Op[];
  private layers: LayerOps[] = [];
  private finalNorm!: Op;
  private head!: { matvec: Op[]; gemm: Op[] };
  private headAll!: { matvec: Op[]; gemm: Op[] };
  private sampler!: Sampler;
  private timer?: OpTimer;
  /** Positions whose logits fit the logits buffer at once. */
  readonly logitRows: number;
  kvBytes = 0;

  private constructor(
    readonly device: GPUDevice,
    readonly c: ModelConfig,
    readonly weights: GpuWeights,
    readonly maxSeq: number,
    readonly cpuBacked: boolean,
  ) {
    this.logitRows = Math.max(1, Math.min(MAX_STEP, Math.floor(LOGITS_BYTES / (c.vocabSize * 4))));
  }

  static async create(device: GPUDevice, c: ModelConfig, weights: GpuWeights, maxSeq: number, cpuBacked = false): Promise<WgslTransformer> {
    const t = new WgslTransformer(device, c, weights, maxSeq, cpuBacked);
    await t.build();
    return t;
  }

  private buffer(floats: number, label: string, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST): GPUBuffer {
    const b = this.device.createBuffer({ size: Math.max(16, floats * 4), usage, label });
    this.buffers.push(b);
    return b;
  }

  private async build(): Promise<void> {
    const { device, c, weights: w } = this;
    const cache = new PipelineCache(device);
    const T = MAX_STEP;
    const qDim = c.nHeads * c.headDim;
    const kvDim = c.nKvHeads * c.headDim;
    const step = (this.stepBuf = this.buffer(4, 'step', GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST));
    this.tokensBuf = this.buffer(T, 'tokens');
    const x = this.buffer(T * c.dim, 'x'); // residual stream
    const xb = (this.xb = this.buffer(T * c.dim, 'xb')); // normed input of a sub-layer
    const q = this.buffer(T * qDim, 'q');
    const k = this.buffer(T * kvDim, 'k');
    const v = this.buffer(T * kvDim, 'v');
    const att = this.buffer(T * qDim, 'att');
    const o = this.buffer(T * c.dim, 'o'); // sub-layer output, added to x by the next norm
    const g = this.buffer(T * c.hiddenDim, 'gate');
    const u = this.buffer(T * c.hiddenDim, 'up');
    const partial = this.buffer(attentionPartialBytes(c.nHeads, c.headDim, this.maxSeq, T) / 4, 'attention.partial');
    this.xlast = this.buffer(c.dim, 'xlast');
    this.logits = this.buffer(this.logitRows * c.vocabSize, 'logits');
    this.readback = this.buffer(Math.max(48, this.logitRows * c.vocabSize), 'logits.readback', GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    const dummy = this.buffer(4, 'dummy');
    const table = ropeTable(c, this.maxSeq);
    const trig = this.buffer(table.length, 'rope_table');
    device.queue.writeBuffer(trig, 0, table);
    const neox = c.ropeLayout === 'neox';

    const mm = (name: string, xIn: GPUBuffer, y: GPUBuffer, extra: { bias?: GPUBuffer; tokens?: number } = {}) => {
      const m = w.matrix(name);
      return matmulOps(cache, { label: name, dtype: m.dtype, K: m.cols, parts: m.parts, x: xIn, y, step, dummy, rowsPerThread: this.cpuBacked, ...extra });
    };
    /** Matrices reading the same input, as one fused dispatch when their storage allows. */
    const mmFused = async (names: string[], name: string, xIn: GPUBuffer, outs: GPUBuffer[], biases?: string[]) => {
      const fused = w.fuse(names, name);
      if (!fused) return merge(...(await Promise.all(names.map((n, i) => mm(n, xIn, outs[i]!, { bias: biases && w.vector(biases[i]!) })))));
      const bias = biases && w.fuseVectors(biases, name.replace(/weight$/, 'bias'));
      const segments = names.map((n, i) => ({ buffer: outs[i]!, rows: this.weights.shapes.get(n)![0]! }));
      return matmulOps(cache, { label: name, dtype: fused.dtype, K: fused.cols, parts: fused.parts, x: xIn, y: outs[0]!, step, dummy, rowsPerThread: this.cpuBacked, bias, segments });
    };
    const emb = w.matrix('token_embd.weight');
    this.embed = await embeddingOps(cache, { dtype: emb.dtype, dim: c.dim, parts: emb.parts, tokens: this.tokensBuf, out: x, step });

    for (let l = 0; l < c.nLayers; l++) {
      const p = `blk.${l}.`;
      const kCache = this.buffer(this.maxSeq * kvDim, `${p}k_cache`);
      const vCache = this.buffer(this.maxSeq * kvDim, `${p}v_cache`);
      this.kvBytes += 2 * kCache.size;
      const qkvBias = c.qkvBias ? ['attn_q.bias', 'attn_k.bias', 'attn_v.bias'].map((n) => p + n) : undefined;
      const [qkv, om, gateUp, dm] = await Promise.all([
        mmFused(['attn_q.weight', 'attn_k.weight', 'attn_v.weight'].map((n) => p + n), p + 'attn_qkv.weight', xb, [q, k, v], qkvBias),
        mm(p + 'attn_output.weight', att, o),
        mmFused([p + 'ffn_gate.weight', p + 'ffn_up.weight'], p + 'ffn_gate_up.weight', xb, [g, u]),
        mm(p + 'ffn_down.weight', g, o),
      ]);
      this.layers.push({
        // Layer 0 starts from the embedding; later layers first add the previous FFN output.
        pre: [await addNormOp(cache, { label: p + 'attn_norm', width: c.dim, eps: c.normEps, x, residual: l > 0 ? o : undefined, weight: w.vector(p + 'attn_norm.weight'), out: xb, step })],
        qkv,
        qkNorm: c.qkNorm
          ? [
              await normRowsOp(cache, { label: p + 'q_norm', width: c.headDim, rowsPerToken: c.nHeads, eps: c.normEps, x: q, weight: w.vector(p + 'attn_q_norm.weight'), step }),
              await normRowsOp(cache, { label: p + 'k_norm', width: c.headDim, rowsPerToken: c.nKvHeads, eps: c.normEps, x: k, weight: w.vector(p + 'attn_k_norm.weight'), step }),
            ]
          : [],
        rope: [await ropeStoreOp(cache, { label: p + 'rope_store', heads: c.nHeads, kvHeads: c.nKvHeads, headDim: c.headDim, neox, q, k, v, kCache, vCache, trig, step })],
        attention: await attentionOps(cache, { label: p + 'attention', heads: c.nHeads, kvHeads: c.nKvHeads, headDim: c.headDim, maxSeq: this.maxSeq, q, kCache, vCache, partial, out: att, step, cpuBacked: this.cpuBacked }),
        out: om,
        ffnNorm: [await addNormOp(cache, { label: p + 'ffn_norm', width: c.dim, eps: c.normEps, x, residual: o, weight: w.vector(p + 'ffn_norm.weight'), out: xb, step })],
        gateUp,
        act: [await siluMulOp(cache, { width: c.hiddenDim, gate: g, up: u, step })],
        down: dm,
      });
    }
    this.finalNorm = await addNormOp(cache, { label: 'output_norm', width: c.dim, eps: c.normEps, x, residual: o, weight: w.vector('output_norm.weight'), out: xb, step });
    const headName = w.matrices.has('output.weight') ? 'output.weight' : 'token_embd.weight';
    this.head = await mm(headName, this.xlast, this.logits, { tokens: 1 });
    this.headAll = await mm(headName, xb, this.logits);
    this.sampler = await Sampler.create(cache, c.vocabSize, this.logits);
  }

  /**
   * Records the forward pass of T tokens: logits of the last token (or of all T) in `logits`.
   * With a timer, every op gets its own timed pass (profiling only).
   */
  private encode(enc: GPUCommandEncoder, T: number, pos0: number, all: boolean, timer?: OpTimer): void {
    let pass: GPUComputePassEncoder | undefined;
    const run = (ops: Op[], tokens = T) => {
      for (const op of ops) {
        if (op.active && !op.active(tokens, pos0)) continue;
        pass ??= timer ? timer.pass(enc, op) : enc.beginComputePass();
        pass.setPipeline(op.pipeline);
        pass.setBindGroup(0, op.bindGroup);
        pass.dispatchWorkgroups(...op.workgroups(tokens, pos0));
        if (timer) endPass();
      }
    };
    const endPass = () => {
      pass?.end();
      pass = undefined;
    };
    const matvec = T === 1 || (T <= MATVEC_MAX_TOKENS && !this.cpuBacked);
    const mat = (m: { matvec: Op[]; gemm: Op[] }) => run(matvec ? m.matvec : m.gemm);
    run(this.embed);
    for (const L of this.layers) {
      run(L.pre);
      mat(L.qkv);
      run(L.qkNorm);
      run(L.rope);
      run(L.attention);
      mat(L.out);
      run(L.ffnNorm);
      mat(L.gateUp);
      run(L.act);
      mat(L.down);
    }
    run([this.finalNorm]);
    if (all) {
      mat(this.headAll);
      endPass();
      return;
    }
    endPass();
    enc.copyBufferToBuffer(this.xb, (T - 1) * this.c.dim * 4, this.xlast, 0, this.c.dim * 4);
    run(this.head.matvec, 1);
    endPass();
  }

  /** GPU milliseconds per op label for one sampled step (see profile.ts); the cache is written as by a real step. */
  async profile(tokens: number[], pos0: number, s: DeviceSampling): Promise<Map<string, number>> {
    this.timer ??= new OpTimer(this.device);
    this.sampler.prepare(s);
    const enc = this.begin(tokens, pos0);
    this.encode(enc, tokens.length, pos0, false, this.timer);
    const pass = this.timer.pass(enc, this.sampler.op);
    pass.setPipeline(this.sampler.op.pipeline);
    pass.setBindGroup(0, this.sampler.op.bindGroup);
    pass.dispatchWorkgroups(1);
    pass.end();
    return this.timer.read(enc);
  }

  private begin(tokens: number[], pos0: number): GPUCommandEncoder {
    this.device.queue.writeBuffer(this.stepBuf, 0, new Uint32Array([pos0, tokens.length, 0, 0]));
    this.device.queue.writeBuffer(this.tokensBuf, 0, new Uint32Array(tokens));
    return this.device.createCommandEncoder();
  }

  private async read(enc: GPUCommandEncoder, src: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    enc.copyBufferToBuffer(src, 0, this.readback, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ, 0, bytes);
    const out = this.readback.getMappedRange(0, bytes).slice(0);
    this.readback.unmap();
    return out;
  }

  /**
   * Runs T ≤ MAX_STEP tokens at positions pos0 … and returns the logits of the last one, or of
   * all T when `all` (T ≤ logitRows).
   */
  async step(tokens: number[], pos0: number, all: boolean): Promise<Float32Array> {
    const enc = this.begin(tokens, pos0);
    this.encode(enc, tokens.length, pos0, all);
    return new Float32Array(await this.read(enc, this.logits, (all ? tokens.length : 1) * this.c.vocabSize * 4));
  }

  /** Runs a step and samples its next token on the GPU: only the token (and logprobs) come back. */
  async stepSample(tokens: number[], pos0: number, s: DeviceSampling): Promise<SampledToken> {
    this.sampler.prepare(s);
    const enc = this.begin(tokens, pos0);
    this.encode(enc, tokens.length, pos0, false);
    const pass = enc.beginComputePass();
    pass.setPipeline(this.sampler.op.pipeline);
    pass.setBindGroup(0, this.sampler.op.bindGroup);
    pass.dispatchWorkgroups(1);
    pass.end();
    const out = await this.read(enc, this.sampler.out, this.sampler.outBytes(s));
    const u = new Uint32Array(out);
    const f = new Float32Array(out);
    const token = u[0]!;
    if (s.logprobs === undefined) return { token };
    const top = Array.from({ length: s.logprobs }, (_, i) => ({ id: u[2 + 2 * i]!, logprob: f[3 + 2 * i]! }));
    return { token, logprob: { id: token, logprob: f[1]!, top } };
  }

  /** Starts a request's penalty state on the GPU. */
  resetSampler(prompt: number[]): void {
    this.sampler.reset(prompt);
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
    this.timer?.destroy();
    this.weights.destroy();
  }
}
