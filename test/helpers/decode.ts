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
      default: throw new Error(dtype);
    }
  }
  return out;
}
