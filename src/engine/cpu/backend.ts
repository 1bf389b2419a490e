/** The CPU reference backend: weights dequantised to float32, forward pass in plain TypeScript. */
import { toFloat32 } from '../../formats/dtypes.js';
import { loadModel } from '../../model/load.js';
import { checkTensors } from '../../model/tensors.js';
import type { ModelSource } from '../../model/files.js';
import { planKvCache, type LoadOptions, type LoadedRunner, type ModelRunner } from '../backend.js';
import { CpuTransformer, type InputRounding, type Weights } from './forward.js';

export async function loadCpu(source: ModelSource, options: LoadOptions): Promise<LoadedRunner> {
  const weights: Weights = new Map();
  const shapes = new Map<string, number[]>();
  // Matrices whose inputs are rounded: with intActivations true as wgsl rounds them (Q4_0, Q5_0
  // and Q4_K at a power-of-two scale, Q8_0 and Q6_K to int8), with 'int8' every block-quantised
  // matrix to int8, as the wasm backend does.
  const intInputs = new Map<string, InputRounding>();
  const model = await loadModel(
    source,
    {
      tensor(name, shape, dtype, bytes) {
        const elements = shape.reduce((a, b) => a * b, 1);
        weights.set(name, toFloat32(dtype, bytes, elements));
        shapes.set(name, shape);
        if (shape.length !== 2) return;
        if (options.intActivations === 'int8' && dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') intInputs.set(name, 'int8');
        else if (options.intActivations === true && (dtype === 'Q4_0' || dtype === 'Q5_0' || dtype === 'Q4_K')) intInputs.set(name, 'pow2');
        else if (options.intActivations === true && (dtype === 'Q8_0' || dtype === 'Q6_K')) intInputs.set(name, 'int8');
      },
    },
    options.onProgress,
  );
  checkTensors(model.config, shapes);
  const maxSeqLen = Math.min(options.maxModelLen ?? model.config.contextLength, model.config.contextLength);
  // The reference keeps float32 keys and values whatever kvDtype asks (it is the oracle).
  const maxBatch = options.maxBatch ?? 8;
  const kv = planKvCache(model.config, maxSeqLen, maxBatch, 4, options.kvCacheBytes);
  const transformer = new CpuTransformer(model.config, weights, maxSeqLen, intInputs, kv.numBlocks * kv.blockSize, kv.blockSize);
  const vocab = model.config.vocabSize;
  const run = (tokens: number[], pos: number, allLogits: boolean, blocks?: ArrayLike<number>) => {
    if (tokens.length === 0) throw new Error('forward needs at least one token');
    const all = allLogits ? new Float32Array(tokens.length * vocab) : undefined;
    let logits!: Float32Array;
    for (let i = 0; i < tokens.length; i++) {
      logits = transformer.forward(tokens[i]!, pos + i, blocks);
      all?.set(logits, i * vocab);
    }
    return all ?? logits.slice();
  };
  const runner: ModelRunner = {
    backend: 'cpu',
    config: model.config,
    maxSeqLen,
    kv,
    maxBatch,
    description: `KV cache ${(kv.bytes / 2 ** 20).toFixed(1)} MiB f32 for ${kv.numBlocks * kv.blockSize} positions`,
    async forward(tokens, pos, allLogits = false) {
      return run(tokens, pos, allLogits);
    },
    // One sequence after another, a token at a time: the reference's numbers, whatever the batch.
    async step(batch) {
      return batch.map((e) => {
        const logits = run(e.tokens, e.pos, e.logits === 'all', e.blocks);
        return e.logits === 'none' ? {} : { logits };
      });
    },
    async copyBlock(src, dst) {
      transformer.copyBlock(src, dst);
    },
    dispose() {
      weights.clear();
    },
  };
  return { model, runner };
}
