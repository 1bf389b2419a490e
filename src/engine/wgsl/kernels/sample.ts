/**
 * shaders/sample.wgsl: logits processors, sampling and logprobs in one workgroup, so a decode
 * step reads back a token id (and requested logprobs) instead of the whole logits vector.
 */
import type { StepSampling as DeviceSampling } from '../../backend.js';
import { bind, type Op, type PipelineCache } from './op.js';

export const MAX_BIAS = 4096;
/** count_token meaning "the token this slot drew last" (shaders/sample.wgsl reads it from `out`). */
const DRAWN = 0xfffffffe;
/** A bias at or below this bans the token (the shader's test is <= -1e29). */
export const BAN = -1e30;

export type { StepSampling as DeviceSampling } from '../../backend.js';

/** One request's sampler state (penalty counts, seen flags) and its step's parameters. */
class SamplerSlot {
  readonly params: GPUBuffer;
  readonly bias: GPUBuffer;
  readonly counts: GPUBuffer;
  readonly seen: GPUBuffer;
  readonly out: GPUBuffer;
  /** The grammar's allowed tokens, one bit each (vocab/32 words). */
  readonly mask: GPUBuffer;
  readonly op: Op;

  constructor(device: GPUDevice, vocab: number, pipeline: GPUComputePipeline, logits: GPUBuffer, work: GPUBuffer, slot: number) {
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    this.params = device.createBuffer({ size: 64, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: `sample.${slot}.params` });
    this.bias = device.createBuffer({ size: MAX_BIAS * 8, usage: storage, label: `sample.${slot}.bias` });
    this.counts = device.createBuffer({ size: vocab * 4, usage: storage, label: `sample.${slot}.counts` });
    this.seen = device.createBuffer({ size: vocab * 4, usage: storage, label: `sample.${slot}.seen` });
    this.out = device.createBuffer({ size: 4 * 48, usage: storage, label: `sample.${slot}.out` });
    this.mask = device.createBuffer({ size: Math.ceil(vocab / 32) * 4, usage: storage, label: `sample.${slot}.mask` });
    this.op = {
      label: 'sample',
      pipeline,
      bindGroup: bind(device, pipeline, { 0: logits, 1: work, 2: this.counts, 3: this.seen, 4: this.bias, 5: this.out, 6: this.params, 7: this.mask }, `sample.${slot}`),
      workgroups: () => [1, 1, 1],
    };
  }

  destroy(): void {
    for (const b of [this.params, this.bias, this.counts, this.seen, this.out, this.mask]) b.destroy();
  }
}

/**
 * Sampling of a step's logits rows on the GPU, each in its request's slot (0 .. maxBatch-1: the
 * sequences of a batched step). A slot's buffers are made when a request first names it.
 */
export class Sampler {
  private readonly slots: SamplerSlot[] = [];
  /** Scratch of the sampling kernel, shared: the dispatches of a step run one after another. */
  private readonly work: GPUBuffer;

  private constructor(
    private readonly device: GPUDevice,
    private readonly vocab: number,
    private readonly pipeline: GPUComputePipeline,
    private readonly logits: GPUBuffer,
    readonly maxSlots: number,
  ) {
    this.work = device.createBuffer({ size: vocab * 4, usage: GPUBufferUsage.STORAGE, label: 'sample.work' });
  }

  static async create(cache: PipelineCache, vocab: number, logits: GPUBuffer, maxSlots = 1): Promise<Sampler> {
    return new Sampler(cache.device, vocab, await cache.get('sample', 'sample'), logits, maxSlots);
  }

  /** The slot's state, made on first use. */
  slot(i: number): SamplerSlot {
    if (!Number.isInteger(i) || i < 0 || i >= this.maxSlots) throw new RangeError(`sampler slot ${i} is outside 0..${this.maxSlots - 1}`);
    return (this.slots[i] ??= new SamplerSlot(this.device, this.vocab, this.pipeline, this.logits, this.work, i));
  }

  /** The sampling op of a slot (its parameters written by prepare). */
  op(slot = 0): Op {
    return this.slot(slot).op;
  }

  /** The buffer a slot's sampled token (and logprobs) is written to. */
  out(slot = 0): GPUBuffer {
    return this.slot(slot).out;
  }

  /** New request in `slot`: no output yet; the prompt's tokens count as seen for the repetition penalty. */
  reset(prompt: number[], slot = 0): void {
    const st = this.slot(slot);
    const seen = new Uint32Array(this.vocab);
    for (const t of prompt) if (t < this.vocab) seen[t] = 1;
    this.device.queue.writeBuffer(st.seen, 0, seen);
    this.device.queue.writeBuffer(st.counts, 0, new Uint32Array(this.vocab));
  }

  /**
   * Writes a slot's parameters for sampling logits row `row`; its op then runs in the step's
   * command buffer. `mask`: the grammar's allowed tokens (undefined: all).
   */
  prepare(s: DeviceSampling, mask?: Int32Array, slot = 0, row = 0): void {
    const st = this.slot(slot);
    if (s.bias.length > MAX_BIAS) throw new Error(`at most ${MAX_BIAS} biased or banned tokens per step`);
    const data = new ArrayBuffer(64);
    const u = new Uint32Array(data);
    const f = new Float32Array(data);
    const k = s.sampling.topK > 0 ? s.sampling.topK : 0;
    u[0] = this.vocab;
    u[1] = s.bias.length;
    u[2] = k;
    u[3] = s.logprobs ?? 0xffffffff;
    f[4] = s.sampling.temperature;
    f[5] = s.sampling.topP;
    f[6] = s.sampling.minP;
    f[7] = s.r;
    f[8] = s.penalties?.frequency ?? 0;
    f[9] = s.penalties?.presence ?? 0;
    f[10] = s.penalties?.repetition ?? 1;
    u[11] = s.countDrawn ? DRAWN : (s.countToken ?? 0xffffffff);
    u[12] = mask ? 1 : 0;
    u[13] = row;
    this.device.queue.writeBuffer(st.params, 0, data);
    if (mask) this.device.queue.writeBuffer(st.mask, 0, mask.buffer, mask.byteOffset, Math.ceil(this.vocab / 32) * 4);
    if (s.bias.length) {
      const b = new ArrayBuffer(s.bias.length * 8);
      const bu = new Uint32Array(b);
      const bf = new Float32Array(b);
      s.bias.forEach(([id, v], i) => {
        bu[2 * i] = id;
        bf[2 * i + 1] = Math.max(v, BAN);
      });
      this.device.queue.writeBuffer(st.bias, 0, b);
    }
  }

  /** Bytes of `out` to read back for these parameters. */
  outBytes(s: DeviceSampling): number {
    return 4 * (s.logprobs === undefined ? 1 : 2 + 2 * s.logprobs);
  }

  destroy(): void {
    for (const st of this.slots) st?.destroy();
    this.work.destroy();
  }
}
