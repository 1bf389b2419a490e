/**
 * `npm run bench -- --node --gpu-kernels`: the decode matvec of each weight type alone, at
 * Llama-3.2-1B's shapes, beside what the same GPU moves in a plain buffer copy and in a trivial
 * read-only shader, in one run. The kernels are built exactly as the transformer builds them
 * (GpuWeights upload, gate|up fused into one matrix with two output segments, matmulOps), so the
 * numbers follow whatever shaders/matmul*.wgsl hold. Each timed sample is one compute pass of R
 * back-to-back matvecs (R sized so a pass lasts a few ms: robust to Dawn's timestamp quantisation
 * and to submission overhead), timed by timestamp queries where the device has them, else by the
 * wall clock around the submission; the figure is the median sample / R. Every kernel's output is
 * then checked on a few rows against a float64 dot product of the dequantised row, so a fast
 * kernel that computes garbage shows as FAIL rather than as a good number. The GPU family also
 * times a step of eight tokens (a batched decode step), whose kernel should read the weights
 * fewer than eight times: its µs against eight times the one-token row's says how many; with 4
 * tokens per workgroup (the default) and with 8.
 *
 * Options: --families=gpu,cpu-backed  --types=Q4_0,Q4_K,...  --tiny (CI sizes)  --samples=N
 */
import { byteSize, fromFloat32, toFloat32, type DType } from '../src/formats/dtypes.js';
import { acquireDevice } from '../src/engine/wgsl/device.js';
import { canFoldInput, matmulOps, type MatmulArgs } from '../src/engine/wgsl/kernels/matmul.js';
import { PipelineCache, singleShape, type Op } from '../src/engine/wgsl/kernels/op.js';
import { quantizedWords } from '../src/engine/wgsl/kernels/quantize.js';
import { GpuWeights, type GpuMatrix, type RepackedType } from '../src/engine/wgsl/weights.js';
import { randomBlocks } from '../test/helpers/blocks.js';
import { randoms } from '../test/helpers/gpu.js';

export type KernelFamily = 'gpu' | 'cpu-backed';
export const GPU_KERNEL_TYPES: DType[] = ['Q4_0', 'Q4_K', 'Q6_K', 'Q8_0', 'F16', 'Q5_0', 'Q4_1'];

export interface GpuKernelOptions {
  types?: DType[];
  families?: KernelFamily[];
  /** CI sizes: 256 wide, FFN 256, small buffers, one matvec per sample. */
  tiny?: boolean;
  samples?: number;
  log?: (line: string) => void;
}

export interface KernelRow {
  family: KernelFamily;
  type: DType;
  /** The type the kernel reads (a word-aligned repack on the cpu-backed family). */
  gpuType: string;
  shape: string;
  /**
   * matvec: input read as is; folded: the transformer's decode form (RMSNorm or SiLU·up folded in);
   * eight tokens: a step of 8 rows (batched decode), as the transformer runs it (GPU family:
   * matvec_wide_tokens, 4 tokens per workgroup), its µs per step and GB/s counting the weights
   * once; 'eight tokens, 8 per workgroup': the same step in one pass over the weights.
   */
  variant: 'matvec' | 'folded' | 'eight tokens' | 'eight tokens, 8 per workgroup';
  us: number;
  weightBytes: number;
  gbPerS: number;
  pctOfCopy: number;
  pctOfRead: number;
  /** Matvecs per timed pass. */
  reps: number;
  /** Largest |got - want| / Σ|w·x| over the checked rows. */
  err: number;
  ok: boolean;
}

export interface BandwidthRow {
  bytes: number;
  us: number;
  gbPerS: number;
}

export interface GpuKernelReport {
  adapter: string;
  features: string[];
  timing: 'timestamp-query' | 'wall clock';
  /** copyBufferToBuffer: GB/s of bytes read + written. */
  copy: BandwidthRow;
  /** A read-only shader streaming one buffer: GB/s read. */
  read: BandwidthRow;
  rows: KernelRow[];
}

/** Relative error a kernel may show on a row: int8 or f16 inputs cost ~1e-3; garbage is ~1. */
const CHECK_TOL = 1e-2;

