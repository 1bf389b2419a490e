/**
 * The WGSL forward pass: the same computation as engine/cpu/forward.ts, as a list of GPU ops
 * recorded into one command buffer per step. Every buffer is allocated once, at the largest step
 * size (MAX_STEP tokens); longer prompts are fed in steps. The only CPU round trip of a step is
 * reading back its logits (or its sampled token). Three op lists exist, by step kind: gemm steps,
 * matvec steps, and on GPUs decode steps with the norms and SiLU folded into the matvecs.
 */
import { attentionWindow, isLocalLayer, layerRope, type ModelConfig } from '../../model/config.js';
import { attentionOps, attentionPartialBytes } from './kernels/attention.js';
import { elementwiseOp, siluMulOp } from './kernels/elementwise.js';
import { embeddingOps } from './kernels/embedding.js';
import { canFoldInput, matmulOps, type MatmulArgs } from './kernels/matmul.js';
import { PipelineCache, type Op } from './kernels/op.js';
import { quantizedWords } from './kernels/quantize.js';
import { addNormOp, normRowsOp } from './kernels/rmsnorm.js';
import { ropeStoreOp, ropeTable } from './kernels/rope.js';
import { Sampler, type DeviceSampling } from './kernels/sample.js';
import { REPACKED_DTYPES, type GpuMatrix, type GpuWeights } from './weights.js';
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
 * CPU-backed adapters have kernels of their own for both (a thread per 4 rows, and per 4 rows x
 * 4 tokens), and use the second for every step of more than one token.
 */
const MATVEC_MAX_TOKENS = 32;
/** Rows of logits one step may return (all-positions logits for prompt logprobs). */
const LOGITS_BYTES = 32 * 1024 * 1024;

type MatOps = { matvec: Op[]; gemm: Op[] };

function merge(...all: MatOps[]): MatOps {
  return { matvec: all.flatMap((a) => a.matvec), gemm: all.flatMap((a) => a.gemm) };
}

/** A weight matrix as the matmul kernels see it: possibly a fusion of several, writing several outputs. */
interface MatrixUse {
  name: string;
  m: GpuMatrix;
  y: GPUBuffer;
  bias?: GPUBuffer;
  segments?: { buffer: GPUBuffer; rows: number }[];
}

