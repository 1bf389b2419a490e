/**
 * Element types of model tensors and their conversion to and from float32.
 * Block-quantised layouts follow ggml (the GGUF reference): Q8_0 and Q4_0 blocks of 32 elements.
 */

/** ggml type ids as written in GGUF tensor infos. */
export const GGMLType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  BF16: 30,
} as const;
export type DType = 'F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q6_K';

interface Layout {
  blockElems: number;
  blockBytes: number;
}
const LAYOUTS: Record<DType, Layout> = {
  F32: { blockElems: 1, blockBytes: 4 },
  F16: { blockElems: 1, blockBytes: 2 },
  BF16: { blockElems: 1, blockBytes: 2 },
  Q8_0: { blockElems: 32, blockBytes: 34 },
  Q4_0: { blockElems: 32, blockBytes: 18 },
  Q4_K: { blockElems: 256, blockBytes: 144 },
  Q6_K: { blockElems: 256, blockBytes: 210 },
};

export function dtypeFromGGML(id: number): DType | undefined {
  const name = Object.entries(GGMLType).find(([, v]) => v === id)?.[0];
  return name && name in LAYOUTS ? (name as DType) : undefined;
}

export function ggmlTypeName(id: number): string {
  return Object.entries(GGMLType).find(([, v]) => v === id)?.[0] ?? `type ${id}`;
}

export function byteSize(dtype: DType, elements: number): number {
  const { blockElems, blockBytes } = LAYOUTS[dtype];
  if (elements % blockElems !== 0) throw new Error(`${dtype} needs a multiple of ${blockElems} elements, got ${elements}`);
  return (elements / blockElems) * blockBytes;
}

// ---- scalar conversions ----------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Round-to-nearest-even float32 → float16 bits. */
export function f32ToF16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function bf16ToF32(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

export function f32ToBF16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

// ---- whole-tensor conversions ------------------------------------------------------------------

/** Dequantises raw little-endian tensor bytes to float32. */
export function toFloat32(dtype: DType, bytes: Uint8Array, elements: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(elements);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < elements; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case 'F16':
      for (let i = 0; i < elements; i++) out[i] = f16ToF32(view.getUint16(i * 2, true));
      return out;
    case 'BF16':
      for (let i = 0; i < elements; i++) out[i] = bf16ToF32(view.getUint16(i * 2, true));
      return out;
    case 'Q8_0':
      for (let b = 0; b < elements / 32; b++) {
        const base = b * 34;
        const d = f16ToF32(view.getUint16(base, true));
        for (let j = 0; j < 32; j++) out[b * 32 + j] = d * view.getInt8(base + 2 + j);
      }
      return out;
    case 'Q4_0':
      for (let b = 0; b < elements / 32; b++) {
        const base = b * 18;
        const d = f16ToF32(view.getUint16(base, true));
        for (let j = 0; j < 16; j++) {
          const q = bytes[base + 2 + j]!;
          out[b * 32 + j] = d * ((q & 0x0f) - 8);
          out[b * 32 + j + 16] = d * ((q >> 4) - 8);
        }
      }
      return out;
    default:
      throw new Error(`dequantisation of ${dtype} is not supported by the CPU engine`);
  }
}

/** Encodes float32 values as `dtype` (used by the converters and the fixture generator). */
export function fromFloat32(dtype: DType, values: Float32Array): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(byteSize(dtype, n));
  const view = new DataView(out.buffer);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i]!, true);
      return out;
    case 'F16':
      for (let i = 0; i < n; i++) view.setUint16(i * 2, f32ToF16(values[i]!), true);
      return out;
    case 'BF16':
      for (let i = 0; i < n; i++) view.setUint16(i * 2, f32ToBF16(values[i]!), true);
      return out;
    case 'Q8_0':
      for (let b = 0; b < n / 32; b++) {
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[b * 32 + j]!));
        const d = amax / 127;
        const id = d ? 1 / d : 0;
        view.setUint16(b * 34, f32ToF16(d), true);
        for (let j = 0; j < 32; j++) view.setInt8(b * 34 + 2 + j, Math.round(values[b * 32 + j]! * id));
      }
      return out;
    case 'Q4_0':
      for (let b = 0; b < n / 32; b++) {
        // ggml's reference: the scale maps the value of largest magnitude to -8.
        let max = 0;
        for (let j = 0; j < 32; j++) {
          const v = values[b * 32 + j]!;
          if (Math.abs(v) > Math.abs(max)) max = v;
        }
        const d = max / -8;
        const id = d ? 1 / d : 0;
        view.setUint16(b * 18, f32ToF16(d), true);
        for (let j = 0; j < 16; j++) {
          const q0 = Math.min(15, Math.trunc(values[b * 32 + j]! * id + 8.5));
          const q1 = Math.min(15, Math.trunc(values[b * 32 + j + 16]! * id + 8.5));
          out[b * 18 + 2 + j] = q0 | (q1 << 4);
        }
      }
      return out;
    default:
      throw new Error(`quantisation to ${dtype} is not implemented`);
  }
}
