/**
 * Weights on the GPU. Matrices keep their stored type (every DType: float, ggml's 32-blocks, K-quants
 * and IQ4): the kernels dequantise in registers (shaders/dequant_<type>.wgsl), so a Q4_0 model occupies its file size in GPU memory. A matrix larger
 * than one storage binding is split into row ranges, one buffer each. Vectors (norms, biases) are
 * small and become float32. For the integer matvecs of CPU-backed adapters, Q4_0, Q5_0, Q8_0, Q4_K
 * and Q6_K matrices are stored as Q4_0W, Q5_0W, Q8_0W, Q4_KW and Q6_KW: the same blocks made
 * word-aligned, with float32 scales (20 bytes instead of 18, 24 instead of 22, 36 instead of 34,
 * 192 instead of 144, 256 instead of 210).
 */
import { blockElements, f16ToF32, scaleMinK4, toFloat32, type DType } from '../../formats/dtypes.js';
import type { TensorSink } from '../../model/load.js';
import type { WeightPart } from './kernels/matmul.js';

/** A weight type as the kernels read it: a stored type, or a word-aligned repack (shaders/dequant_q4_0w.wgsl, dequant_q8_0w.wgsl). */
export type GpuDType = DType | 'Q4_0W' | 'Q5_0W' | 'Q8_0W' | 'Q4_KW' | 'Q6_KW';

/** Blocks of a float16 scale + n quant bytes → blocks of a float32 scale + the same bytes. */
function widenScales(bytes: Uint8Array, quantBytes: number): Uint8Array {
  const from = 2 + quantBytes, to = 4 + quantBytes;
  const blocks = bytes.length / from;
  const out = new Uint8Array(blocks * to);
  const scales = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    scales.setFloat32(b * to, f16ToF32(bytes[b * from]! | (bytes[b * from + 1]! << 8)), true);
    out.set(bytes.subarray(b * from + 2, b * from + from), b * to + 4);
  }
  return out;
}

/** Q4_0 → Q4_0W: 20-byte blocks. */
export function repackQ4_0W(bytes: Uint8Array): Uint8Array {
  return widenScales(bytes, 16);
}

/** Q5_0 → Q5_0W: 24-byte blocks (scale, fifth bits, nibbles). */
export function repackQ5_0W(bytes: Uint8Array): Uint8Array {
  return widenScales(bytes, 20);
}

/**
 * Q4_K → Q4_KW: per 256 weights, the 8 sub-block scales d * sc and mins dmin * m as float32
 * (rounded as the cpu dequantisation rounds them), then the 128 quant bytes: 192 bytes for 144.
 */
export function repackQ4_KW(bytes: Uint8Array): Uint8Array {
  const blocks = bytes.length / 144;
  const out = new Uint8Array(blocks * 192);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const o = b * 144;
    const d = f16ToF32(bytes[o]! | (bytes[o + 1]! << 8));
    const dmin = f16ToF32(bytes[o + 2]! | (bytes[o + 3]! << 8));
    for (let s = 0; s < 8; s++) {
      const [sc, m] = scaleMinK4(bytes, o + 4, s);
      view.setFloat32(b * 192 + 4 * s, Math.fround(d * sc), true);
      view.setFloat32(b * 192 + 32 + 4 * s, Math.fround(dmin * m), true);
    }
    out.set(bytes.subarray(o + 16, o + 144), b * 192 + 64);
  }
  return out;
}

/**
 * Q6_K → Q6_KW: per 256 weights, the 16 group scales d * sc as float32 (rounded as the cpu
 * dequantisation rounds them), then the 192 bytes of ql and qh, word-aligned: 256 bytes for 210.
 */
export function repackQ6_KW(bytes: Uint8Array): Uint8Array {
  const blocks = bytes.length / 210;
  const out = new Uint8Array(blocks * 256);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const o = b * 210;
    const d = f16ToF32(bytes[o + 208]! | (bytes[o + 209]! << 8));
    for (let j = 0; j < 16; j++) view.setFloat32(b * 256 + 4 * j, Math.fround(d * ((bytes[o + 192 + j]! << 24) >> 24)), true);
    out.set(bytes.subarray(o, o + 192), b * 256 + 64);
  }
  return out;
}

/** Q8_0 → Q8_0W: 36-byte blocks. */
export function repackQ8_0W(bytes: Uint8Array): Uint8Array {
  return widenScales(bytes, 32);
}

const REPACKED = { Q4_0: { dtype: 'Q4_0W', repack: repackQ4_0W }, Q5_0: { dtype: 'Q5_0W', repack: repackQ5_0W }, Q8_0: { dtype: 'Q8_0W', repack: repackQ8_0W }, Q4_K: { dtype: 'Q4_KW', repack: repackQ4_KW }, Q6_K: { dtype: 'Q6_KW', repack: repackQ6_KW } } as const;
export type RepackedType = keyof typeof REPACKED;
/** The word-aligned repacks' own types (the integer-input kernels read only these). */
export const REPACKED_DTYPES: ReadonlySet<GpuDType> = new Set(Object.values(REPACKED).map((r) => r.dtype));

export interface GpuMatrix {
  dtype: GpuDType;
  rows: number;
  cols: number;
  parts: WeightPart[];
  bytes: number;
}

