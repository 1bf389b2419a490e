/**
 * Minimal decoders of the stored weight types, written from the ggml block definitions
 * independently of src/formats/dtypes.ts, so tests can check the engine's dequantisation.
 */
function half(bits: number): number {
  const e = (bits >> 10) & 31, m = bits & 1023, s = bits >> 15 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

export function decodeWeights(dtype: string, bytes: Uint8Array, n: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const block = Math.floor(i / 32), j = i % 32;
    switch (dtype) {
      case 'F32': out[i] = dv.getFloat32(4 * i, true); break;
      case 'F16': out[i] = half(dv.getUint16(2 * i, true)); break;
      case 'BF16': out[i] = new Float32Array(new Uint32Array([dv.getUint16(2 * i, true) << 16]).buffer)[0]!; break;
      case 'Q8_0': out[i] = half(dv.getUint16(34 * block, true)) * dv.getInt8(34 * block + 2 + j); break;
      case 'Q4_0': {
        const byte = bytes[18 * block + 2 + (j % 16)]!;
        out[i] = half(dv.getUint16(18 * block, true)) * ((j < 16 ? byte & 15 : byte >> 4) - 8);
        break;
      }
      case 'Q4_K': case 'Q6_K': break;
      default: throw new Error(dtype);
    }
  }
  if (dtype === 'Q4_K' || dtype === 'Q6_K') return decodeK(dtype, bytes, n);
  return out;
}

/** K-quants, straight from ggml's dequantize_row_q4_K / dequantize_row_q6_K. */
function decodeK(dtype: 'Q4_K' | 'Q6_K', b: Uint8Array, n: number): Float32Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float32Array(n);
  let y = 0;
  for (let blk = 0; blk < n / 256; blk++) {
    if (dtype === 'Q4_K') {
      const o = blk * 144;
      const d = half(dv.getUint16(o, true)), min = half(dv.getUint16(o + 2, true));
      const sc = (j: number): [number, number] =>
        j < 4 ? [b[o + 4 + j]! & 63, b[o + 8 + j]! & 63] : [(b[o + 8 + j]! & 0xf) | ((b[o + j]! >> 6) << 4), (b[o + 8 + j]! >> 4) | ((b[o + 4 + j]! >> 6) << 4)];
      let q = o + 16;
      for (let j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
        const [s1, m1] = sc(is), [s2, m2] = sc(is + 1);
        for (let l = 0; l < 32; l++) out[y++] = d * s1 * (b[q + l]! & 0xf) - min * m1;
        for (let l = 0; l < 32; l++) out[y++] = d * s2 * (b[q + l]! >> 4) - min * m2;
      }
    } else {
      const o = blk * 210;
      const d = half(dv.getUint16(o + 208, true));
      let ql = o, qh = o + 128, sc = o + 192;
      for (let k = 0; k < 256; k += 128, ql += 64, qh += 32, sc += 8) {
        for (let l = 0; l < 32; l++) {
          const is = Math.floor(l / 16);
          const q1 = ((b[ql + l]! & 0xf) | (((b[qh + l]! >> 0) & 3) << 4)) - 32;
          const q2 = ((b[ql + l + 32]! & 0xf) | (((b[qh + l]! >> 2) & 3) << 4)) - 32;
          const q3 = ((b[ql + l]! >> 4) | (((b[qh + l]! >> 4) & 3) << 4)) - 32;
          const q4 = ((b[ql + l + 32]! >> 4) | (((b[qh + l]! >> 6) & 3) << 4)) - 32;
          out[y + k + l] = d * dv.getInt8(sc + is) * q1;
          out[y + k + l + 32] = d * dv.getInt8(sc + is + 2) * q2;
          out[y + k + l + 64] = d * dv.getInt8(sc + is + 4) * q3;
          out[y + k + l + 96] = d * dv.getInt8(sc + is + 6) * q4;
        }
      }
      y += 256;
    }
  }
  return out;
}
