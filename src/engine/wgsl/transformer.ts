/**
 * The WGSL forward pass: the same computation as engine/cpu/forward.ts, as a list of GPU ops
 * recorded into one command buffer per step. A step packs the rows (tokens) of one or several
 * sequences (continuous batching): every matrix runs once over all rows, while rope_store and
 * attention find each row's position and its sequence's blocks of the paged KV cache in the
 * step's metadata (kernels/paged.ts). Every buffer is allocated once, at the largest step size
 * (MAX_STEP rows); longer batches are fed in sub-steps. The only CPU round trip of a step is
 * reading back the logits of the rows that want them (or the sampled tokens). Three op lists
 * exist, by step kind: gemm steps, matvec steps, and on GPUs one-row steps with the norms and
 * SiLU folded into the matvecs.
 */
import { attentionWindow, isLocalLayer, layerRope, type ModelConfig } from '../../model/config.js';
import { KV_BLOCK_SIZE, planKvCache, type KvCacheInfo, type SeqResult, type SeqStep } from '../backend.js';
import { attentionOps, attentionPartialBytes } from './kernels/attention.js';
import { elementwiseOp, siluMulOp } from './kernels/elementwise.js';
import { embeddingOps } from './kernels/embedding.js';
import { canFoldInput, matmulOps, type MatmulArgs } from './kernels/matmul.js';
import { PipelineCache, singleShape, stepUniform, type Op, type StepShape } from './kernels/op.js';
import { identityBlocks, metaWords, stepMeta } from './kernels/paged.js';
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
  /** The device's pipelines, and the ops' parameter buffers this model owns. */
  private cache!: PipelineCache;
  private stepBuf!: GPUBuffer;
  private tokensBuf!: GPUBuffer;
  private metaBuf!: GPUBuffer;
  /** The step uniform of the head and its soft-cap: T = the rows whose logits are computed. */
  private headStepBuf!: GPUBuffer;
  private x!: GPUBuffer;
  private xb!: GPUBuffer;
  /** The rows whose logits a step wants, gathered (normed, or the raw residual for the folded head). */
  private xg!: GPUBuffer;
  private readonly kCaches: GPUBuffer[] = [];
  private readonly vCaches: GPUBuffer[] = [];
  private logits!: GPUBuffer;
  /** Buffers the steps' results are mapped from; one at load (its size: a full step's logits), more made when steps overlap. */
  private readonly readbacks: { buffer: GPUBuffer; busy: boolean }[] = [];
  private embed!: Op[];
  /** Every layer's ops for steps on the matvec kernels (a few tokens on GPUs; decode on CPU-backed adapters). */
  private matvecLayers: Op[] = [];
  /** Decode on GPUs: the matvec ops with norms and SiLU·up folded in (one token: the fold's extra work is small). */
  private decodeLayers?: Op[];
  /** Every layer's ops for steps on the gemm kernels. */
  private gemmLayers: Op[] = [];
  private finalNorm!: Op;
  /** The head on the gathered normed rows of xg. */
  private head!: MatOps;
  /** The head with the final norm folded in, on xg's first row holding the raw residual (GPUs). */
  private headFolded?: Op[];
  private sampler!: Sampler;
  private timer?: OpTimer;
  /** Positions whose logits fit the logits buffer at once. */
  readonly logitRows: number;
  /** Sequences one sub-step may pack (block tables in the metadata buffer). */
  private readonly stepSeqs: number;
  /** Rows of a decode sub-step (64-position attention chunks) whose partial results fit their buffer. */
  private readonly decodeRows: number;
  readonly kv: KvCacheInfo;

  private constructor(
    readonly device: GPUDevice,
    readonly c: ModelConfig,
    readonly weights: GpuWeights,
    readonly maxSeq: number,
    readonly cpuBacked: boolean,
    readonly maxBatch: number,
    kvCacheBytes?: number,
    kvDtype: 'f32' | 'f16' = 'f32',
  ) {
    this.logitRows = Math.max(1, Math.min(MAX_STEP, Math.floor(LOGITS_BYTES / (c.vocabSize * 4))));
    this.kv = planWgslKv(device, c, maxSeq, maxBatch, kvCacheBytes, kvDtype);
    this.stepSeqs = Math.min(maxBatch, MAX_STEP);
    const binding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    let rows = this.stepSeqs;
    while (rows > 1 && attentionPartialBytes(c.nHeads, c.headDim, maxSeq, MAX_STEP, rows) > binding) rows--;
    this.decodeRows = rows;
  }

  static async create(
    device: GPUDevice,
    c: ModelConfig,
    weights: GpuWeights,
    maxSeq: number,
    cpuBacked = false,
    o: { maxBatch?: number; kvCacheBytes?: number; kvDtype?: 'f32' | 'f16' } = {},
  ): Promise<WgslTransformer> {
    const t = new WgslTransformer(device, c, weights, maxSeq, cpuBacked, o.maxBatch ?? 1, o.kvCacheBytes, o.kvDtype);
    try {
      await t.build();
    } catch (e) {
      t.destroy(); // the device is shared: what the build made must not outlive it
      throw e;
    }
    return t;
  }

  /** Bytes of the KV cache (all layers' keys and values). */
  get kvBytes(): number {
    return this.kv.bytes;
  }

  private get kvBlockBytes(): number {
    return layerBlockBytes(this.c, this.kv.dtype);
  }

  private buffer(floats: number, label: string, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST): GPUBuffer {
    const b = this.device.createBuffer({ size: Math.max(16, floats * 4), usage, label });
    this.buffers.push(b);
    return b;
  }

  private async build(): Promise<void> {
    const { device, c, weights: w } = this;
    const cache = (this.cache = new PipelineCache(device));
    const T = MAX_STEP;
    const qDim = c.nHeads * c.headDim;
    const kvDim = c.nKvHeads * c.headDim;
    const step = (this.stepBuf = this.buffer(4, 'step', GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST));
    const headStep = (this.headStepBuf = this.buffer(4, 'head.step', GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST));
    const meta = (this.metaBuf = this.buffer(metaWords(T, this.stepSeqs, this.maxSeq), 'kv_meta'));
    this.tokensBuf = this.buffer(T, 'tokens');
    const x = (this.x = this.buffer(T * c.dim, 'x')); // residual stream; the output and down projections add into it
    const xb = (this.xb = this.buffer(T * c.dim, 'xb')); // normed input of a sub-layer (unfolded paths)
    const q = this.buffer(T * qDim, 'q');
    const k = this.buffer(T * kvDim, 'k');
    const v = this.buffer(T * kvDim, 'v');
    const att = this.buffer(T * qDim, 'att');
    const g = this.buffer(T * c.hiddenDim, 'gate');
    const u = this.buffer(T * c.hiddenDim, 'up');
    const partial = this.buffer(attentionPartialBytes(c.nHeads, c.headDim, this.maxSeq, T, this.decodeRows) / 4, 'attention.partial');
    this.xg = this.buffer(T * c.dim, 'x.gathered');
    this.logits = this.buffer(this.logitRows * c.vocabSize, 'logits');
    // Logits rows, then each sampled sequence's token and logprobs (48 words).
    this.readbacks.push({ buffer: this.buffer(this.logitRows * c.vocabSize + 48 * this.stepSeqs, 'logits.readback', GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST), busy: false });
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
    const kvHalf = this.kv.dtype === 'f16';
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
    const ops = async (mats: MatrixUse[], xIn: GPUBuffer, extra: Pick<MatmulArgs, 'accumulate' | 'input' | 'tokens'> & Partial<Pick<MatmulArgs, 'step'>> = {}): Promise<MatOps> =>
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
      // [block, position in block, kv_heads x head_dim]
      const kCache = this.buffer((this.kv.numBlocks * this.kvBlockBytes) / 4, `${p}k_cache`);
      const vCache = this.buffer((this.kv.numBlocks * this.kvBlockBytes) / 4, `${p}v_cache`);
      this.kCaches.push(kCache);
      this.vCaches.push(vCache);
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
      const rope = await ropeStoreOp(cache, { label: p + 'rope_store', heads: c.nHeads, kvHeads: c.nKvHeads, headDim: c.headDim, neox, q, k, v, kCache, vCache, trig: trigOf(l), step, meta, rotDim: c.ropeDim, kvHalf });
      const attention = await attentionOps(cache, {
        label: p + 'attention', heads: c.nHeads, kvHeads: c.nKvHeads, headDim: c.headDim, maxSeq: this.maxSeq, q, kCache, vCache, partial, out: att, step, meta, cpuBacked: this.cpuBacked,
        scale: c.queryScale, window: attentionWindow(c, l), softcap: c.attnSoftcap, kvHalf,
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
    const cap = c.finalSoftcap ? [await elementwiseOp(cache, { kind: 'softcap', label: 'final_softcap', width: c.vocabSize, x: this.logits, value: c.finalSoftcap, step: headStep, dummy })] : [];
    const head = await ops(headW, this.xg, { step: headStep });
    this.head = { matvec: [...head.matvec, ...cap], gemm: [...head.gemm, ...cap] };
    if (foldNorm) this.headFolded = [...(await ops(headW, this.xg, { tokens: 1, step: headStep, ...rmsnorm(outputNormW) })).matvec, ...cap];
    this.sampler = await Sampler.create(cache, c.vocabSize, this.logits, this.maxBatch);
  }

  /**
   * Records the forward pass of a step of T packed rows (shape: how far attention reaches, and
   * whether the rows are one sequence's) and the head on the rows in `wanted` (ascending): their
   * logits land in rows 0 .. wanted.length - 1 of `logits`. With a timer, every op gets its own
   * timed pass (profiling only).
   */
  private encode(enc: GPUCommandEncoder, T: number, pos0: number, shape: StepShape, wanted: number[], timer?: OpTimer): void {
    let pass: GPUComputePassEncoder | undefined;
    const run = (ops: Op[], tokens = T) => {
      for (const op of ops) {
        if (op.active && !op.active(tokens, pos0, shape)) continue;
        pass ??= timer ? timer.pass(enc, op) : enc.beginComputePass();
        pass.setPipeline(op.pipeline);
        pass.setBindGroup(0, op.bindGroup);
        pass.dispatchWorkgroups(...op.workgroups(tokens, pos0, shape));
        if (timer) endPass();
      }
    };
    const endPass = () => {
      pass?.end();
      pass = undefined;
    };
    const matvec = (rows: number) => rows === 1 || (!this.cpuBacked && rows <= MATVEC_MAX_TOKENS);
    const dim = this.c.dim * 4;
    const folded = T === 1 && this.decodeLayers !== undefined;
    run(this.embed);
    run(folded ? this.decodeLayers! : matvec(T) ? this.matvecLayers : this.gemmLayers);
    const R = wanted.length;
    if (R === 0) {
      endPass();
      return;
    }
    if (folded && this.headFolded) {
      endPass();
      enc.copyBufferToBuffer(this.x, 0, this.xg, 0, dim);
      run(this.headFolded, 1);
      endPass();
      return;
    }
    run([this.finalNorm]);
    endPass();
    // Gather the wanted rows, a copy per run of consecutive ones.
    for (let i = 0; i < R; ) {
      let j = i + 1;
      while (j < R && wanted[j] === wanted[j - 1]! + 1) j++;
      enc.copyBufferToBuffer(this.xb, wanted[i]! * dim, this.xg, i * dim, (j - i) * dim);
      i = j;
    }
    run(matvec(R) ? this.head.matvec : this.head.gemm, R);
    endPass();
  }

  /**
   * Splits a batch into sub-steps the buffers hold: at most MAX_STEP rows, stepSeqs sequences,
   * logitRows wanted logits rows, and decodeRows rows when every sequence of the sub-step runs
   * one token (decode attention keeps 4x more partial results per row). A sequence's tokens may
   * straddle sub-steps; its later rows then read the keys and values its earlier ones wrote.
   */
  private plan(batch: SeqStep[]): Piece[][] {
    const subs: Piece[][] = [];
    let cur: Piece[] = [];
    let rows = 0, wanted = 0;
    const flush = () => {
      if (cur.length) subs.push(cur);
      cur = [];
      rows = wanted = 0;
    };
    batch.forEach((s, e) => {
      const len = s.tokens.length;
      for (let start = 0; start < len; ) {
        if (cur.length === this.stepSeqs || rows === MAX_STEP) flush();
        let n = Math.min(len - start, MAX_STEP - rows);
        if (s.logits === 'all') n = Math.min(n, this.logitRows - wanted);
        const last = s.logits === 'last' && start + n === len;
        if (last && wanted === this.logitRows) n--;
        const decodeFull = n === 1 && rows >= this.decodeRows && cur.every((p) => p.n === 1);
        if (n <= 0 || decodeFull) {
          flush();
          continue;
        }
        const want = s.logits === 'all' ? 'all' : start + n === len && s.logits === 'last' ? 'last' : 'none';
        cur.push({ e, start, n, want });
        rows += n;
        wanted += want === 'all' ? n : want === 'last' ? 1 : 0;
        start += n;
      }
    });
    flush();
    return subs;
  }

  /** Writes a sub-step's inputs and records its forward pass; what it wants back is in the plan it returns. */
  private record(batch: SeqStep[], pieces: Piece[], timer?: OpTimer): { enc: GPUCommandEncoder; rows: { piece: Piece; row: number }[] } {
    const tokens: number[] = [];
    const wanted: number[] = [];
    const rows: { piece: Piece; row: number }[] = [];
    const chained: { row: number; slot: number }[] = [];
    let span = 0;
    for (const piece of pieces) {
      const s = batch[piece.e]!;
      const first = tokens.length;
      if (s.chained) chained.push({ row: first, slot: s.sample!.slot });
      tokens.push(...s.tokens.slice(piece.start, piece.start + piece.n));
      span = Math.max(span, s.pos + piece.start + piece.n);
      if (piece.want === 'all') for (let t = 0; t < piece.n; t++) wanted.push(first + t);
      if (piece.want === 'last') wanted.push(first + piece.n - 1);
      if (piece.want !== 'none') rows.push({ piece, row: wanted.length - (piece.want === 'all' ? piece.n : 1) });
    }
    const T = tokens.length;
    const pos0 = batch[pieces[0]!.e]!.pos + pieces[0]!.start;
    const shape: StepShape = pieces.length === 1 ? singleShape(T, pos0) : { span, decode: pieces.every((p) => p.n === 1), multi: true };
    const meta = stepMeta(pieces.map((p) => ({ pos: batch[p.e]!.pos + p.start, rows: p.n, blocks: batch[p.e]!.blocks })));
    this.device.queue.writeBuffer(this.stepBuf, 0, stepUniform(T, pos0, shape));
    this.device.queue.writeBuffer(this.headStepBuf, 0, new Uint32Array([0, wanted.length, wanted.length, 0]));
    this.device.queue.writeBuffer(this.tokensBuf, 0, new Uint32Array(tokens));
    this.device.queue.writeBuffer(this.metaBuf, 0, meta);
    const enc = this.device.createCommandEncoder();
    // a chained row's token: what its slot drew in the step before, which the queue has run by now
    for (const { row, slot } of chained) enc.copyBufferToBuffer(this.sampler.out(slot), 0, this.tokensBuf, row * 4, 4);
    this.encode(enc, T, pos0, shape, wanted, timer);
    return { enc, rows };
  }

  /** Rejects what would write outside the cache or read a rotation the table does not hold. */
  private check(batch: SeqStep[]): void {
    for (const s of batch) {
      if (s.tokens.length === 0) throw new Error('a step entry needs at least one token');
      if (!Number.isInteger(s.pos) || s.pos < 0 || s.pos + s.tokens.length > this.maxSeq) throw new RangeError(`positions ${s.pos}..${s.pos + s.tokens.length - 1} are outside the context of ${this.maxSeq}`);
      const blocks = Math.ceil((s.pos + s.tokens.length) / KV_BLOCK_SIZE);
      if (s.blocks.length < blocks) throw new RangeError(`a block table of ${s.blocks.length} blocks does not reach position ${s.pos + s.tokens.length - 1}`);
      for (let b = 0; b < blocks; b++) {
        const id = s.blocks[b]!;
        if (!Number.isInteger(id) || id < 0 || id >= this.kv.numBlocks) throw new RangeError(`KV block ${id} is outside 0..${this.kv.numBlocks - 1}`);
      }
    }
    const slots = batch.filter((s) => s.sample && s.logits === 'last').map((s) => s.sample!.slot);
    if (new Set(slots).size !== slots.length) throw new Error('two sequences of one step sample in the same sampler slot');
    if (batch.some((s) => s.chained && (s.tokens.length !== 1 || !s.sample))) throw new Error('a chained step entry has one token and samples in its slot');
  }

  /**
   * One forward pass over several sequences (ModelRunner.step): each entry's tokens through its
   * block table; the weights are read once per sub-step for all their rows.
   */
  async run(batch: SeqStep[]): Promise<SeqResult[]> {
    this.check(batch);
    const vocab = this.c.vocabSize;
    const results: SeqResult[] = batch.map((s) => (s.logits === 'all' ? { logits: new Float32Array(s.tokens.length * vocab) } : {}));
    for (const pieces of this.plan(batch)) {
      let { enc, rows } = this.record(batch, pieces);
      const sampled = rows.filter((r) => r.piece.want === 'last' && batch[r.piece.e]!.sample);
      const logitRows = rows.some((r) => !sampled.includes(r)) ? Math.max(...rows.map((r) => r.row + (r.piece.want === 'all' ? r.piece.n : 1))) : 0;
      const copies: [GPUBuffer, number][] = [];
      if (logitRows) copies.push([this.logits, logitRows * vocab * 4]);
      if (sampled.length) {
        const masks = sampled.map((r) => batch[r.piece.e]!.sample!.spec.mask);
        let got: (Int32Array | undefined)[] = [];
        if (masks.some((m) => m)) {
          // The grammars' masks are computed on the CPU while the GPU runs the forward pass.
          this.device.queue.submit([enc.finish()]);
          got = await Promise.all(masks.map((m) => m?.()));
          enc = this.device.createCommandEncoder();
        }
        const pass = enc.beginComputePass();
        sampled.forEach((r, i) => {
          const { slot, spec } = batch[r.piece.e]!.sample!;
          this.sampler.prepare(spec, got[i], slot, r.row);
          const op = this.sampler.op(slot);
          pass.setPipeline(op.pipeline);
          pass.setBindGroup(0, op.bindGroup);
          pass.dispatchWorkgroups(1);
        });
        pass.end();
        for (const r of sampled) copies.push([this.sampler.out(batch[r.piece.e]!.sample!.slot), 48 * 4]);
      }
      if (!copies.length) {
        this.device.queue.submit([enc.finish()]);
        continue;
      }
      const out = await this.read(enc, copies);
      const f = new Float32Array(out);
      const u = new Uint32Array(out);
      let at = logitRows * vocab;
      for (const r of rows) {
        const s = batch[r.piece.e]!;
        if (sampled.includes(r)) {
          const spec = s.sample!.spec;
          const token = u[at]!;
          const res: SeqResult = { token };
          if (spec.logprobs !== undefined) {
            const top = Array.from({ length: spec.logprobs }, (_, i) => ({ id: u[at + 2 + 2 * i]!, logprob: f[at + 3 + 2 * i]! }));
            res.logprob = { id: token, logprob: f[at + 1]!, top };
          }
          results[r.piece.e] = res;
          at += 48;
        } else if (r.piece.want === 'all') {
          results[r.piece.e]!.logits!.set(f.subarray(r.row * vocab, (r.row + r.piece.n) * vocab), r.piece.start * vocab);
        } else {
          results[r.piece.e] = { logits: f.slice(r.row * vocab, (r.row + 1) * vocab) };
        }
      }
    }
    return results;
  }

  /** A single sequence over blocks 0, 1, 2, … (forward): logits of the last token, or of all. */
  async forward(tokens: number[], pos: number, all: boolean): Promise<Float32Array> {
    const [r] = await this.run([{ tokens, pos, blocks: this.identity, logits: all ? 'all' : 'last' }]);
    return r!.logits!;
  }

  /** A single sequence over blocks 0, 1, 2, … sampled on the GPU in slot 0 (DeviceSampler.step). */
  async stepSample(tokens: number[], pos: number, s: DeviceSampling): Promise<SampledToken> {
    const [r] = await this.run([{ tokens, pos, blocks: this.identity, logits: 'last', sample: { slot: 0, spec: s } }]);
    return { token: r!.token!, logprob: r!.logprob };
  }

  private get identity(): Uint32Array {
    return (this.identityTable ??= identityBlocks(this.maxSeq));
  }
  private identityTable?: Uint32Array;

  /** GPU milliseconds per op label for one sampled step of one sequence (see profile.ts); the cache is written as by a real step. */
  async profile(tokens: number[], pos0: number, s: DeviceSampling): Promise<Map<string, number>> {
    this.timer ??= new OpTimer(this.device);
    const batch: SeqStep[] = [{ tokens, pos: pos0, blocks: this.identity, logits: 'last' }];
    this.check(batch);
    const subs = this.plan(batch);
    // Earlier sub-steps of a long prompt only fill the cache; the last one is timed.
    for (const pieces of subs.slice(0, -1)) this.device.queue.submit([this.record(batch, pieces).enc.finish()]);
    const { enc } = this.record(batch, subs.at(-1)!, this.timer);
    this.sampler.prepare(s);
    const op = this.sampler.op(0);
    const pass = this.timer.pass(enc, op);
    pass.setPipeline(op.pipeline);
    pass.setBindGroup(0, op.bindGroup);
    pass.dispatchWorkgroups(1);
    pass.end();
    return this.timer.read(enc);
  }

  /**
   * Copies `bytes` from the start of each source, one after another, into a readback buffer not
   * in use: with chained steps, the next step is read back while this one's map is pending.
   */
  private async read(enc: GPUCommandEncoder, copies: [GPUBuffer, number][]): Promise<ArrayBuffer> {
    const bytes = copies.reduce((sum, [, n]) => sum + n, 0);
    let rb = this.readbacks.find((r) => !r.busy && r.buffer.size >= bytes);
    if (!rb) this.readbacks.push((rb = { buffer: this.buffer(bytes / 4, 'readback', GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST), busy: false }));
    const { buffer } = rb;
    let at = 0;
    for (const [src, n] of copies) {
      enc.copyBufferToBuffer(src, 0, buffer, at, n);
      at += n;
    }
    this.device.queue.submit([enc.finish()]);
    rb.busy = true;
    try {
      await buffer.mapAsync(GPUMapMode.READ, 0, bytes);
      const out = buffer.getMappedRange(0, bytes).slice(0);
      buffer.unmap();
      return out;
    } finally {
      rb.busy = false;
    }
  }

  private blockScratch?: GPUBuffer;

  /** Copies one KV block (every layer's keys and values) into another: copy-on-write of a shared block. */
  copyBlock(src: number, dst: number): void {
    for (const id of [src, dst]) if (!Number.isInteger(id) || id < 0 || id >= this.kv.numBlocks) throw new RangeError(`KV block ${id} is outside 0..${this.kv.numBlocks - 1}`);
    const bytes = this.kvBlockBytes;
    const caches = [...this.kCaches, ...this.vCaches];
    // WebGPU copies between two buffers only: through a scratch buffer holding every layer's block.
    this.blockScratch ??= this.buffer((caches.length * bytes) / 4, 'kv_block.scratch');
    const enc = this.device.createCommandEncoder();
    caches.forEach((b, i) => enc.copyBufferToBuffer(b, src * bytes, this.blockScratch!, i * bytes, bytes));
    caches.forEach((b, i) => enc.copyBufferToBuffer(this.blockScratch!, i * bytes, b, dst * bytes, bytes));
    this.device.queue.submit([enc.finish()]);
  }

  /** Starts a request's penalty state on the GPU, in its sampler slot. */
  resetSampler(prompt: number[], slot = 0): void {
    this.sampler.reset(prompt, slot);
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
    this.cache?.destroy();
    this.sampler?.destroy();
    this.timer?.destroy();
    this.weights.destroy();
  }
}

/** A sequence's share of a sub-step: tokens start .. start + n - 1 of batch entry e, and which of their logits come back. */
interface Piece {
  e: number;
  start: number;
  n: number;
  want: 'none' | 'last' | 'all';
}

/** Bytes of one layer's keys (or values) in one block: float32, or float16 pairs (paged.wgsl's KV_HALF). */
function layerBlockBytes(c: ModelConfig, kvDtype: 'f32' | 'f16'): number {
  return KV_BLOCK_SIZE * c.nKvHeads * c.headDim * (kvDtype === 'f16' ? 2 : 4);
}

/**
 * The paged KV cache on this device: planKvCache's blocks (float32, or float16 pairs), capped so
 * that one layer's keys (or values) fit one storage binding. A RangeError when not even one full
 * context fits.
 */
export function planWgslKv(device: GPUDevice, c: ModelConfig, maxSeq: number, maxBatch: number, kvCacheBytes?: number, kvDtype: 'f32' | 'f16' = 'f32'): KvCacheInfo {
  const plan = planKvCache(c, maxSeq, maxBatch, kvDtype === 'f16' ? 2 : 4, kvCacheBytes);
  const blockBytes = layerBlockBytes(c, kvDtype);
  const binding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const cap = Math.floor(binding / blockBytes);
  const need = Math.ceil(maxSeq / KV_BLOCK_SIZE);
  if (cap < need)
    throw new RangeError(`maxModelLen ${maxSeq} needs ${need} KV blocks (${need * blockBytes} bytes of keys per layer), but one GPU storage binding holds ${cap} (maxStorageBufferBindingSize ${binding}); lower maxModelLen`);
  const numBlocks = Math.min(plan.numBlocks, cap);
  return { ...plan, numBlocks, bytes: (plan.bytes / plan.numBlocks) * numBlocks };
}
