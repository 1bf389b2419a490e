/**
 * The one protocol between a page and the engine host (a Web Worker, a worker_threads worker, or
 * the same thread). Control calls go through comlink; each HTTP exchange gets its own
 * MessagePort on which the host *pushes* the response head and body chunks, and the page may post
 * an abort. Errors carry their OpenAI shape across the boundary.
 */
import type { OpenAIErrorBody } from '../api/errors.js';
import type { BackendName } from '../engine/backend.js';
import type { EngineStats } from '../engine/scheduler.js';

export type { EngineStats };
import type { HubModelSource } from '../hub/ref.js';
import type { CacheChoice } from '../hub/storage/index.js';
import type { ModelSource } from '../model/files.js';
import type { DownloadProgress } from '../hub/progress.js';
import type { LoadProgress as ModelLoadProgress } from '../model/load.js';

/** Loading progress; while a Hub model downloads, its bytes, speed and time left, overall and per file. */
export interface LoadProgress extends ModelLoadProgress {
  download?: DownloadProgress;
}

export interface EngineOptions {
  /**
   * URL or path of a .gguf file or a Hugging Face model directory, the bytes themselves, or a Hub
   * model: 'hf:owner/repo', 'hf:owner/repo/file.gguf', 'hf:owner/repo:Q4_K_M',
   * { hub: 'owner/repo', revision, file }, or a huggingface.co URL (downloaded once, then cached).
   */
  model: ModelSource | HubModelSource;
  /** Hub models: the Hub or a mirror (default https://huggingface.co). */
  hubUrl?: string;
  /** Hub models: an access token for gated or private repositories, sent to the Hub's origin only. */
  accessToken?: string;
  /** Hub models: where they are kept ('auto': OPFS, else the Cache API; a folder in Node; 'memory': not kept). */
  cache?: CacheChoice;
  /** Node: the cache folder (default $WEBINFER_CACHE, else ~/.cache/webinfer). */
  cacheDir?: string;
  /** Hub downloads: bytes per stored piece and Range request (default 32 MiB), requests at once (4), attempts per piece (5). */
  download?: { pieceBytes?: number; parallel?: number; retries?: number; retryDelayMs?: number };
  /** Model id served in responses and accepted in requests (default: the file name). */
  modelId?: string;
  /** KV-cache capacity in tokens (default: the model's context length). */
  maxModelLen?: number;
  /**
   * Requests decoded together (continuous batching; vLLM's --max-num-seqs). More wait their turn.
   * Default: the backend's (ort: 1).
   */
  maxBatch?: number;
  /**
   * Bytes of the paged KV cache shared by all requests (default: one request at full context plus
   * 512 positions for each other request of a full batch). When it runs out, the newest request
   * pauses and is recomputed later.
   */
  kvCacheBytes?: number;
  /** Element type of the KV cache: 'f16' halves its memory (default: the backend's fastest). */
  kvDtype?: 'f16' | 'f32';
  backend?: BackendName;
  /** Allow `logprobs` in requests (the seed server's --enable-logprob); off by default, as there. */
  enableLogprob?: boolean;
  /** ort: which ONNX file to run — fp32, fp16, q4, q4f16, quantized, int8, uint8, bnb4, or a file name under onnx/ (default: the smallest the device runs well). */
  onnxVariant?: string;
  /** ort: 'webgpu' or 'wasm' (default: webgpu where the page has WebGPU). */
  executionProvider?: 'webgpu' | 'wasm';
  /** ort on WebGPU: ORT's 'native' WebGPU provider (default) or the JavaScript one, 'jsep'. */
  ortWebgpu?: 'native' | 'jsep';
  /** ort in browsers: the folder (URL ending in '/') onnxruntime-web fetches its .wasm from (default: where the app's bundler emitted them). */
  ortWasmPaths?: string;
  /** wgsl: sample on the GPU (default: on hardware GPUs; off on software adapters such as SwiftShader). */
  gpuSampling?: boolean;
  /**
   * With GPU sampling: submit each decode step before the last one's tokens have come back, the
   * GPU feeding its drawn tokens to the next step (default: on). Off, steps run one at a time
   * (for measuring what chaining gives).
   */
  chainSteps?: boolean;
  /**
   * wgsl on software adapters (SwiftShader): Q4_0 and Q8_0 matrices multiply inputs rounded to
   * integers per block of 32 (9 and 8 bits), as llama.cpp does on CPUs, ~2.4x faster there
   * (default: on; never on hardware GPUs). false keeps float inputs. The cpu backend rounds the same way when it is true
   * (off by default), so it reproduces such a wgsl run.
   */
  intActivations?: boolean;
  /** wasm: threads in all (default: every core; one on pages that are not cross-origin isolated). */
  threads?: number;
  /**
   * Structured output: where the grammar admits a single continuation, take its tokens without
   * sampling (default: on). Off, every token is sampled from the masked distribution.
   */
  jumpForward?: boolean;
}

export interface ModelInfo {
  id: string;
  backend: Exclude<BackendName, 'auto'>;
  format: 'gguf' | 'safetensors' | 'onnx';
  maxModelLen: number;
  /** Requests decoded together (1: one at a time). */
  maxBatch: number;
  /** The paged KV cache, where the backend has one (all but ort). */
  kvCache?: { blocks: number; blockSize: number; bytes: number; dtype: 'f16' | 'f32' };
  architecture: string;
  vocabSize: number;
  /** What runs the model, e.g. the GPU adapter or the ONNX execution provider and file. */
  description?: string;
  /** Hub models: whether it came from the cache with nothing downloaded. */
  fromCache?: boolean;
  /** Whether the model ships a chat template; without one, chat requests use a generic fallback and plain completions suit it better. */
  chatTemplate: boolean;
}

/** A Request reduced to what survives structured cloning. */
export interface WireRequest {
  url: string;
  method: string;
  headers: [string, string][];
  body: string | null;
}

/** Page → host, on a request's port. */
export type PortToHost = { type: 'abort' };

/** Host → page, on a request's port. */
export type PortToPage =
  | { type: 'head'; status: number; headers: [string, string][] }
  | { type: 'chunk'; bytes: Uint8Array }
  | { type: 'end' }
  | { type: 'error'; status: number; body: OpenAIErrorBody };

/** The control surface of the host, exposed with comlink. */
export interface HostApi {
  load(options: EngineOptions, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo>;
  /** Stops a load in progress (a download keeps what it stored, for resuming). */
  cancelLoad(): void;
  /** Answers one HTTP exchange; the response is pushed on `port`. */
  fetch(request: WireRequest, port: MessagePort): void;
  unload(): Promise<void>;
  /** What the engine holds now (undefined with no model, or one that serves one request at a time). */
  stats(): Promise<EngineStats | undefined> | EngineStats | undefined;
}


/** What an engine worker posts once its script has run (comlink ignores messages without an id). */
export const STARTED = { type: 'webinfer:started' } as const;