export class WgslTransformer {
  private readonly buffers: GPUBuffer[] = [];
  private stepBuf!: GPUBuffer;
  private tokensBuf!: GPUBuffer;
  private x!: GPUBuffer;
  private xb!: GPUBuffer;
  private xlast!: GPUBuffer;
  private logits!: GPUBuffer;
  private readback!: GPUBuffer;
  private embed!: Op[];
  /** Every layer's ops for steps on the matvec kernels (a few tokens on GPUs; decode on CPU-backed adapters). */
  private matvecLayers: Op[] = [];
  /** Decode on GPUs: the matvec ops with norms and SiLU·up folded in (one token: the fold's extra work is small). */
  private decodeLayers?: Op[];
  /** Every layer's ops for steps on the gemm kernels. */
  private gemmLayers: Op[] = [];
  private finalNorm!: Op;
  /** The head on xlast, a normed row. */
  private head!: Op[];
  /** The head with the final norm folded in, on xlast holding the raw residual (GPUs). */
  private headFolded?: Op[];
  private headAll!: MatOps;
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
    const x = (this.x = this.buffer(T * c.dim, 'x')); // residual stream; the output and down projections add into it
    const xb = (this.xb = this.buffer(T * c.dim, 'xb')); // normed input of a sub-layer (unfolded paths)
    const q = this.buffer(T * qDim, 'q');
    const k = this.buffer(T * kvDim, 'k');
    const v = this.buffer(T * kvDim, 'v');
    const att = this.buffer(T * qDim, 'att');
    const g = this.buffer(T * c.hiddenDim, 'gate');
    const u = this.buffer(T * c.hiddenDim, 'up');
    const partial = this.buffer(attentionPartialBytes(c.nHeads, c.headDim, this.maxSeq, T) / 4, 'attention.partial');
    this.xlast = this.buffer(c.dim, 'xlast');
    this.logits = this.buffer(this.logitRows * c.vocabSize, 'logits');
    this.readback = this.buffer(Math.max(48, this.logitRows * c.vocabSize), 'logits.readback', GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    const dummy = this.buffer(4, 'dummy');
    // Integer inputs of the repacked matrices (CPU-backed adapters): one buffer, rewritten before each use.
    const repacked = [...w.matrices.values()].some((m) => REPACKED_DTYPES.has(m.dtype));
    const xq = repacked ? this.buffer(quantizedWords(Math.max(c.dim, qDim, c.hiddenDim), T), 'xq') : undefined;
    // One rotation table per kind of layer (Gemma 3's local layers have their own).
    const tables = new Map<boolean, GPUBuffer>();
    const trigOf = (l: number): GPUBuffer => {
      const local = isLocalLayer(c, l);
      let t = tables.get(local);
      if (!t) {
        const table = ropeTable(layerRope(c, l, this.maxSeq), this.maxSeq);
        t = this.buffer(table.length, local ? 'rope_table.local' : 'rope_table');
        device.queue.writeBuffer(t, 0, table);
        tables.set(local, t);
      }
      return t;
    };
    const neox = c.ropeLayout === 'neox';
    // Gemma normalises each block's output before the residual add: the output and down
    // projections then write into xo, which is normed and added, instead of adding into x.
    const xo = c.postNorms ? this.buffer(T * c.dim, 'xo') : undefined;
    const postNorm = async (label: string, weight: string): Promise<Op[]> => [
      await normRowsOp(cache, { label, width: c.dim, rowsPerToken: 1, eps: c.normEps, x: xo!, weight: w.vector(weight), step, cpuBacked: this.cpuBacked }),
      await elementwiseOp(cache, { kind: 'add', label: `${label}.add`, width: c.dim, x, y: xo!, step }),
    ];
    const gelu = c.ffnAct === 'gelu';
    // On GPUs decode steps fold each RMSNorm into the matmul after it and SiLU·up into the down
    // projection: 6 dispatches per layer instead of 9. (With several tokens the folded input is
    // recomputed per token and row block, which costs more than the dispatches it saves.)
    // Each fold needs its input (dim or hidden floats) in one workgroup's memory.
    const foldNorm = !this.cpuBacked && canFoldInput(device, c.dim);
    // (the fold computes SiLU: GELU models keep the separate activation)
    const foldAct = !this.cpuBacked && !gelu && canFoldInput(device, c.hiddenDim);

    /** Matrices reading the same input (and their outputs): fused into `fusedName` when their storage allows. */
    const use = (names: string[], outs: GPUBuffer[], fusedName?: string, biases?: string[]): MatrixUse[] => {
      const fused = fusedName ? w.fuse(names, fusedName) : undefined;
      if (!fused) return names.map((n, i) => ({ name: n, m: w.matrix(n), y: outs[i]!, bias: biases && w.vector(biases[i]!) }));
      const segments = names.map((n, i) => ({ buffer: outs[i]!, rows: w.shapes.get(n)![0]! }));
      return [{ name: fusedName!, m: fused, y: outs[0]!, segments, bias: biases && w.fuseVectors(biases, fusedName!.replace(/weight$/, 'bias')) }];
    };
    const ops = async (mats: MatrixUse[], xIn: GPUBuffer, extra: Pick<MatmulArgs, 'accumulate' | 'input' | 'tokens'> = {}): Promise<MatOps> =>
      merge(
        ...(await Promise.all(
          mats.map((M) =>
            matmulOps(cache, { label: M.name, dtype: M.m.dtype, K: M.m.cols, parts: M.m.parts, x: xIn, y: M.y, bias: M.bias, segments: M.segments, step, dummy, cpuBacked: this.cpuBacked, xq, ...extra }),
          ),
        )),
      );
    const norm = (label: string, weight: GPUBuffer) => addNormOp(cache, { label, width: c.dim, eps: c.normEps, x, weight, out: xb, step, cpuBacked: this.cpuBacked });
    const rmsnorm = (weight: GPUBuffer) => ({ input: { rmsnorm: weight, eps: c.normEps } });

    const emb = w.matrix('token_embd.weight');
    this.embed = await embeddingOps(cache, { dtype: emb.dtype, dim: c.dim, parts: emb.parts, tokens: this.tokensBuf, out: x, step });
    if (c.embedScale) this.embed.push(await elementwiseOp(cache, { kind: 'scale', label: 'embed_scale', width: c.dim, x, value: c.embedScale, step, dummy }));

    for (let l = 0; l < c.nLayers; l++) {
      const p = `blk.${l}.`;
      const kCache = this.buffer(this.maxSeq * kvDim, `${p}k_cache`);
      const vCache = this.buffer(this.maxSeq * kvDim, `${p}v_cache`);
      this.kvBytes += 2 * kCache.size;
      const qkvBias = c.qkvBias ? ['attn_q.bias', 'attn_k.bias', 'attn_v.bias'].map((n) => p + n) : undefined;
      const qkvW = use(['attn_q.weight', 'attn_k.weight', 'attn_v.weight'].map((n) => p + n), [q, k, v], p + 'attn_qkv.weight', qkvBias);
      const outW = use([p + 'attn_output.weight'], [xo ?? x]);
      const gateUpW = use([p + 'ffn_gate.weight', p + 'ffn_up.weight'], [g, u], p + 'ffn_gate_up.weight');
      const downW = use([p + 'ffn_down.weight'], [xo ?? x]);
      const residual = { accumulate: !xo };
      const attnNormW = w.vector(p + 'attn_norm.weight');
      const ffnNormW = w.vector(p + 'ffn_norm.weight');
      const [attnNorm, ffnNorm, qkv, out, gateUp, down] = await Promise.all([
        norm(p + 'attn_norm', attnNormW),
        norm(p + 'ffn_norm', ffnNormW),
        ops(qkvW, xb),
        ops(outW, att, residual),
        ops(gateUpW, xb),
        ops(downW, g, residual),
      ]);
      const [postAttn, postFfn] = xo ? await Promise.all([postNorm(p + 'post_attention_norm', p + 'post_attention_norm.weight'), postNorm(p + 'post_ffw_norm', p + 'post_ffw_norm.weight')]) : [[], []];
      const qkNorm = c.qkNorm
        ? [
            await normRowsOp(cache, { label: p + 'q_norm', width: c.headDim, rowsPerToken: c.nHeads, eps: c.normEps, x: q, weight: w.vector(p + 'attn_q_norm.weight'), step, cpuBacked: this.cpuBacked }),
            await normRowsOp(cache, { label: p + 'k_norm', width: c.headDim, rowsPerToken: c.nKvHeads, eps: c.normEps, x: k, weight: w.vector(p + 'attn_k_norm.weight'), step, cpuBacked: this.cpuBacked }),
          ]
        : [];
      const rope = await ropeStoreOp(cache, { label: p + 'rope_store', heads: c.nHeads, kvHeads: c.nKvHeads, headDim: c.headDim, neox, q, k, v, kCache, vCache, trig: trigOf(l), step, rotDim: c.ropeDim });
      const attention = await attentionOps(cache, {
        label: p + 'attention', heads: c.nHeads, kvHeads: c.nKvHeads, headDim: c.headDim, maxSeq: this.maxSeq, q, kCache, vCache, partial, out: att, step, cpuBacked: this.cpuBacked,
        scale: c.queryScale, window: attentionWindow(c, l), softcap: c.attnSoftcap,
      });
      const act = await siluMulOp(cache, { width: c.hiddenDim, gate: g, up: u, step, gelu });
      this.gemmLayers.push(attnNorm, ...qkv.gemm, ...qkNorm, rope, ...attention, ...out.gemm, ...postAttn, ffnNorm, ...gateUp.gemm, act, ...down.gemm, ...postFfn);
      this.matvecLayers.push(attnNorm, ...qkv.matvec, ...qkNorm, rope, ...attention, ...out.matvec, ...postAttn, ffnNorm, ...gateUp.matvec, act, ...down.matvec, ...postFfn);
      if (foldNorm || foldAct) {
        const qkvF = foldNorm ? (await ops(qkvW, x, rmsnorm(attnNormW))).matvec : [attnNorm, ...qkv.matvec];
        const gateUpF = foldNorm ? (await ops(gateUpW, x, rmsnorm(ffnNormW))).matvec : [ffnNorm, ...gateUp.matvec];
        const downF = foldAct ? (await ops(downW, g, { ...residual, input: { swiglu: u } })).matvec : [act, ...down.matvec];
        (this.decodeLayers ??= []).push(...qkvF, ...qkNorm, rope, ...attention, ...out.matvec, ...postAttn, ...gateUpF, ...downF, ...postFfn);
      }
    }
    const outputNormW = w.vector('output_norm.weight');
    this.finalNorm = await norm('output_norm', outputNormW);
    const headW = use([w.matrices.has('output.weight') ? 'output.weight' : 'token_embd.weight'], [this.logits]);
    // Gemma 2 soft-caps its logits: one more op after the head, on its rows.
    const cap = async (rows?: number): Promise<Op[]> =>
      c.finalSoftcap ? [await elementwiseOp(cache, { kind: 'softcap', label: 'final_softcap', width: c.vocabSize, rows, x: this.logits, value: c.finalSoftcap, step, dummy })] : [];
    this.head = [...(await ops(headW, this.xlast, { tokens: 1 })).matvec, ...(await cap(1))];
    if (foldNorm) this.headFolded = [...(await ops(headW, this.xlast, { tokens: 1, ...rmsnorm(outputNormW) })).matvec, ...(await cap(1))];
    const all = await ops(headW, xb);
    const capAll = await cap();
    this.headAll = { matvec: [...all.matvec, ...capAll], gemm: [...all.gemm, ...capAll] };
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
    const matvec = T === 1 || (!this.cpuBacked && T <= MATVEC_MAX_TOKENS);
    const dim = this.c.dim * 4;
    const folded = T === 1 && this.decodeLayers !== undefined;
    run(this.embed);
    run(folded ? this.decodeLayers! : matvec ? this.matvecLayers : this.gemmLayers);
    if (all) {
      run([this.finalNorm]);
      run(matvec ? this.headAll.matvec : this.headAll.gemm);
      endPass();
      return;
    }
    if (folded && this.headFolded) {
      endPass();
      enc.copyBufferToBuffer(this.x, (T - 1) * dim, this.xlast, 0, dim);
      run(this.headFolded, 1);
    } else {
      run([this.finalNorm]);
      endPass();
      enc.copyBufferToBuffer(this.xb, (T - 1) * dim, this.xlast, 0, dim);
      run(this.head, 1);
    }
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
    let enc = this.begin(tokens, pos0);
    this.encode(enc, tokens.length, pos0, false);
    if (s.mask) {
      // The grammar's mask is computed on the CPU while the GPU runs the forward pass.
      this.device.queue.submit([enc.finish()]);
      this.sampler.prepare(s, await s.mask());
      enc = this.device.createCommandEncoder();
    } else this.sampler.prepare(s);
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
