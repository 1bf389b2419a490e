/**
 * The contract between the generation loop and a compute backend (CPU reference, WGSL, ORT).
 * A backend owns the weights and one KV cache; the loop owns tokens, sampling and stopping.
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
  /**
   * The grammar's allowed tokens for the sampled position (bit i%32 of word i/32), or undefined
   * when all are. A function, so the backend can compute it while the forward pass runs.
   */
  mask?: () => Promise<Int32Array | undefined>;
}

export interface DeviceSampler {
  /** Starts a request: no output yet, the prompt counts as seen for the repetition penalty. */
  reset(prompt: number[]): void;
  /** forward(tokens, pos) and sampling in one submission. */
  step(tokens: number[], pos: number, s: StepSampling): Promise<{ token: number; logprob?: TokenLogprob }>;
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
