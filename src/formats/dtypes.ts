/**
 * Element types of model tensors and their conversion to and from float32.
 * Block-quantised layouts follow ggml (the GGUF reference, ggml-common.h): blocks of 32 elements
 * (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) or super-blocks of 256 (Q2_K .. Q6_K, IQ4_XS).
 */

/** ggml type ids as written in GGUF tensor infos (ggml.h's enum ggml_type), all of them, so errors can name any. */
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
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
} as const;

/** The element types webinfer reads, on every backend. */
export const DTYPES = ['F32', 'F16', 'BF16', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_NL', 'IQ4_XS'] as const;
export type DType = (typeof DTYPES)[number];

interface Layout {
  blockElems: number;
  blockBytes: number;
}
/** Block sizes from ggml-common.h (QK_K = 256 for the K and IQ4_XS types). */
const LAYOUTS: Record<DType, Layout> = {
  F32: { blockElems: 1, blockBytes: 4 },
  F16: { blockElems: 1, blockBytes: 2 },
  BF16: { blockElems: 1, blockBytes: 2 },
  Q4_0: { blockElems: 32, blockBytes: 18 },
  Q4_1: { blockElems: 32, blockBytes: 20 },
  Q5_0: { blockElems: 32, blockBytes: 22 },
  Q5_1: { blockElems: 32, blockBytes: 24 },
  Q8_0: { blockElems: 32, blockBytes: 34 },
  Q2_K: { blockElems: 256, blockBytes: 84 },
  Q3_K: { blockElems: 256, blockBytes: 110 },
  Q4_K: { blockElems: 256, blockBytes: 144 },
  Q5_K: { blockElems: 256, blockBytes: 176 },
  Q6_K: { blockElems: 256, blockBytes: 210 },
  IQ4_NL: { blockElems: 32, blockBytes: 18 },
  IQ4_XS: { blockElems: 256, blockBytes: 136 },
};

export function dtypeFromGGML(id: number): DType | undefined {
  const name = Object.entries(GGMLType).find(([, v]) => v === id)?.[0];
  return name && name in LAYOUTS ? (name as DType) : undefined;
}

export function ggmlTypeName(id: number): string {
  return Object.entries(GGMLType).find(([, v]) => v === id)?.[0] ?? `type ${id}`;
}

/** Elements per block: a matrix row must hold whole blocks. */
export function blockElements(dtype: DType): number {
  return LAYOUTS[dtype].blockElems;
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
// Bit for bit as ggml's dequantize_row_* (and gguf-py's gguf.quants.dequantize): every product
// and sum is a float32 operation, so each step is rounded with Math.fround (a float64 result of
// one operation on float32 values, rounded to float32, is the correctly rounded float32 result).

const fr = Math.fround;

/** ggml's non-linear 4-bit grid of IQ4_NL and IQ4_XS (kvalues_iq4nl). */
export const IQ4_GRID = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113] as const;

type BlockDecoder = (q: Uint8Array, v: DataView, o: number, out: Float32Array, y: number) => void;

const half = (v: DataView, o: number) => f16ToF32(v.getUint16(o, true));

/** Q4_0: f16 d, 16 bytes of nibbles (low = weights 0..15, high = 16..31); w = d (q - 8). */
const q4_0: BlockDecoder = (q, v, o, out, y) => {
  const d = half(v, o);
  for (let j = 0; j < 16; j++) {
    out[y + j] = fr(d * ((q[o + 2 + j]! & 15) - 8));
    out[y + j + 16] = fr(d * ((q[o + 2 + j]! >> 4) - 8));
  }
};

/** Q4_1: f16 d, f16 m, 16 bytes of nibbles; w = d q + m. */
const q4_1: BlockDecoder = (q, v, o, out, y) => {
  const d = half(v, o), m = half(v, o + 2);
  for (let j = 0; j < 16; j++) {
    out[y + j] = fr(fr(d * (q[o + 4 + j]! & 15)) + m);
    out[y + j + 16] = fr(fr(d * (q[o + 4 + j]! >> 4)) + m);
  }
};

/** Q5_0: f16 d, 32 high bits (bit j = weight j), 16 bytes of nibbles; w = d (q - 16). */
const q5_0: BlockDecoder = (q, v, o, out, y) => {
  const d = half(v, o), qh = v.getUint32(o + 2, true);
  for (let j = 0; j < 16; j++) {
    out[y + j] = fr(d * (((q[o + 6 + j]! & 15) | (((qh >>> j) & 1) << 4)) - 16));
    out[y + j + 16] = fr(d * (((q[o + 6 + j]! >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16));
  }
};

/** Q5_1: f16 d, f16 m, 32 high bits, 16 bytes of nibbles; w = d q + m. */
const q5_1: BlockDecoder = (q, v, o, out, y) => {
  const d = half(v, o), m = half(v, o + 2), qh = v.getUint32(o + 4, true);
  for (let j = 0; j < 16; j++) {
    out[y + j] = fr(fr(d * ((q[o + 8 + j]! & 15) | (((qh >>> j) & 1) << 4))) + m);
    out[y + j + 16] = fr(fr(d * ((q[o + 8 + j]! >> 4) | (((qh >>> (j + 16)) & 1) << 4))) + m);
  }
};

/** Q8_0: f16 d, 32 int8; w = d q. */
const q8_0: BlockDecoder = (_q, v, o, out, y) => {
  const d = half(v, o);
  for (let j = 0; j < 32; j++) out[y + j] = fr(d * v.getInt8(o + 2 + j));
};

/** IQ4_NL: f16 d, 16 bytes of nibbles indexing IQ4_GRID; w = d grid[q]. */
const iq4_nl: BlockDecoder = (q, v, o, out, y) => {
  const d = half(v, o);
  for (let j = 0; j < 16; j++) {
    out[y + j] = fr(d * IQ4_GRID[q[o + 2 + j]! & 15]!);
    out[y + j + 16] = fr(d * IQ4_GRID[q[o + 2 + j]! >> 4]!);
  }
};

/**
 * Q2_K: 16 bytes of (4-bit scale | 4-bit min << 4), 64 bytes of 2-bit q, f16 d, f16 dmin. Each
 * 128-weight half reads 32 quant bytes four times (bits 0-1, 2-3, 4-5, 6-7), 16 weights per scale.
 */
const q2_k: BlockDecoder = (q, v, o, out, y) => {
  const d = half(v, o + 80), dmin = half(v, o + 82);
  for (let g = 0; g < 16; g++) {
    const sc = q[o + g]!;
    const dl = fr(d * (sc & 15)), ml = fr(dmin * (sc >> 4));
    const qs = o + 16 + 32 * (g >> 3) + 16 * (g & 1); // byte run of this group
    const shift = 2 * ((g >> 1) & 3);
    for (let l = 0; l < 16; l++) out[y + 16 * g + l] = fr(fr(dl * ((q[qs + l]! >> shift) & 3)) - ml);
  }
};

/** The 16 6-bit scales of a Q3_K block (12 bytes at o): low nibbles from bytes 0-7, high pairs from 8-11. */
function q3kScales(q: Uint8Array, o: number): number[] {
  const s: number[] = [];
  for (let j = 0; j < 16; j++) {
    const lo = (q[o + (j & 7)]! >> (4 * (j >> 3))) & 15;
    const hi = (q[o + 8 + (j & 3)]! >> (2 * (j >> 2))) & 3;
    s.push((lo | (hi << 4)) - 32);
  }
  return s;
}

/**
 * Q3_K: 32 bytes of high bits (hmask), 64 bytes of 2-bit low parts, 12 bytes of 6-bit scales,
 * f16 d. Weight l of group g (16 weights each) takes bits as Q2_K does; its high bit is bit
 * g / 2 of hmask[l + 16 (g & 1)], and a clear bit subtracts 4.
 */
const q3_k: BlockDecoder = (q, v, o, out, y) => {
  const d = half(v, o + 108);
  const scales = q3kScales(q, o + 96);
  for (let g = 0; g < 16; g++) {
    const dl = fr(d * scales[g]!);
    const half128 = g >> 3, pair = (g >> 1) & 3, sub = g & 1;
    const qs = o + 32 + 32 * half128 + 16 * sub;
    const hm = o + 16 * sub;
    const bit = 4 * half128 + pair;
    for (let l = 0; l < 16; l++) {
      const low = (q[qs + l]! >> (2 * pair)) & 3;
      const high = (q[hm + l]! >> bit) & 1 ? 0 : 4;
      out[y + 16 * g + l] = fr(dl * (low - high));
    }
  }
};

/** ggml get_scale_min_k4: the j-th 6-bit (scale, min) pair of a Q4_K/Q5_K block's 12 scale bytes. */
export function scaleMinK4(q: Uint8Array, o: number, j: number): [number, number] {
  if (j < 4) return [q[o + j]! & 63, q[o + j + 4]! & 63];
  return [(q[o + j + 4]! & 0xf) | ((q[o + j - 4]! >> 6) << 4), (q[o + j + 4]! >> 4) | ((q[o + j]! >> 6) << 4)];
}

/** Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles; w = d sc q - dmin m per 32. */
const q4_k: BlockDecoder = (q, v, o, out, y) => {
  const d = half(v, o), dmin = half(v, o + 2);
  for (let s = 0; s < 8; s++) {
    const [sc, m] = scaleMinK4(q, o + 4, s);
    const dl = fr(d * sc), ml = fr(dmin * m);
    const qs = o + 16 + 32 * (s >> 1), shift = 4 * (s & 1);
    for (let l = 0; l < 32; l++) out[y + 32 * s + l] = fr(fr(dl * ((q[qs + l]! >> shift) & 15)) - ml);
  }
};

/** Q5_K: Q4_K's fields with 32 bytes of high bits (bit s of byte l for weight l of sub-block s) before the nibbles. */
const q5_k: BlockDecoder = (q, v, o, out, y) => {
  const d = half(v, o), dmin = half(v, o + 2);
  for (let s = 0; s < 8; s++) {
    const [sc, m] = scaleMinK4(q, o + 4, s);
    const dl = fr(d * sc), ml = fr(dmin * m);
    const qs = o + 48 + 32 * (s >> 1), shift = 4 * (s & 1);
    for (let l = 0; l < 32; l++) {
      const val = ((q[qs + l]! >> shift) & 15) | (((q[o + 16 + l]! >> s) & 1) << 4);
      out[y + 32 * s + l] = fr(fr(dl * val) - ml);
    }
  }
};

/** Q6_K: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8 scales, f16 d. */
const q6_k: BlockDecoder = (q, v, o, out, y) => {
  const d = half(v, o + 208);
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
      out[y + n * 128 + l] = fr(fr(d * v.getInt8(sc + is)) * q1);
      out[y + n * 128 + l + 32] = fr(fr(d * v.getInt8(sc + is + 2)) * q2);
      out[y + n * 128 + l + 64] = fr(fr(d * v.getInt8(sc + is + 4)) * q3);
      out[y + n * 128 + l + 96] = fr(fr(d * v.getInt8(sc + is + 6)) * q4);
    }
  }
};

/** IQ4_XS: f16 d, 16 high scale bits, 4 bytes of low scale nibbles, 128 bytes of IQ4_GRID indices (as IQ4_NL per 32). */
const iq4_xs: BlockDecoder = (q, v, o, out, y) => {
  const d = half(v, o), hi = v.getUint16(o + 2, true);
  for (let s = 0; s < 8; s++) {
    const ls = ((q[o + 4 + (s >> 1)]! >> (4 * (s & 1))) & 15) | (((hi >> (2 * s)) & 3) << 4);
    const dl = fr(d * (ls - 32));
    const qs = o + 8 + 16 * s;
    for (let j = 0; j < 16; j++) {
      out[y + 32 * s + j] = fr(dl * IQ4_GRID[q[qs + j]! & 15]!);
      out[y + 32 * s + j + 16] = fr(dl * IQ4_GRID[q[qs + j]! >> 4]!);
    }
  }
};

const BLOCK_DECODERS: Partial<Record<DType, BlockDecoder>> = { Q4_0: q4_0, Q4_1: q4_1, Q5_0: q5_0, Q5_1: q5_1, Q8_0: q8_0, Q2_K: q2_k, Q3_K: q3_k, Q4_K: q4_k, Q5_K: q5_k, Q6_K: q6_k, IQ4_NL: iq4_nl, IQ4_XS: iq4_xs };

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
  }
  const decode = BLOCK_DECODERS[dtype]!;
  const { blockElems, blockBytes } = LAYOUTS[dtype];
  for (let b = 0; b < elements / blockElems; b++) decode(bytes, view, b * blockBytes, out, b * blockElems);
  return out;
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
  // The other types are written by llama.cpp's own llama-quantize in the tests (scripts/llama-tools.sh).
  throw new Error(`no ${dtype} encoder here: quantise to ${dtype} with llama.cpp's llama-quantize`);
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