const READ_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<u32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let stride = groups.x * 256u;
  var acc = vec4<u32>(0u);
  for (var i = gid.x; i < arrayLength(&src); i += stride) { acc ^= src[i]; }
  let v = acc.x ^ acc.y ^ acc.z ^ acc.w;
  // Almost never true: the loads stay live without a write per thread.
  if (v == 0x9e3779b9u) { sink[0] = v; }
}`;

interface Shape {
  name: string;
  kind: 'gateup' | 'down' | 'square';
  K: number;
  N: number;
}

function shapes(tiny: boolean): Shape[] {
  // tiny: the smallest widths every block type fits (K-quants: 256)
  const [dim, ffn] = tiny ? [256, 256] : [2048, 8192];
  return [
    { name: `${dim}→${2 * ffn} (gate|up, 2×${ffn}×${dim} fused)`, kind: 'gateup', K: dim, N: 2 * ffn },
    { name: `${ffn}→${dim} (down)`, kind: 'down', K: ffn, N: dim },
    { name: `${dim}→${dim}`, kind: 'square', K: dim, N: dim },
  ];
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Times `encode` (which records R units of work) and returns ms per unit: median over samples. */
class Timer {
  private readonly querySet?: GPUQuerySet;
  private readonly resolve?: GPUBuffer;
  private readonly readback?: GPUBuffer;
  constructor(private readonly device: GPUDevice) {
    if (device.features.has('timestamp-query')) {
      this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
      this.resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      this.readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
  }
  get kind(): GpuKernelReport['timing'] {
    return this.querySet ? 'timestamp-query' : 'wall clock';
  }

  /** One sample: ms for R units. Compute work is timed inside its pass where timestamps exist. */
  private async sample(record: (enc: GPUCommandEncoder, pass?: GPUComputePassDescriptor) => void, reps: number, inPass: boolean): Promise<number> {
    const enc = this.device.createCommandEncoder();
    const timed = inPass && this.querySet;
    for (let r = 0; r < (timed ? 1 : reps); r++)
      record(enc, timed ? { timestampWrites: { querySet: this.querySet!, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : undefined);
    if (timed) {
      enc.resolveQuerySet(this.querySet!, 0, 2, this.resolve!, 0);
      enc.copyBufferToBuffer(this.resolve!, 0, this.readback!, 0, 16);
    }
    const t0 = performance.now();
    this.device.queue.submit([enc.finish()]);
    await this.device.queue.onSubmittedWorkDone();
    const wall = performance.now() - t0;
    if (!timed) return wall;
    await this.readback!.mapAsync(GPUMapMode.READ);
    const [a, b] = new BigUint64Array(this.readback!.getMappedRange().slice(0));
    this.readback!.unmap();
    const ns = Number(b! - a!);
    // A zero or negative span (quantised or unsupported timestamps on a very short pass): fall back to the wall clock.
    return ns > 0 ? ns / 1e6 : wall;
  }

  /**
   * ms per unit of work. `unit(pass)` records one unit into a compute pass (`compute`), or
   * `copy(enc)` records one unit outside passes (timed by the wall clock).
   */
  async time(work: { compute?: (pass: GPUComputePassEncoder) => void; copy?: (enc: GPUCommandEncoder) => void }, targetMs: number, samples: number): Promise<{ ms: number; reps: number }> {
    const run = (reps: number) =>
      this.sample(
        (enc, desc) => {
          if (work.copy) return work.copy(enc);
          const pass = enc.beginComputePass(desc);
          for (let r = 0; r < (desc ? reps : 1); r++) work.compute!(pass);
          pass.end();
        },
        reps,
        !!work.compute,
      );
    // targetMs 0: one unit per sample, no warm-up or calibration (smoke tests on software adapters)
    let reps = 1;
    if (targetMs > 0) {
      await run(1); // warm-up: first use of pipelines and buffers
      reps = Math.max(1, Math.min(4096, Math.round(targetMs / Math.max((await run(2)) / 2, 1e-4))));
    }
    const times: number[] = [];
    for (let s = 0; s < samples; s++) times.push((await run(reps)) / reps);
    return { ms: median(times), reps };
  }
}

function storage(device: GPUDevice, bytes: number, label: string): GPUBuffer {
  return device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label });
}

function upload(device: GPUDevice, data: Float32Array, label: string): GPUBuffer {
  const b = storage(device, data.byteLength, label);
  device.queue.writeBuffer(b, 0, data as Float32Array<ArrayBuffer>);
  return b;
}

async function readFloats(device: GPUDevice, buf: GPUBuffer, floats: number): Promise<Float32Array> {
  const rb = device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, rb, 0, floats * 4);
  device.queue.submit([enc.finish()]);
  await rb.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(rb.getMappedRange().slice(0));
  rb.destroy();
  return out;
}

/** Deterministic weights in the stored block format: random quant bytes with sane f16 scales, or random floats. */
function weights(dtype: DType, rows: number, cols: number, seed: number): Uint8Array {
  if (dtype === 'F32' || dtype === 'F16' || dtype === 'BF16') return fromFloat32(dtype, randoms(rows * cols, seed));
  return randomBlocks(dtype, rows * cols, seed);
}

/** Tokens of the 'eight tokens' variant. */
const BATCH = 8;

function record(pass: GPUComputePassEncoder, ops: Op[], T: number): void {
  for (const op of ops) {
    if (op.active && !op.active(T, 0, singleShape(T, 0))) continue;
    pass.setPipeline(op.pipeline);
    pass.setBindGroup(0, op.bindGroup);
    pass.dispatchWorkgroups(...op.workgroups(T, 0, singleShape(T, 0)));
  }
}

export async function measureGpuKernels(o: GpuKernelOptions = {}): Promise<GpuKernelReport> {
  const log = o.log ?? (() => {});
  const tiny = o.tiny ?? false;
  const samples = o.samples ?? (tiny ? 1 : 9);
  const targetMs = tiny ? 0 : 4;
  const { device, description, dot4I8 } = await acquireDevice();
  try {
    const timer = new Timer(device);
    const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    const features = [...device.features].sort();

    // The bandwidth references: a plain copy (bytes read + written) and a read-only shader.
    const bwBytes = Math.min(tiny ? 4 << 20 : 512 << 20, Math.floor(maxBinding / 256) * 256);
    const src = storage(device, bwBytes, 'bandwidth.src');
    const dst = storage(device, bwBytes, 'bandwidth.dst');
    const copy = await timer.time({ copy: (enc) => enc.copyBufferToBuffer(src, 0, dst, 0, bwBytes) }, tiny ? 0 : 40, samples);
    const copyRow: BandwidthRow = { bytes: 2 * bwBytes, us: copy.ms * 1000, gbPerS: (2 * bwBytes) / copy.ms / 1e6 };
    log(`copy: ${(bwBytes / 2 ** 20).toFixed(0)} MiB in ${copyRow.us.toFixed(1)} µs, ${copyRow.gbPerS.toFixed(1)} GB/s read+written`);
    const readModule = device.createShaderModule({ code: READ_WGSL, label: 'bandwidth.read' });
    const readPipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: readModule, entryPoint: 'main' }, label: 'bandwidth.read' });
    const sink = storage(device, 16, 'bandwidth.sink');
    const readBind = device.createBindGroup({ layout: readPipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: sink } }] });
    const readGroups = Math.min(65535, Math.ceil(bwBytes / 16 / 256 / 16));
    const read = await timer.time({ compute: (pass) => (pass.setPipeline(readPipeline), pass.setBindGroup(0, readBind), pass.dispatchWorkgroups(readGroups)) }, targetMs * 4, samples);
    const readRow: BandwidthRow = { bytes: bwBytes, us: read.ms * 1000, gbPerS: bwBytes / read.ms / 1e6 };
    log(`read-only shader: ${readRow.gbPerS.toFixed(1)} GB/s`);
    src.destroy();
    dst.destroy();

    const cache = new PipelineCache(device);
    const step = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'step' });
    device.queue.writeBuffer(step, 0, new Uint32Array([0, 1, 0, 0])); // pos0 0, one token
    const stepBatch = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'step8' });
    device.queue.writeBuffer(stepBatch, 0, new Uint32Array([0, BATCH, 0, 0]));
    const dummy = storage(device, 16, 'dummy');
    const rows: KernelRow[] = [];
    const families = o.families ?? ['gpu', 'cpu-backed'];
    const intTypes: RepackedType[] = ['Q4_0', 'Q5_0', 'Q4_K', ...(dot4I8 ? (['Q8_0', 'Q6_K'] as const) : [])];

    for (const type of o.types ?? GPU_KERNEL_TYPES) {
      for (const [si, shape] of shapes(tiny).entries()) {
        const halves = shape.kind === 'gateup' ? 2 : 1;
        const rowsPer = shape.N / halves;
        const stored = Array.from({ length: halves }, (_, h) => weights(type, rowsPer, shape.K, 100 + si * 10 + h));
        const xAll = randoms(BATCH * shape.K, 7 + si);
        const aux = shape.kind === 'down' ? randoms(shape.K, 8 + si) : Float32Array.from(randoms(shape.K, 9 + si), (v) => 1 + 0.2 * v);
        for (const family of families) {
          const cpuBacked = family === 'cpu-backed';
          const w = new GpuWeights(device, maxBinding, new Set(cpuBacked ? intTypes : []));
          const names = stored.map((_, h) => `${shape.kind}.${h}`);
          stored.forEach((b, h) => w.tensor(names[h]!, [rowsPer, shape.K], type, b));
          const fused = halves > 1 ? w.fuse(names, `${shape.kind}.fused`) : undefined;
          const m: GpuMatrix = fused ?? w.matrix(names[0]!);
          const outs = Array.from({ length: halves }, (_, h) => storage(device, BATCH * rowsPer * 4, `y${h}`));
          const xBuf = upload(device, xAll, 'x');
          const auxBuf = upload(device, aux, 'aux');
          const xq = storage(device, quantizedWords(shape.K, 1) * 4, 'xq');
          // cpu-backed adapters run steps of several tokens on their gemm kernels, not timed here
          const batched: KernelRow['variant'][] = ['eight tokens', 'eight tokens, 8 per workgroup'];
          const variants: KernelRow['variant'][] = cpuBacked ? ['matvec'] : canFoldInput(device, shape.K) ? ['matvec', 'folded', ...batched] : ['matvec', ...batched];
          for (const variant of variants) {
            const folded = variant === 'folded';
            const T = batched.includes(variant) ? BATCH : 1;
            const tokensPerWorkgroup = variant === 'eight tokens, 8 per workgroup' ? 8 : undefined;
            const stepBuf = T === 1 ? step : stepBatch;
            const input: MatmulArgs['input'] = !folded ? undefined : shape.kind === 'down' ? { swiglu: auxBuf } : { rmsnorm: auxBuf, eps: 1e-5 };
            // The transformer's down projection adds into the residual stream.
            const accumulate = shape.kind === 'down';
            const ops = (
              await matmulOps(cache, {
                label: `${type} ${shape.kind}`, dtype: m.dtype, K: m.cols, parts: m.parts, x: xBuf, y: outs[0]!, step: stepBuf, dummy, cpuBacked, xq, input, accumulate, tokensPerWorkgroup,
                segments: fused ? outs.map((b) => ({ buffer: b, rows: rowsPer })) : undefined,
              })
            ).matvec;
            // Unfused halves (a type whose rows cannot be concatenated): both matvecs, as the transformer would run them.
            const extra = halves > 1 && !fused ? (await matmulOps(cache, { label: `${type} up`, dtype: m.dtype, K: m.cols, parts: w.matrix(names[1]!).parts, x: xBuf, y: outs[1]!, step: stepBuf, dummy, cpuBacked, xq, input, tokensPerWorkgroup })).matvec : [];
            const all = [...ops, ...extra];
            device.pushErrorScope('validation');
            const t = await timer.time({ compute: (pass) => record(pass, all, T) }, targetMs, samples);
            const err = await device.popErrorScope();
            if (err) throw new Error(`${type} ${shape.name} ${family} ${variant}: ${err.message}`);
            // Check: zeroed outputs, one matvec, rows of each half (of the first and last token) against the float64 reference.
            for (const b of outs) device.queue.writeBuffer(b, 0, new Float32Array(BATCH * rowsPer));
            const enc = device.createCommandEncoder();
            const pass = enc.beginComputePass();
            record(pass, all, T);
            pass.end();
            device.queue.submit([enc.finish()]);
            let worst = 0;
            for (const [h, b] of outs.entries()) {
              const gotAll = await readFloats(device, b, T * rowsPer);
              for (const [t, r] of [0, T - 1].flatMap((t) => [0, (rowsPer >> 1) + 1, rowsPer - 1].map((r) => [t, r] as const))) {
                const xin = referenceInput(xAll.subarray(t * shape.K, (t + 1) * shape.K), aux, folded ? (shape.kind === 'down' ? 'swiglu' : 'rmsnorm') : 'none');
                const got = gotAll.subarray(t * rowsPer);
                const rowBytes = byteSize(type, shape.K);
                const wr = toFloat32(type, stored[h]!.subarray(r * rowBytes, (r + 1) * rowBytes), shape.K);
                let want = 0, mag = 0;
                for (let i = 0; i < shape.K; i++) {
                  want += wr[i]! * xin[i]!;
                  mag += Math.abs(wr[i]! * xin[i]!);
                }
                const e = Math.abs(got[r]! - want) / Math.max(mag, 1e-30);
                worst = Math.max(worst, Number.isFinite(e) ? e : Infinity);
              }
            }
            const bytes = m.bytes + (halves > 1 && !fused ? w.matrix(names[1]!).bytes : 0);
            const gbPerS = bytes / t.ms / 1e6;
            const row: KernelRow = {
              family, type, gpuType: m.dtype, shape: shape.name, variant, us: round(t.ms * 1000, 2), weightBytes: bytes, gbPerS: round(gbPerS, 1),
              pctOfCopy: round((100 * gbPerS) / copyRow.gbPerS, 1), pctOfRead: round((100 * gbPerS) / readRow.gbPerS, 1), reps: t.reps, err: worst, ok: worst < CHECK_TOL,
            };
            rows.push(row);
            log(`${family} ${type} ${shape.name} ${variant}: ${row.us} µs, ${row.gbPerS} GB/s (${row.pctOfCopy} % of copy), check ${row.ok ? 'ok' : 'FAIL'} (${worst.toExponential(1)})`);
          }
          w.destroy();
          [...outs, xBuf, auxBuf, xq].forEach((b) => b.destroy());
        }
      }
    }
    return {
      adapter: description, features, timing: timer.kind,
      copy: { bytes: copyRow.bytes, us: round(copyRow.us, 1), gbPerS: round(copyRow.gbPerS, 1) },
      read: { bytes: readRow.bytes, us: round(readRow.us, 1), gbPerS: round(readRow.gbPerS, 1) },
      rows,
    };
  } finally {
    device.destroy();
  }
}

/** Rounded to `digits` decimals, or to 3 significant digits where that keeps more (small figures of slow adapters). */
function round(v: number, digits: number): number {
  if (v !== 0 && Math.abs(v) < 10 ** (3 - digits)) return Number(v.toPrecision(3));
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** The vector the matvec multiplies, computed on the CPU in float64 (folded inputs applied). */
function referenceInput(x: Float32Array, aux: Float32Array, mode: 'none' | 'rmsnorm' | 'swiglu'): Float64Array {
  if (mode === 'swiglu') return Float64Array.from(x, (g, i) => (g / (1 + Math.exp(-g))) * aux[i]!);
  if (mode === 'none') return Float64Array.from(x);
  const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
  const inv = 1 / Math.sqrt(ms + 1e-5);
  return Float64Array.from(x, (v, i) => v * inv * aux[i]!);
}

export function gpuKernelTable(r: GpuKernelReport): string {
  const mb = (b: number) => (b / 1e6).toFixed(2);
  return [
    `GPU kernels on ${r.adapter} (timing: ${r.timing}; features: ${r.features.join(', ')})`,
    '',
    `Plain copy (copyBufferToBuffer, ${mb(r.copy.bytes / 2)} MB): ${r.copy.gbPerS} GB/s read + written. Read-only shader (${mb(r.read.bytes)} MB): ${r.read.gbPerS} GB/s.`,
    '',
    '| family | type | shape K→N | variant | µs per matvec (median; eight tokens: per step) | weight MB | GB/s | % of copy | % of read-only | matvecs per pass | check vs cpu (max rel. err) |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...r.rows.map(
      (x) =>
        `| ${x.family} | ${x.type}${x.gpuType !== x.type ? ` (${x.gpuType})` : ''} | ${x.shape.replace(/\|/g, '\\|')} | ${x.variant} | ${x.us} | ${mb(x.weightBytes)} | ${x.gbPerS} | ${x.pctOfCopy} | ${x.pctOfRead} | ${x.reps} | ${x.ok ? 'ok' : 'FAIL'} (${x.err.toExponential(1)}) |`,
    ),
  ].join('\n');
}

/** The command line: prints the table and writes it with the JSON to bench/results/. */
export async function gpuKernelsCli(argv: string[], resultsDir: string): Promise<GpuKernelReport> {
  const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const report = await measureGpuKernels({
    tiny: argv.includes('--tiny'),
    types: opt('types')?.split(',') as DType[] | undefined,
    families: opt('families')?.split(',') as KernelFamily[] | undefined,
    samples: Number(opt('samples')) || undefined,
    log: (line) => process.stderr.write(line + '\n'),
  });
  const table = gpuKernelTable(report);
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = `${new Date().toISOString().replace(/[:.]/g, '-')}-gpu-kernels`;
  writeFileSync(join(resultsDir, `${stamp}.json`), JSON.stringify(report, null, 2));
  writeFileSync(join(resultsDir, `${stamp}.md`), table + '\n');
  console.log(table);
  if (report.rows.some((r) => !r.ok)) process.exitCode = 1;
  return report;
}
