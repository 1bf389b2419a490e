/**
 * The wasm backend: the CPU path worth using. The reference's forward pass with its matrices and
 * attention in WebAssembly SIMD (wasm/*.ts), weights kept in their stored type, rows of each
 * matrix split across threads where memory can be shared.
 */
import { toFloat32, type DType } from '../../formats/dtypes.js';
import { loadModel } from '../../model/load.js';
import { checkTensors } from '../../model/tensors.js';
import type { ModelSource } from '../../model/files.js';
import { planKvCache, type LoadOptions, type LoadedRunner, type ModelRunner } from '../backend.js';
import { JOINED_GROUPS, WasmTransformer, type Matrix } from './forward.js';
import { Kernels } from './kernels.js';

/** The group (forward.ts's JOINED_GROUPS) a layer's matrix is stored side by side with, if any. */
function adjacentGroup(name: string): { key: string; names: string[] } | undefined {
  const m = /^(blk\.\d+\.)(\w+)\.weight$/.exec(name);
  const parts = m && JOINED_GROUPS.find((g) => (g as readonly string[]).includes(m[2]!));
  if (!parts) return undefined;
  return { key: m[1]! + parts[0], names: parts.map((p) => `${m[1]}${p}.weight`) };
}

/** Mebibytes for a load report: whole above 10, one decimal below (a small model's cache is a fraction of one). */
function mib(bytes: number): string {
  const m = bytes / 2 ** 20;
  return m >= 10 ? m.toFixed(0) : m.toFixed(1);
}

export async function loadWasm(source: ModelSource, options: LoadOptions): Promise<LoadedRunner> {
  const kernels = await Kernels.create({ threads: options.threads, simd: options.wasmSimd });
  try {
    const matrices = new Map<string, Matrix>();
    const small = new Map<string, Float32Array>();
    const shapes = new Map<string, number[]>();
    // A layer's q, k, v and its gate, up are stored side by side (in that order) whatever order the
    // file holds them in, so that a one-row step reads each group as one matrix (forward.ts): the
    // first ones wait, copied, for the rest of their group.
    const waiting = new Map<string, { name: string; dtype: DType; rows: number; cols: number; bytes: Uint8Array }[]>();
    const model = await loadModel(
      source,
      {
        tensor(name, shape, dtype, bytes) {
          shapes.set(name, shape);
          if (shape.length === 2) {
            const [rows, cols] = shape as [number, number];
            const group = adjacentGroup(name);
            if (!group) return void matrices.set(name, kernels.store(name, dtype, rows, cols, bytes));
            const members = waiting.get(group.key) ?? [];
            const last = members.length + 1 === group.names.length;
            // the loader's bytes are only valid during this call: a member that waits keeps a copy
            members.push({ name, dtype, rows, cols, bytes: last ? bytes : bytes.slice() });
            if (!last) return void waiting.set(group.key, members);
            waiting.delete(group.key);
            members.sort((a, b) => group.names.indexOf(a.name) - group.names.indexOf(b.name));
            kernels.storeAdjacent(members).forEach((m, i) => matrices.set(members[i]!.name, m));
          } else {
            small.set(name, toFloat32(dtype, bytes, shape.reduce((a, b) => a * b, 1)));
          }
        },
      },
      options.onProgress,
    );
    // groups the file did not complete (a model without a gate) are stored as they are
    for (const m of [...waiting.values()].flat()) matrices.set(m.name, kernels.store(m.name, m.dtype, m.rows, m.cols, m.bytes));
    checkTensors(model.config, shapes);
    const maxSeqLen = Math.min(options.maxModelLen ?? model.config.contextLength, model.config.contextLength);
    const maxBatch = options.maxBatch ?? 8;
    const kv = planKvCache(model.config, maxSeqLen, maxBatch, options.kvDtype === 'f16' ? 2 : 4, options.kvCacheBytes);
    const transformer = new WasmTransformer(model.config, kernels, matrices, small, maxSeqLen, kv);
    const notes = [`WebAssembly ${kernels.simd === 'relaxed' ? `relaxed SIMD${kernels.fourWay ? ' (four-way dots)' : ''}` : 'SIMD128'}`, `${kernels.threads} thread${kernels.threads === 1 ? '' : 's'}`];
    if (kernels.threadNote) notes.push(kernels.threadNote);
    notes.push(`KV cache ${mib(kv.bytes)} MiB ${kv.dtype} for ${kv.numBlocks * kv.blockSize} positions`);
    notes.push(`${mib(kernels.mem.bytes)} MiB of memory`);
    const runner: ModelRunner = {
      backend: 'wasm',
      config: model.config,
      maxSeqLen,
      description: notes.join(', '),
      kv,
      maxBatch,
      // The single-sequence convenience: blocks 0, 1, 2, … through the batched path.
      async forward(tokens, pos, allLogits = false) {
        if (tokens.length === 0) throw new Error('forward needs at least one token');
        const blocks = Array.from({ length: Math.min(kv.numBlocks, Math.ceil((pos + tokens.length) / kv.blockSize)) }, (_, i) => i);
        // a step's last-row logits are the transformer's reused buffer: the caller keeps a copy
        const { logits } = transformer.step([{ tokens, pos, blocks, logits: allLogits ? 'all' : 'last' }])[0]!;
        return allLogits ? logits! : logits!.slice();
      },
      async step(batch) {
        return transformer.step(batch);
      },
      async copyBlock(src, dst) {
        transformer.copyBlock(src, dst);
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
