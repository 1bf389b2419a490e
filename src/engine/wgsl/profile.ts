/**
 * GPU time per op for `npm run bench -- --profile`: every op gets its own compute pass with
 * timestamp writes, so the sum is slower than a real step; the split between ops is what counts.
 * Needs the adapter's 'timestamp-query' feature; Dawn quantises timestamps unless its
 * timestamp_quantization toggle is disabled (WEBINFER_DAWN_FLAGS in Node).
 */
import type { Op } from './kernels/op.js';

const MAX_OPS = 2048;

export class OpTimer {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private readonly readback: GPUBuffer;
  private readonly labels: string[] = [];

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * MAX_OPS });
    this.resolve = device.createBuffer({ size: 16 * MAX_OPS, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.readback = device.createBuffer({ size: 16 * MAX_OPS, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** A pass that times one op. */
  pass(enc: GPUCommandEncoder, op: Op): GPUComputePassEncoder {
    const i = this.labels.length;
    if (i >= MAX_OPS) throw new Error(`more than ${MAX_OPS} ops in one profiled step`);
    // Layers repeat the same ops: blk.7.attn_q.weight and blk.0.attn_q.weight add up together.
    this.labels.push(op.label.replace(/^blk\.\d+\./, ''));
    return enc.beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
  }

  /** Milliseconds of GPU time per op label, after the encoder was submitted by `submit`. */
  async read(enc: GPUCommandEncoder): Promise<Map<string, number>> {
    const n = this.labels.length;
    enc.resolveQuerySet(this.querySet, 0, 2 * n, this.resolve, 0);
    enc.copyBufferToBuffer(this.resolve, 0, this.readback, 0, 16 * n);
    this.device.queue.submit([enc.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ, 0, 16 * n);
    const t = new BigInt64Array(this.readback.getMappedRange(0, 16 * n).slice(0));
    this.readback.unmap();
    const out = new Map<string, number>();
    this.labels.forEach((label, i) => out.set(label, (out.get(label) ?? 0) + Number(t[2 * i + 1]! - t[2 * i]!) / 1e6));
    this.labels.length = 0;
    return out;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolve.destroy();
    this.readback.destroy();
  }
}
