/** Running single WGSL ops in Node through Dawn (SwiftShader here), for kernel tests. */
import { acquireDevice } from '../../src/engine/wgsl/device.js';
import { singleShape, stepUniform, type Op, type StepShape } from '../../src/engine/wgsl/kernels/op.js';
import { identityBlocks, stepMeta, type MetaSeq } from '../../src/engine/wgsl/kernels/paged.js';

export async function gpu() {
  const { device } = await acquireDevice();
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const step = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  return {
    device,
    step,
    /** A storage buffer holding `data` (float32, uint32 or raw bytes, padded to 4 bytes). */
    buffer(data: Float32Array | Uint32Array | Uint8Array | number): GPUBuffer {
      const bytes = typeof data === 'number' ? new Uint8Array(data * 4) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const b = device.createBuffer({ size: Math.max(16, Math.ceil(bytes.length / 4) * 4), usage, mappedAtCreation: true });
      new Uint8Array(b.getMappedRange()).set(bytes);
      b.unmap();
      return b;
    },
    /** Paged-cache metadata (kv_meta) of a step of these sequences; by default one from pos0 over blocks 0, 1, 2, … */
    meta(seqs: MetaSeq[] | { T: number; pos0: number; maxSeq: number }): GPUBuffer {
      const m = Array.isArray(seqs) ? stepMeta(seqs) : stepMeta([{ pos: seqs.pos0, rows: seqs.T, blocks: identityBlocks(seqs.maxSeq) }]);
      const b = device.createBuffer({ size: Math.max(16, m.byteLength), usage, mappedAtCreation: true });
      new Uint32Array(b.getMappedRange()).set(m);
      b.unmap();
      return b;
    },
    async run(ops: Op[], T: number, pos0 = 0, shape: StepShape = singleShape(T, pos0)) {
      device.queue.writeBuffer(step, 0, stepUniform(T, pos0, shape));
      device.pushErrorScope('validation');
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (const op of ops) {
        if (op.active && !op.active(T, pos0, shape)) continue;
        pass.setPipeline(op.pipeline);
        pass.setBindGroup(0, op.bindGroup);
        pass.dispatchWorkgroups(...op.workgroups(T, pos0, shape));
      }
      pass.end();
      device.queue.submit([enc.finish()]);
      const err = await device.popErrorScope();
      if (err) throw new Error(err.message);
    },
    async read(buf: GPUBuffer, floats: number): Promise<Float32Array> {
      const rb = device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(buf, 0, rb, 0, floats * 4);
      device.queue.submit([enc.finish()]);
      await rb.mapAsync(GPUMapMode.READ);
      const out = new Float32Array(rb.getMappedRange().slice(0));
      rb.destroy();
      return out;
    },
  };
}

/** Deterministic pseudo-random values in [-1, 1). */
export function randoms(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 - 1;
  });
}

export function nmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return num / Math.max(den, 1e-30);
}

export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
