/**
 * The contract between the generation loop and a compute backend (CPU reference, WGSL, ORT).
 * A backend owns the weights and one KV cache; the loop owns tokens, sampling and stopping.
 */
import type { ModelConfig } from '../model/config.js';
import type { LoadedModel, LoadProgress } from '../model/load.js';
import type { ModelSource } from '../model/files.js';

export type BackendName = 'auto' | 'cpu' | 'wgsl' | 'ort';

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
  dispose(): void;
}

export interface LoadOptions {
  maxModelLen?: number;
  onProgress?: (p: LoadProgress) => void;
}

export interface LoadedRunner {
  model: LoadedModel;
  runner: ModelRunner;
}

export type BackendLoader = (source: ModelSource, options: LoadOptions) => Promise<LoadedRunner>;
