/**
 * The contract between the generation loop and a compute backend (CPU reference, wasm, WGSL, ORT).
 * A backend owns the weights and a paged KV cache (a pool of fixed-size blocks); the engine owns
 * which blocks each sequence uses (engine/kv-cache.ts), tokens, sampling and stopping.
 */
import type { ModelConfig } from '../model/config.js';
import type { LoadedModel, LoadProgress } from '../model/load.js';
import type { ModelSource } from '../model/files.js';
import type { TokenLogprob } from './engine.js';
import type { Penalties } from './logits.js';
import type { SamplingParams } from './sampling.js';

/** One step's sampling, done where the logits are (the GPU): only the token comes back. */
export interface StepSampling {
  sampling: SamplingParams;
  /** The step's uniform random number in [0, 1). */
  r: number;
  /** Sparse additive biases: logit_bias, and bans (a bias of -Infinity) from bad_words and min_tokens. */
  bias: [number, number][];
  penalties?: Penalties;
  /** Alternatives to report with the chosen token's logprob, or undefined for none. */
  logprobs?: number;
  /** The step's input token, which counts as generated output for the penalties. */
  countToken?: number;
  /** Count instead the token the slot drew in the step before (a chained step's input, still on the device). */
  countDrawn?: boolean;
  /**
   * The grammar's allowed tokens for the sampled position (bit i%32 of word i/32), or undefined
   * when all are. A function, so the backend can compute it while the forward pass runs.
   */
  mask?: () => Promise<Int32Array | undefined>;
}

export interface DeviceSampler {
  /**
   * Starts a request: no output yet, the prompt counts as seen for the repetition penalty.
   * `slot` (0 .. maxBatch-1, default 0) is the sampler state the request's steps will name.
   */
  reset(prompt: number[], slot?: number): void;
  /**
   * Step entries may be `chained`: their token is the one their slot drew in an earlier step, read
   * on the device, so the engine can submit the next step before that one's token has come back.
   */
  readonly chains?: boolean;
  /** forward(tokens, pos) and sampling in one submission. */
  step(tokens: number[], pos: number, s: StepSampling): Promise<{ token: number; logprob?: TokenLogprob }>;
}

/**
 * The paged KV cache a backend allocates at load: `numBlocks` blocks of `blockSize` positions,
 * each holding every layer's keys and values for those positions. Block ids are 0..numBlocks-1;
 * which sequence a block belongs to is the engine's business (it may be shared by several).
 */
export interface KvCacheInfo {
  blockSize: number;
  numBlocks: number;
  /** Bytes of all blocks together (reported at load). */
  bytes: number;
  /** Element type the keys and values are stored in. */
  dtype: 'f32' | 'f16';
}

/** One sequence's share of a batched step. */
export interface SeqStep {
  /** Tokens to run, at positions pos .. pos + tokens.length - 1 of this sequence. */
  tokens: number[];
  pos: number;
  /**
   * The sequence's block table: blocks[i] holds its positions i·blockSize .. (i+1)·blockSize - 1.
   * It covers at least pos + tokens.length positions. Positions before `pos` are read from these
   * blocks (they may have been written by another sequence: a shared prefix); the new tokens'
   * keys and values are written into them, overwriting what was there.
   */
  blocks: ArrayLike<number>;
  /**
   * Which logits come back: the last token's, every token's (prompt logprobs), or none (a prompt
   * chunk that does not end its prompt).
   */
  logits: 'last' | 'all' | 'none';
  /**
   * With a DeviceSampler and logits 'last': sample the next token on the device, in the sampler
   * state `slot` (0 .. maxBatch-1). A backend may return the logits instead; the engine then samples
   * on the CPU with the same algorithm and random number.
   */
  sample?: { slot: number; spec: StepSampling };
  /**
   * The entry's one token (tokens[0] is a placeholder) is the token its sampler slot drew in the
   * step submitted before this one, taken on the device (DeviceSampler.chains).
   */
  chained?: boolean;
}

/** What a step returns for one sequence: its logits ([n × vocab], n per `logits`), or its sampled token. */
export interface SeqResult {
  /**
   * A 'last' row may be the backend's own buffer, overwritten by its next step: copy it to keep
   * it. The caller may change it in place (the engine's sampling does).
   */
  logits?: Float32Array;
  token?: number;
  logprob?: TokenLogprob;
}

export type BackendName = 'auto' | 'cpu' | 'wasm' | 'wgsl' | 'ort';

