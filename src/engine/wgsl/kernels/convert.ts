/** shaders/convert.wgsl: float16 values (e.g. a float16 model's logits) into a float32 buffer. */
import { grid, type PipelineCache } from './op.js';

export class HalfToFloat {
  private constructor(
    private readonly device: GPUDevice,
    private readonly pipeline: GPUComputePipeline,
    private readonly params: GPUBuffer,
  ) {}

  static async create(cache: PipelineCache): Promise<HalfToFloat> {
    const pipeline = await cache.get('convert', 'f16_to_f32');
    return new HalfToFloat(cache.device, pipeline, cache.uniform([0, 0, 0, 0], 'f16_to_f32.params'));
  }

  /** Records dst[0 .. n) = src[offset .. offset + n) into `enc` (src's buffer may change every call). */
  encode(enc: GPUCommandEncoder, src: GPUBuffer, offset: number, n: number, dst: GPUBuffer): void {
    this.device.queue.writeBuffer(this.params, 0, new Uint32Array([offset, n, 0, 0]));
    const bindGroup = this.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [src, dst, this.params].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = enc.beginComputePass();
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(...grid(Math.ceil(n / 64)));
    pass.end();
  }
}
