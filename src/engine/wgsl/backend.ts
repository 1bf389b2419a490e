/** The `wgsl` backend: our own WGSL kernels on one GPUDevice (browser WebGPU or Dawn in Node). */
import { loadModel } from '../../model/load.js';
import { checkTensors } from '../../model/tensors.js';
import type { ModelSource } from '../../model/files.js';
import type { LoadOptions, LoadedRunner, ModelRunner } from '../backend.js';
import { acquireDevice } from './device.js';
import { MAX_STEP, WgslTransformer } from './transformer.js';
import { GpuWeights, type RepackedType } from './weights.js';

export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
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
    device.destroy();
    throw e;
  }
  const maxSeqLen = Math.min(options.maxModelLen ?? model.config.contextLength, model.config.contextLength);
  const transformer = await WgslTransformer.create(device, model.config, weights, maxSeqLen, cpuKernels);
  const oom = await device.popErrorScope();
  if (oom) {
    transformer.destroy();
    device.destroy();
    throw new Error(`the model does not fit in GPU memory (${(weights.bytes / 2 ** 20).toFixed(0)} MiB of weights + ${(transformer.kvBytes / 2 ** 20).toFixed(0)} MiB of KV cache): ${oom.message}`);
  }
  const runner: ModelRunner & { readonly device: GPUDevice } = {
    backend: 'wgsl',
    device,
    config: model.config,
    maxSeqLen,
    description: `${description}`,
    async forward(tokens, pos, allLogits = false) {
      if (lost) throw new DeviceLostError(`the GPU device was lost (${lost}); the model will be reloaded`);
      if (tokens.length === 0) throw new Error('forward needs at least one token');
      const vocab = model.config.vocabSize;
      const chunk = allLogits ? transformer.logitRows : MAX_STEP;
      const all = allLogits ? new Float32Array(tokens.length * vocab) : undefined;
      let last!: Float32Array;
      for (let i = 0; i < tokens.length; i += chunk) {
        const part = tokens.slice(i, i + chunk);
        last = await transformer.step(part, pos + i, allLogits);
        all?.set(last, i * vocab);
      }
      return all ?? last;
    },
    get lost() {
      return lost !== undefined;
    },
    sampler: options.gpuSampling ?? !cpuBacked
      ? {
          reset: (prompt) => transformer.resetSampler(prompt),
          async step(tokens, pos, s) {
            if (lost) throw new DeviceLostError(`the GPU device was lost (${lost}); the model will be reloaded`);
            // Long prompts: all but the last step only fill the cache.
            for (let i = 0; i + MAX_STEP < tokens.length; i += MAX_STEP) await transformer.step(tokens.slice(i, i + MAX_STEP), pos + i, false);
            const start = Math.floor((tokens.length - 1) / MAX_STEP) * MAX_STEP;
            return transformer.stepSample(tokens.slice(start), pos + start, s);
          },
        }
      : undefined,
    profile: device.features.has('timestamp-query')
      ? (tokens, pos) => transformer.profile(tokens, pos, { sampling: { temperature: 0, topP: 1, topK: 0, minP: 0 }, r: 0, bias: [] })
      : undefined,
    dispose() {
      transformer.destroy();
      device.destroy();
    },
  };
  return { model, runner };
}