export interface ModelRunner {
  readonly backend: Exclude<BackendName, 'auto'>;
  readonly config: ModelConfig;
  /** KV-cache capacity in positions (the engine's maxModelLen). */
  readonly maxSeqLen: number;
  /**
   * Runs `tokens` at positions pos .. pos+tokens.length-1, writing their keys/values into the cache
   * (overwriting whatever was cached from `pos` on), and returns the logits [vocab] of the last
   * one, or with `allLogits` the logits of every position [tokens.length × vocab].
   */
  forward(tokens: number[], pos: number, allLogits?: boolean): Promise<Float32Array>;
  /**
   * The paged KV cache, when the backend has one (every backend but ort). `forward` above is then
   * the single-sequence convenience over blocks 0, 1, 2, … (tests and tools; never mixed with
   * `step` by the engine).
   */
  readonly kv?: KvCacheInfo;
  /** The most sequences one `step` may carry (and device sampler slots); 1 without `step`. */
  readonly maxBatch?: number;
  /**
   * One forward pass over several sequences at once (continuous batching): each entry's tokens at
   * its positions, through its block table. Entries are independent sequences; the weights are
   * read once for all their tokens. Returns one result per entry, in order. Total tokens may be any
   * number: the backend splits what it cannot run at once.
   */
  step?(batch: SeqStep[]): Promise<SeqResult[]>;
  /** Copies block `src` into block `dst` (copy-on-write of a shared, partly filled block). */
  copyBlock?(src: number, dst: number): Promise<void>;
  /** The device behind the backend, for load reports (e.g. the GPU adapter). */
  readonly description?: string;
  /** True once the backend can no longer run (a lost GPU device): the host reloads the model. */
  readonly lost?: boolean;
  /** Present when the backend samples on its device (the logits never leave the GPU). */
  readonly sampler?: DeviceSampler;
  /** GPU milliseconds per op of one sampled step at `pos` (wgsl with timestamp queries; the benchmark's --profile). */
  profile?(tokens: number[], pos: number): Promise<Map<string, number>>;
  dispose(): void;
}

export interface LoadOptions {
  maxModelLen?: number;
  /** Sequences stepped together (continuous batching); default chosen by the backend. */
  maxBatch?: number;
  /**
   * Bytes for the paged KV cache (all sequences together). Default: room for maxModelLen positions
   * twice over, so one full-context request and others fit; the engine preempts when it runs out.
   */
  kvCacheBytes?: number;
  /** Element type of the KV cache where the backend offers a choice (default: the backend's fastest). */
  kvDtype?: 'f32' | 'f16';
  /** Sample on the GPU (default: yes on hardware GPUs, no on software adapters like SwiftShader). */
  gpuSampling?: boolean;
  /**
   * wgsl kernel variants: 'gpu' (coalesced matvecs with norms and SiLU folded in, tiled gemm,
   * 256-thread attention) or 'cpu-backed' (barrier-free: a thread per 4 rows, or 4 rows x 4
   * tokens, and per attention head; separate ops). Default: by the adapter; tests force 'gpu' to
   * check the GPU variants on SwiftShader.
   */
  kernels?: 'gpu' | 'cpu-backed';
  /**
   * Q4_0, Q5_0, Q4_K, Q8_0 and Q6_K matrices multiply inputs rounded to integers per block of 32
   * (9 bits at a power-of-two scale; int8 as llama.cpp rounds them for Q8_0 and Q6_K), as llama.cpp does on CPUs. wgsl: on by
   * default with the 'cpu-backed' kernels, where the integer matvecs are ~2.4x faster than the
   * float ones (shaders/matvec_int.wgsl, int_q<type>.wgsl; Q8_0 and Q6_K only where WGSL has
   * dot4I8Packed); never with the 'gpu' kernels. cpu: off by default; on, the reference rounds
   * the same way (tests use it as the oracle for the integer kernels); 'int8' rounds the inputs
   * of every block-quantised matrix to int8 as the wasm backend does (its oracle). wasm: always
   * int8 for block-quantised matrices (the option does not apply).
   */
  intActivations?: boolean | 'int8';
  /** wasm: threads in all, the calling one included (default: every core; one where memory cannot be shared). */
  threads?: number;
  /** wasm: 'simd' keeps to plain SIMD128 where relaxed SIMD is there too (default: the best the runtime has). */
  wasmSimd?: 'relaxed' | 'simd';
  onProgress?: (p: LoadProgress) => void;
}

export interface LoadedRunner {
  model: LoadedModel;
  runner: ModelRunner;
}

export type BackendLoader = (source: ModelSource, options: LoadOptions) => Promise<LoadedRunner>;

/** Positions per KV block: the granularity of sharing a prefix and of allocation (vLLM's default). */
export const KV_BLOCK_SIZE = 16;

/**
 * How many KV blocks a backend allocates: `kvCacheBytes` when given, else room for one request at
 * full context plus min(maxSeqLen, 512) positions for each other sequence of a full batch (more
 * requests than fit are preempted and recomputed, never failed). Never fewer than one full context.
 */
export function planKvCache(config: ModelConfig, maxSeqLen: number, maxBatch: number, elementBytes: 2 | 4, kvCacheBytes?: number): KvCacheInfo {
  const blockBytes = KV_BLOCK_SIZE * config.nLayers * 2 * config.nKvHeads * config.headDim * elementBytes;
  const minBlocks = Math.ceil(maxSeqLen / KV_BLOCK_SIZE);
  const wanted = kvCacheBytes !== undefined ? Math.floor(kvCacheBytes / blockBytes) : Math.ceil((maxSeqLen + (maxBatch - 1) * Math.min(maxSeqLen, 512)) / KV_BLOCK_SIZE);
  if (wanted < minBlocks)
    throw new RangeError(`kvCacheBytes ${kvCacheBytes} holds ${wanted * KV_BLOCK_SIZE} positions, fewer than maxModelLen (${maxSeqLen}); it needs at least ${minBlocks * blockBytes} bytes`);
  return { blockSize: KV_BLOCK_SIZE, numBlocks: wanted, bytes: wanted * blockBytes, dtype: elementBytes === 2 ? 'f16' : 'f32' };
}