export function upload(device: GPUDevice, data: Uint8Array, label: string): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 4) * 4);
  const buffer = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, mappedAtCreation: true, label });
  new Uint8Array(buffer.getMappedRange()).set(data);
  buffer.unmap();
  return buffer;
}

export class GpuWeights implements TensorSink {
  readonly matrices = new Map<string, GpuMatrix>();
  readonly vectors = new Map<string, GPUBuffer>();
  readonly shapes = new Map<string, number[]>();
  bytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBinding: number,
    /** Stored types to repack word-aligned (for the integer matvecs). */
    private readonly repack: ReadonlySet<RepackedType> = new Set(),
  ) {}

  tensor(name: string, shape: number[], stored: DType, storedBytes: Uint8Array): void {
    this.shapes.set(name, shape);
    if (shape.length === 1) {
      const buf = upload(this.device, new Uint8Array(toFloat32(stored, storedBytes, shape[0]!).buffer), name);
      this.vectors.set(name, buf);
      this.bytes += buf.size;
      return;
    }
    const [rows, cols] = shape as [number, number];
    const block = blockElements(stored);
    if (cols % block !== 0) throw new Error(`tensor ${name}: ${stored} rows must be a multiple of ${block} elements, got ${cols}`);
    const to = stored in REPACKED && this.repack.has(stored as RepackedType) ? REPACKED[stored as RepackedType] : undefined;
    const dtype: GpuDType = to?.dtype ?? stored;
    const bytes = to ? to.repack(storedBytes) : storedBytes;
    const rowBytes = bytes.length / rows;
    const rowsPerPart = Math.floor(this.maxBinding / rowBytes);
    if (rowsPerPart < 1) throw new Error(`tensor ${name}: one row (${rowBytes} bytes) exceeds the GPU's largest storage binding (${this.maxBinding} bytes)`);
    const parts: WeightPart[] = [];
    for (let r = 0; r < rows; r += rowsPerPart) {
      const n = Math.min(rowsPerPart, rows - r);
      // Rows of block types can end mid-word; each part starts a fresh buffer at its first row.
      parts.push({ buffer: upload(this.device, bytes.subarray(r * rowBytes, (r + n) * rowBytes), `${name}[${r}]`), rowOffset: r, rows: n });
    }
    this.matrices.set(name, { dtype, rows, cols, parts, bytes: bytes.length });
    this.bytes += bytes.length;
  }

  matrix(name: string): GpuMatrix {
    const m = this.matrices.get(name);
    if (!m) throw new Error(`missing weight ${name}`);
    return m;
  }

  /**
   * Concatenates the rows of matrices that read the same input (q|k|v, gate|up) into one, so one
   * dispatch computes them all; the originals are freed. Undefined, and nothing changes, when they
   * differ in type or width, are split, or their rows do not end on a 4-byte boundary.
   */
  fuse(names: string[], name: string): GpuMatrix | undefined {
    const ms = names.map((n) => this.matrix(n));
    const first = ms[0]!;
    const bytes = ms.reduce((a, m) => a + m.bytes, 0);
    if (ms.some((m) => m.dtype !== first.dtype || m.cols !== first.cols || m.parts.length !== 1 || m.bytes % 4 !== 0) || bytes > this.maxBinding) return undefined;
    const buffer = this.device.createBuffer({ size: Math.max(16, bytes), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: name });
    this.concat(ms.map((m) => ({ buffer: m.parts[0]!.buffer, bytes: m.bytes })), buffer);
    names.forEach((n) => this.matrices.delete(n));
    const fused: GpuMatrix = { dtype: first.dtype, rows: ms.reduce((a, m) => a + m.rows, 0), cols: first.cols, parts: [{ buffer, rowOffset: 0, rows: ms.reduce((a, m) => a + m.rows, 0) }], bytes };
    this.matrices.set(name, fused);
    return fused;
  }

  /** The fused matrix's bias: the vectors concatenated (float32, so always word-aligned). */
  fuseVectors(names: string[], name: string): GPUBuffer {
    const vs = names.map((n) => this.vector(n));
    const bytes = names.reduce((a, n) => a + this.shapes.get(n)![0]! * 4, 0);
    const buffer = this.device.createBuffer({ size: Math.max(16, bytes), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: name });
    this.concat(vs.map((b, i) => ({ buffer: b, bytes: this.shapes.get(names[i]!)![0]! * 4 })), buffer);
    names.forEach((n) => this.vectors.delete(n));
    this.vectors.set(name, buffer);
    return buffer;
  }

  private concat(from: { buffer: GPUBuffer; bytes: number }[], to: GPUBuffer): void {
    const enc = this.device.createCommandEncoder();
    let offset = 0;
    for (const f of from) {
      enc.copyBufferToBuffer(f.buffer, 0, to, offset, f.bytes);
      offset += f.bytes;
    }
    this.device.queue.submit([enc.finish()]);
    // Destroying after submit is safe: the copies complete first.
    for (const f of from) f.buffer.destroy();
  }

  vector(name: string): GPUBuffer {
    const v = this.vectors.get(name);
    if (!v) throw new Error(`missing weight ${name}`);
    return v;
  }

  destroy(): void {
    for (const m of this.matrices.values()) for (const p of m.parts) p.buffer.destroy();
    for (const v of this.vectors.values()) v.destroy();
  }
}
