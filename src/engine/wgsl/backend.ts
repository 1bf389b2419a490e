/** The `wgsl` backend: our own WGSL kernels on one GPUDevice (browser WebGPU or Dawn in Node). */
import { loadModel } from '../../model/load.js';
import { checkTensors } from '../../model/tensors.js';
import type { ModelSource } from '../../model/files.js';
import type { LoadOptions, LoadedRunner, ModelRunner } from '../backend.js';
import { acquireDevice } from './device.js';
import { WgslTransformer } from './transformer.js';
import { GpuWeights, type RepackedType } from './weights.js';

export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
}

/**
 * The KV cache's element type when the caller names none: float16 on hardware GPUs (half the bytes
 * a long context's attention reads, and half the memory; llama.cpp's default), float32 on
 * CPU-backed adapters, where unpacking costs more than the bytes save.
 */
export function defaultKvDtype(cpuBackedAdapter: boolean): 'f32' | 'f16' {
  return cpuBackedAdapter ? 'f32' : 'f16';
}

export async function loadWgsl(source: ModelSource, options: LoadOptions): Promise<LoadedRunner> {
  const { device, description, cpuBacked, dot4I8 } = await acquireDevice();
  let lost: string | undefined;
  void device.lost.then((info) => {
    lost = info.message || info.reason || 'device lost';
  });
  const cpuKernels = options.kernels ? options.kernels === 'cpu-backed' : cpuBacked;
  // Integer inputs (CPU-backed kernels): Q4_0, Q5_0 and Q4_K always, Q8_0 and Q6_K where WGSL has dot4I8Packed.
  const intTypes: RepackedType[] = cpuKernels && (options.intActivations ?? true) ? ['Q4_0', 'Q5_0', 'Q4_K', ...(dot4I8 ? (['Q8_0', 'Q6_K'] as const) : [])] : [];
  const weights = new GpuWeights(device, Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize), new Set(intTypes));
  device.pushErrorScope('out-of-memory');
  let model;
  try {
    model = await loadModel(source, weights, options.onProgress);
    checkTensors(model.config, weights.shapes);
  } catch (e) {
    await device.popErrorScope();
    weights.destroy();
    throw e;
  }
  const maxSeqLen = Math.min(options.maxModelLen ?? model.config.contextLength, model.config.contextLength);
  const maxBatch = options.maxBatch ?? 8;
  let transformer: WgslTransformer;
  try {
    transformer = await WgslTransformer.create(device, model.config, weights, maxSeqLen, cpuKernels, { maxBatch, kvCacheBytes: options.kvCacheBytes, kvDtype: options.kvDtype ?? defaultKvDtype(cpuBacked) });
  } catch (e) {
    await device.popErrorScope();
    weights.destroy();
    throw e;
  }
  const oom = await device.popErrorScope();
  if (oom) {
    transformer.destroy();
    throw new Error(`the model does not fit in GPU memory (${(weights.bytes / 2 ** 20).toFixed(0)} MiB of weights + ${(transformer.kvBytes / 2 ** 20).toFixed(0)} MiB of KV cache): ${oom.message}`);
  }
  const alive = () => {
    if (lost) throw new DeviceLostError(`the GPU device was lost (${lost}); the model will be reloaded`);
  };
  const kv = transformer.kv;
  const kvNote = `KV cache ${kv.numBlocks} blocks x ${kv.blockSize} positions, ${(kv.bytes / 2 ** 20).toFixed(1)} MiB ${kv.dtype}`;
  const runner: ModelRunner & { readonly device: GPUDevice } = {
    backend: 'wgsl',
    device,
    config: model.config,
    maxSeqLen,
    kv,
    maxBatch,
    description: `${description}; ${kvNote}`,
    async forward(tokens, pos, allLogits = false) {
      alive();
      if (tokens.length === 0) throw new Error('forward needs at least one token');
      return transformer.forward(tokens, pos, allLogits);
    },
    async step(batch) {
      alive();
      return transformer.run(batch);
    },
    async copyBlock(src, dst) {
      alive();
      transformer.copyBlock(src, dst);
    },
    get lost() {
      return lost !== undefined;
    },
    sampler: options.gpuSampling ?? !cpuBacked
      ? {
          reset: (prompt, slot) => transformer.resetSampler(prompt, slot),
          chains: true,
          async step(tokens, pos, s) {
            alive();
            return transformer.stepSample(tokens, pos, s);
          },
        }
      : undefined,
    profile: device.features.has('timestamp-query')
      ? (tokens, pos) => transformer.profile(tokens, pos, { sampling: { temperature: 0, topP: 1, topK: 0, minP: 0 }, r: 0, bias: [] })
      : undefined,
    dispose() {
      // The device stays for the next model (device.ts); everything this one made goes.
      transformer.destroy();
    },
  };
  return { model, runner };
}
