/**
 * Weights in any stored type for kernel tests. Types with an encoder here are quantised from
 * seeded random floats; the others (written by llama.cpp's llama-quantize in real files) get
 * random quant bytes — every bit pattern is a valid block — with their float16 scale fields set
 * to small seeded values, so no block holds a NaN or an overflowing scale.
 */
import { byteSize, f32ToF16, fromFloat32, type DType } from '../../src/formats/dtypes.js';
import { randoms } from './gpu.js';

/** Byte offsets of each block's float16 fields, and the block size, for every block type. */
const HALVES: Partial<Record<DType, { bytes: number; at: number[] }>> = {
  Q4_0: { bytes: 18, at: [0] },
  Q8_0: { bytes: 34, at: [0] },
  Q4_K: { bytes: 144, at: [0, 2] },
  Q6_K: { bytes: 210, at: [208] },
  Q4_1: { bytes: 20, at: [0, 2] },
  Q5_0: { bytes: 22, at: [0] },
  Q5_1: { bytes: 24, at: [0, 2] },
  IQ4_NL: { bytes: 18, at: [0] },
  Q2_K: { bytes: 84, at: [80, 82] },
  Q3_K: { bytes: 110, at: [108] },
  Q5_K: { bytes: 176, at: [0, 2] },
  IQ4_XS: { bytes: 136, at: [0] },
};

/** Types with an encoder come from quantised random floats, the others are random blocks. */
export function weightBytes(dtype: DType, elements: number, seed: number): Uint8Array {
  const encoded = ['F32', 'F16', 'BF16', 'Q4_0', 'Q8_0', 'Q4_K', 'Q6_K'];
  return encoded.includes(dtype) ? fromFloat32(dtype, randoms(elements, seed)) : randomBlocks(dtype, elements, seed);
}

/**
 * Random quant bytes (every bit pattern: int8 scales of -128, 6-bit codes of 63, ...) with small
 * float16 scale fields; float types get random values.
 */
export function randomBlocks(dtype: DType, elements: number, seed: number): Uint8Array {
  const layout = HALVES[dtype];
  if (!layout) return fromFloat32(dtype, randoms(elements, seed));
  const out = new Uint8Array(byteSize(dtype, elements));
  let s = seed * 2654435761 >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  const view = new DataView(out.buffer);
  const scales = randoms((out.length / layout.bytes) * layout.at.length, seed + 1);
  let k = 0;
  for (let b = 0; b < out.length; b += layout.bytes)
    for (const at of layout.at) view.setUint16(b + at, f32ToF16(0.002 + 0.01 * Math.abs(scales[k++]!)), true);
  return out;
}
