/**
 * What every kernel module produces: an Op — a pipeline, its bind group, and the workgroup count
 * for a step of T tokens starting at position pos0. Pipelines are cached by a key of
 * (shader family, weight type, entry point, override constants), so a model with 30 layers compiles each kernel once.
 */
import type { GpuDType } from '../weights.js';
import { shaderSource } from '../shaders.js';

export interface Op {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups(T: number, pos0: number, s: StepShape): [number, number, number];
  /** False for steps that do not need this op (it is not dispatched); always needed if absent. */
  active?(T: number, pos0: number, s: StepShape): boolean;
}

/**
 * What the attention ops need to know of a step beyond its T packed rows: the step uniform
 * [pos0, T, span, decode] and its rows' sequences. A step of one sequence from pos0 is
 * `singleShape(T, pos0)`.
 */
export interface StepShape {
  /** Positions of the step's longest row (its position + 1): how far attention reaches. */
  span: number;
  /** Every sequence of the step runs one token (the decode chunking of attention). */
  decode: boolean;
  /** The rows are of more than one sequence (flash tiles of several rows cannot serve). */
  multi: boolean;
}

export function singleShape(T: number, pos0: number): StepShape {
  return { span: pos0 + T, decode: T === 1, multi: false };
}

/** The step uniform every kernel reads (struct Step): pos0 is only informative, rows carry their positions. */
export function stepUniform(T: number, pos0: number, s: StepShape): Uint32Array<ArrayBuffer> {
  return new Uint32Array([pos0, T, s.span, s.decode ? 1 : 0]);
}

/** Shader files a weight reader needs before it: what it shares with other layouts or types. */
const READER_EXTRAS: Partial<Record<GpuDType, string[]>> = {
  F16: ['dequant_dot_by_element'],
  BF16: ['dequant_dot_by_element'],
  Q4_0: ['dequant_q4_0_math'],
  Q4_0W: ['dequant_q4_0_math'],
  Q5_0W: [],
  Q4_KW: [],
  Q6_KW: [],
  Q8_0: ['dequant_q8_0_math'],
  Q8_0W: ['dequant_q8_0_math'],
  IQ4_NL: ['dequant_iq4_grid'],
  IQ4_XS: ['dequant_iq4_grid'],
};

/**
 * Compiled pipelines per device, shared by every PipelineCache on it: the page's (or Node
 * process's) one device serves every model loaded on it (device.ts), and a second load compiles
 * only what the first did not. Compiling is the slow part of a load where shaders are compiled
 * on the CPU (SwiftShader: 2.5 s of a small model's cpu-backed load, 16 s of its GPU-family one).
 */
const compiled = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/**
 * A model's kernels on a device: the device's compiled pipelines, and the small buffers its ops
 * are built with (uniform parameters, unused outputs), which it owns and frees in destroy(); the
 * device outlives the model.
 */
export class PipelineCache {
  private readonly pipelines: Map<string, Promise<GPUComputePipeline>>;
  private readonly spares: GPUBuffer[] = [];
  private readonly owned: GPUBuffer[] = [];
  constructor(readonly device: GPUDevice) {
    let pipelines = compiled.get(device);
    if (!pipelines) compiled.set(device, (pipelines = new Map()));
    this.pipelines = pipelines;
  }

  /**
   * The i-th tiny storage buffer bound where a shader declares an output a dispatch never writes
   * (WebGPU forbids two writable bindings of one buffer, so each such slot needs its own).
   */
  unusedOutput(i: number): GPUBuffer {
    while (this.spares.length <= i) this.spares.push(this.own(this.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: `unused output ${this.spares.length}` })));
    return this.spares[i]!;
  }

  /** A uniform buffer of u32/f32 fields, written once, freed with the cache. */
  uniform(fields: (number | { f32: number })[], label: string): GPUBuffer {
    const size = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
    const buf = this.own(this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label }));
    const data = new ArrayBuffer(size);
    const view = new DataView(data);
    fields.forEach((f, i) => (typeof f === 'number' ? view.setUint32(i * 4, f, true) : view.setFloat32(i * 4, f.f32, true)));
    this.device.queue.writeBuffer(buf, 0, data);
    return buf;
  }

  private own(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }

  /** Frees the buffers made for this cache's ops (the compiled pipelines stay with the device). */
  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
    this.spares.length = 0;
  }

  /**
   * `family` names the shader file, or files concatenated (a family and an extra entry point that
   * needs its own reader, e.g. matvec_int). `dtype` prepends shaders/dequant_common.wgsl and the
   * weight reader: dequant_<dtype>.wgsl, after what it shares with other readers (READER_EXTRAS).
   * `constants` sets the shader's override constants. `enables` are WGSL extensions (e.g.
   * `subgroups`) the module starts with: directives must precede every file's declarations.
   */
  get(family: string | string[], entry: string, dtype?: GpuDType, constants?: Record<string, number>, enables: string[] = []): Promise<GPUComputePipeline> {
    const files = typeof family === 'string' ? [family] : family;
    const key = `${enables.map((e) => `enable ${e};`).join('')}${files.join('+')}:${entry}:${dtype ?? '-'}${constants ? ':' + JSON.stringify(constants) : ''}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = (async () => {
        const reader = dtype ? ['dequant_common', ...(READER_EXTRAS[dtype] ?? []), `dequant_${dtype.toLowerCase()}`] : [];
        const code = [...enables.map((e) => `enable ${e};`), ...(await Promise.all([...reader, ...files].map(shaderSource)))].join('\n');
        const module = this.device.createShaderModule({ code, label: key });
        return this.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: entry, constants }, label: key });
      })();
      this.pipelines.set(key, p);
    }
    return p;
  }
}

export function bind(device: GPUDevice, pipeline: GPUComputePipeline, entries: Record<number, GPUBuffer>, label: string): GPUBindGroup {
  return device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: Object.entries(entries).map(([binding, buffer]) => ({ binding: Number(binding), resource: { buffer } })),
  });
}

/** The override constants of kernels that read or write the KV cache (shaders/paged.wgsl): KV_HALF where it holds float16. */
export function kvConstants(half: boolean | undefined, others?: Record<string, number>): Record<string, number> | undefined {
  return half ? { ...others, KV_HALF: 1 } : others;
}

/** Splits a workgroup count over x and y when it exceeds the 65535 per-dimension limit. */
export function grid(count: number, z = 1): [number, number, number] {
  if (count <= 65535) return [Math.max(1, count), 1, z];
  const y = Math.ceil(count / 65535);
  return [Math.ceil(count / y), y, z];
}
