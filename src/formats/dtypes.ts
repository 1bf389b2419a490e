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
    case 'Q4_K':
      for (let b = 0; b < elements / 256; b++) dequantQ4K(bytes, view, b * 144, out, b * 256);
      return out;
    case 'Q6_K':
      for (let b = 0; b < elements / 256; b++) dequantQ6K(bytes, view, b * 210, out, b * 256);
      return out;
  }
}

/** ggml get_scale_min_k4: the j-th 6-bit (scale, min) pair of a Q4_K block's 12 scale bytes. */
function scaleMinK4(q: Uint8Array, o: number, j: number): [number, number] {
  if (j < 4) return [q[o + j]! & 63, q[o + j + 4]! & 63];
  return [(q[o + j + 4]! & 0xf) | ((q[o + j - 4]! >> 6) << 4), (q[o + j + 4]! >> 4) | ((q[o + j]! >> 6) << 4)];
}

/** Q4_K: 256 weights = f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles. */
function dequantQ4K(q: Uint8Array, view: DataView, o: number, out: Float32Array, y: number): void {
  const d = f16ToF32(view.getUint16(o, true));
  const dmin = f16ToF32(view.getUint16(o + 2, true));
  for (let c = 0; c < 4; c++) {
    const [s1, m1] = scaleMinK4(q, o + 4, 2 * c);
    const [s2, m2] = scaleMinK4(q, o + 4, 2 * c + 1);
    for (let l = 0; l < 32; l++) {
      const byte = q[o + 16 + c * 32 + l]!;
      out[y + c * 64 + l] = d * s1 * (byte & 0xf) - dmin * m1;
      out[y + c * 64 + 32 + l] = d * s2 * (byte >> 4) - dmin * m2;
    }
  }
}

/** Q6_K: 256 weights = 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8 scales, f16 d. */
function dequantQ6K(q: Uint8Array, view: DataView, o: number, out: Float32Array, y: number): void {
  const d = f16ToF32(view.getUint16(o + 208, true));
  for (let n = 0; n < 2; n++) {
    const ql = o + n * 64;
    const qh = o + 128 + n * 32;
    const sc = o + 192 + n * 8;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const h = q[qh + l]!;
      const q1 = ((q[ql + l]! & 0xf) | ((h & 3) << 4)) - 32;
      const q2 = ((q[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4)) - 32;
      const q3 = ((q[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32;
      const q4 = ((q[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32;
      out[y + n * 128 + l] = d * view.getInt8(sc + is) * q1;
      out[y + n * 128 + l + 32] = d * view.getInt8(sc + is + 2) * q2;
      out[y + n * 128 + l + 64] = d * view.getInt8(sc + is + 4) * q3;
      out[y + n * 128 + l + 96] = d * view.getInt8(sc + is + 6) * q4;
    }
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
    case 'Q4_K':
      for (let b = 0; b < n / 256; b++) quantQ4K(values.subarray(b * 256, b * 256 + 256), out, view, b * 144);
      return out;
    case 'Q6_K':
      for (let b = 0; b < n / 256; b++) quantQ6K(values.subarray(b * 256, b * 256 + 256), out, view, b * 210);
      return out;
  }
}

/**
 * A plain Q4_K quantiser (for test fixtures; llama.cpp's searches scales harder): per 32 weights
 * an affine map onto 0..15 whose scale and minimum are themselves quantised to 6 bits.
 */
function quantQ4K(x: Float32Array, out: Uint8Array, view: DataView, o: number): void {
  const scales: number[] = [];
  const mins: number[] = [];
  for (let s = 0; s < 8; s++) {
    const sub = x.subarray(s * 32, s * 32 + 32);
    const lo = Math.min(0, ...sub);
    const hi = Math.max(...sub);
    scales.push((hi - lo) / 15);
    mins.push(-lo);
  }
  const d = Math.max(...scales) / 63;
  const dmin = Math.max(...mins) / 63;
  const dh = f16ToF32(f32ToF16(d));
  const dminh = f16ToF32(f32ToF16(dmin));
  view.setUint16(o, f32ToF16(d), true);
  view.setUint16(o + 2, f32ToF16(dmin), true);
  const sc = scales.map((v) => (dh ? Math.min(63, Math.round(v / dh)) : 0));
  const mn = mins.map((v) => (dminh ? Math.min(63, Math.round(v / dminh)) : 0));
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      out[o + 4 + j] = sc[j]!;
      out[o + 4 + j + 4] = mn[j]!;
    } else {
      out[o + 4 + j + 4] = (sc[j]! & 0xf) | ((mn[j]! & 0xf) << 4);
      out[o + 4 + j - 4]! |= (sc[j]! >> 4) << 6;
      out[o + 4 + j]! |= (mn[j]! >> 4) << 6;
    }
  }
  for (let c = 0; c < 4; c++)
    for (let l = 0; l < 32; l++) {
      const q = (i: number, s: number) => {
        const step = dh * sc[s]!;
        return step ? Math.max(0, Math.min(15, Math.round((x[i]! + dminh * mn[s]!) / step))) : 0;
      };
      out[o + 16 + c * 32 + l] = q(c * 64 + l, 2 * c) | (q(c * 64 + 32 + l, 2 * c + 1) << 4);
    }
}

/** A plain Q6_K quantiser (for test fixtures): per 16 weights a signed 8-bit scale, 6-bit values. */
function quantQ6K(x: Float32Array, out: Uint8Array, view: DataView, o: number): void {
  const subScale: number[] = [];
  for (let s = 0; s < 16; s++) subScale.push(Math.max(...Array.from(x.subarray(s * 16, s * 16 + 16), Math.abs)) / 31);
  const d = Math.max(...subScale) / 127;
  const dh = f16ToF32(f32ToF16(d));
  view.setUint16(o + 208, f32ToF16(d), true);
  const sc = subScale.map((v) => (dh ? Math.min(127, Math.round(v / dh)) : 0));
  for (let s = 0; s < 16; s++) view.setInt8(o + 192 + s, sc[s]!);
  const qv = (i: number) => {
    const step = dh * sc[i >> 4]!;
    return (step ? Math.max(-32, Math.min(31, Math.round(x[i]! / step))) : 0) + 32;
  };
  for (let n = 0; n < 2; n++)
    for (let l = 0; l < 32; l++) {
      const b = n * 128;
      const [q1, q2, q3, q4] = [qv(b + l), qv(b + l + 32), qv(b + l + 64), qv(b + l + 96)];
      out[o + n * 64 + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
      out[o + n * 64 + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
      out[o + 128 + n * 32 + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
    }
}
