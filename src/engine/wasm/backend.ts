/**
 * The wasm backend: the CPU path worth using. The reference's forward pass with its matrices and
 * attention in WebAssembly SIMD (wasm/*.ts), weights kept in their stored type, rows of each
 * matrix split across threads where memory can be shared.
 */
import { byteSize, toFloat32 } from '../../formats/dtypes.js';
import { loadModel } from '../../model/load.js';
import { checkTensors } from '../../model/tensors.js';
import type { ModelSource } from '../../model/files.js';
import type { LoadOptions, LoadedRunner, ModelRunner } from '../backend.js';
import { CHUNK, WasmTransformer, type Matrix } from './forward.js';
import { Kernels } from './kernels.js';

export async function loadWasm(source: ModelSource, options: LoadOptions): Promise<LoadedRunner> {
  const kernels = await Kernels.create({ threads: options.threads, simd: options.wasmSimd });
  try {
    const matrices = new Map<string, Matrix>();
    const small = new Map<string, Float32Array>();
    const shapes = new Map<string, number[]>();
    const model = await loadModel(
      source,
      {
        tensor(name, shape, dtype, bytes) {
          shapes.set(name, shape);
          if (shape.length === 2) {
            const [rows, cols] = shape as [number, number];
            const size = byteSize(dtype, rows * cols);
            const ptr = kernels.mem.alloc(size, name);
            kernels.mem.u8(ptr, size).set(bytes.subarray(0, size));
            matrices.set(name, { ptr, dtype, rows, cols, bytes: size });
          } else {
            small.set(name, toFloat32(dtype, bytes, shape.reduce((a, b) => a * b, 1)));
          }
        },
      },
      options.onProgress,
    );
    checkTensors(model.config, shapes);
    const maxSeqLen = Math.min(options.maxModelLen ?? model.config.contextLength, model.config.contextLength);
    const transformer = new WasmTransformer(model.config, kernels, matrices, small, maxSeqLen);
    const notes = [`WebAssembly ${kernels.simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD128'}`, `${kernels.threads} thread${kernels.threads === 1 ? '' : 's'}`];
    if (kernels.threadNote) notes.push(kernels.threadNote);
    notes.push(`${(kernels.mem.bytes / 2 ** 20).toFixed(0)} MiB of memory`);
    const runner: ModelRunner = {
      backend: 'wasm',
      config: model.config,
      maxSeqLen,
      description: notes.join(', '),
      async forward(tokens, pos, allLogits = false) {
        if (tokens.length === 0) throw new Error('forward needs at least one token');
        const vocab = model.config.vocabSize;
        const all = allLogits ? new Float32Array(tokens.length * vocab) : undefined;
        let last!: Float32Array;
        for (let i = 0; i < tokens.length; i += CHUNK) {
          const chunk = tokens.slice(i, i + CHUNK);
          const logits = transformer.forward(chunk, pos + i, allLogits);
          if (all) all.set(logits, i * vocab);
          else last = logits;
        }
        return all ?? last.slice();
      },
      dispose() {
        kernels.dispose();
      },
    };
    return { model, runner };
  } catch (e) {
    kernels.dispose();
    throw e;
  }
}
