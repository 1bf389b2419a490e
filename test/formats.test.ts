/** GGUF and safetensors readers/writers and the element-type codecs. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ByteStream } from '../src/formats/byte-stream.js';
import { bf16ToF32, f16ToF32, f32ToBF16, f32ToF16, fromFloat32, toFloat32 } from '../src/formats/dtypes.js';
import { GGUFValueType, readGGUFHeader, readGGUFTensors, writeGGUF } from '../src/formats/gguf.js';
import { readSafetensors, writeSafetensors } from '../src/formats/safetensors.js';
import { STORIES_GGUF } from './helpers/paths.js';
import { decodeWeights } from './helpers/decode.js';

/** A stream that delivers `bytes` in small uneven chunks, as a network would. */
function chunked(bytes: Uint8Array, size = 7): ByteStream {
  let o = 0;
  return new ByteStream(
    new ReadableStream<Uint8Array>({
      pull(c) {
        if (o >= bytes.length) return c.close();
        c.enqueue(bytes.slice(o, o + size + (o % 5)));
        o += size + (o % 5);
      },
    }).getReader(),
  );
}

describe('ByteStream', () => {
  const source = Uint8Array.from({ length: 5000 }, (_, i) => (i * 131 + (i >> 8)) & 255);

  it('reads, skips and peeks across uneven chunks, keeping its position', async () => {
    for (const size of [1, 7, 64, 1000, 6000]) {
      const s = chunked(source, size);
      let at = 0;
      // small reads inside a chunk, reads spanning many chunks, skips, and a peek in between
      for (const [op, n] of [['read', 3], ['read', 900], ['skip', 11], ['read', 1], ['fill', 40], ['read', 2000], ['skip', 700], ['read', 1385]] as const) {
        if (op === 'read') {
          expect(await s.read(n)).toEqual(source.subarray(at, at + n));
          at += n;
        } else if (op === 'skip') {
          await s.skip(n);
          at += n;
        } else {
          expect(await s.fill(n)).toBeGreaterThanOrEqual(n);
          expect(s.peek().subarray(0, n)).toEqual(source.subarray(at, at + n));
        }
        expect(s.position).toBe(at);
      }
      expect(at).toBe(source.length);
      expect(await s.fill(1)).toBe(0);
    }
  });

  it('says where the file ended when a read runs past it', async () => {
    for (const size of [7, 6000]) {
      const s = chunked(source, size);
      await s.read(10);
      await expect(s.read(6000)).rejects.toThrow('unexpected end of file at byte 5000');
    }
  });

  it('hands out copies the caller owns', async () => {
    const bytes = source.slice();
    const s = ByteStream.fromBytes(bytes);
    const a = await s.read(100);
    a.fill(0);
    expect(bytes).toEqual(source);
  });
});

/** Hand-assembles a GGUF file with every metadata value type, independent of writeGGUF. */
function handMadeGGUF(alignment: number): Uint8Array {
  const parts: number[] = [];
  const u8 = (v: number) => parts.push(v & 255);
  const le = (v: bigint, n: number) => { for (let i = 0; i < n; i++) u8(Number((v >> BigInt(8 * i)) & 255n)); };
  const str = (s: string) => { const b = Buffer.from(s); le(BigInt(b.length), 8); b.forEach(u8); };
  const f32 = (v: number) => { const b = Buffer.alloc(4); b.writeFloatLE(v); b.forEach(u8); };
  const f64 = (v: number) => { const b = Buffer.alloc(8); b.writeDoubleLE(v); b.forEach(u8); };
  le(0x46554747n, 4); le(3n, 4); le(1n, 8); le(14n, 8);
  const kv = (k: string, t: number, w: () => void) => { str(k); le(BigInt(t), 4); w(); };
  kv('u8', GGUFValueType.UINT8, () => u8(200));
  kv('i8', GGUFValueType.INT8, () => u8(-5));
  kv('u16', GGUFValueType.UINT16, () => le(60000n, 2));
  kv('i16', GGUFValueType.INT16, () => le(BigInt.asUintN(16, -300n), 2));
  kv('u32', GGUFValueType.UINT32, () => le(4000000000n, 4));
  kv('i32', GGUFValueType.INT32, () => le(BigInt.asUintN(32, -70000n), 4));
  kv('f32', GGUFValueType.FLOAT32, () => f32(1.5));
  kv('bool', GGUFValueType.BOOL, () => u8(1));
  kv('str', GGUFValueType.STRING, () => str('héllo'));
  kv('u64', GGUFValueType.UINT64, () => le(2n ** 40n, 8));
  kv('i64', GGUFValueType.INT64, () => le(BigInt.asUintN(64, -(2n ** 40n)), 8));
  kv('f64', GGUFValueType.FLOAT64, () => f64(-2.25));
  kv('arr', GGUFValueType.ARRAY, () => { le(BigInt(GGUFValueType.ARRAY), 4); le(2n, 8); le(BigInt(GGUFValueType.INT32), 4); le(1n, 8); le(7n, 4); le(BigInt(GGUFValueType.STRING), 4); le(1n, 8); str('x'); });
  kv('general.alignment', GGUFValueType.UINT32, () => le(BigInt(alignment), 4));
  str('t'); le(2n, 4); le(3n, 8); le(2n, 8); le(0n, 4); le(0n, 8);
  while (parts.length % alignment) u8(0);
  for (let i = 0; i < 6; i++) f32(i + 0.5);
  return Uint8Array.from(parts);
}

describe('GGUF', () => {
  it('reads every metadata type, custom alignment and tensor data from a chunked stream', async () => {
    const bytes = handMadeGGUF(64);
    const s = chunked(bytes);
    const h = await readGGUFHeader(s);
    expect(Object.fromEntries(h.metadata)).toEqual({
      u8: 200, i8: -5, u16: 60000, i16: -300, u32: 4000000000, i32: -70000, f32: 1.5, bool: true, str: 'héllo',
      u64: 2 ** 40, i64: -(2 ** 40), f64: -2.25, arr: [[7], ['x']], 'general.alignment': 64,
    });
    expect(h.dataOffset % 64).toBe(0);
    expect(h.tensors).toMatchObject([{ name: 't', dims: [3, 2], dtype: 'F32', elements: 6 }]);
    const seen: number[][] = [];
    await readGGUFTensors(s, h, (info, b) => void seen.push(Array.from(toFloat32(info.dtype, b, info.elements))));
    expect(seen).toEqual([[0.5, 1.5, 2.5, 3.5, 4.5, 5.5]]);
  });

  it('round-trips through the writer', async () => {
    const data = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
    const file = writeGGUF({ 'general.architecture': { type: 'string', value: 'llama' }, list: { type: 'array', itemType: 'f32', value: [1, 2] } }, [
      { name: 'a', dims: [32, 2], dtype: 'Q8_0', bytes: fromFloat32('Q8_0', data) },
      { name: 'b', dims: [64], dtype: 'F16', bytes: fromFloat32('F16', data) },
    ]);
    const s = chunked(file, 100);
    const h = await readGGUFHeader(s);
    expect(h.metadata.get('list')).toEqual([1, 2]);
    const got: Record<string, Float32Array> = {};
    await readGGUFTensors(s, h, (i, b) => void (got[i.name] = toFloat32(i.dtype, b, i.elements)));
    for (const k of ['a', 'b']) for (let i = 0; i < 64; i++) expect(got[k]![i]).toBeCloseTo(data[i]!, 2);
  });

  it('rejects a truncated or foreign file with a clear error', async () => {
    const stories = readFileSync(STORIES_GGUF);
    await expect(readGGUFHeader(ByteStream.fromBytes(stories.subarray(0, 1000)))).rejects.toThrow(/truncated/);
    await expect(readGGUFHeader(ByteStream.fromBytes(new TextEncoder().encode('PK\x03\x04 not a gguf')))).rejects.toThrow(/magic/);
  });
});

describe('safetensors', () => {
  it('round-trips F32/F16/BF16 tensors in file order', async () => {
    const v = Float32Array.from([1, -2, 0.5, 3]);
    const file = writeSafetensors([
      { name: 'x', shape: [2, 2], dtype: 'F32', bytes: fromFloat32('F32', v) },
      { name: 'y', shape: [4], dtype: 'BF16', bytes: fromFloat32('BF16', v) },
    ]);
    const got: string[] = [];
    await readSafetensors(chunked(file), (i, b) => void got.push(`${i.name}:${i.shape}:${Array.from(toFloat32(i.dtype, b, 4))}`));
    expect(got).toEqual(['x:2,2:1,-2,0.5,3', 'y:4:1,-2,0.5,3']);
  });
});

describe('element types', () => {
  it('f16 conversion handles normals, subnormals, infinities and rounding', () => {
    for (const v of [0, 1, -1, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, -2.5]) expect(f16ToF32(f32ToF16(v))).toBe(v);
    expect(f16ToF32(f32ToF16(1e6))).toBe(Infinity);
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // ties to even
    expect(f16ToF32(0x7e00)).toBeNaN();
  });
  it('bf16 keeps the float32 exponent range', () => {
    expect(bf16ToF32(f32ToBF16(3e38))).toBeCloseTo(3e38, -36);
    expect(bf16ToF32(f32ToBF16(1.0078125))).toBe(1.0078125);
  });
  it('Q8_0 and Q4_0 decode a hand-built block', () => {
    const q8 = new Uint8Array(34);
    new DataView(q8.buffer).setUint16(0, 0x3800, true); // d = 0.5
    q8[2] = 4;
    q8[3] = 0xfe; // -2
    expect(Array.from(toFloat32('Q8_0', q8, 32).slice(0, 3))).toEqual([2, -1, 0]);
    const q4 = new Uint8Array(18);
    new DataView(q4.buffer).setUint16(0, 0x4000, true); // d = 2
    q4[2] = 0x9f; // low nibble 15 → element 0, high nibble 9 → element 16
    const d = toFloat32('Q4_0', q4, 32);
    expect([d[0], d[16], d[1]]).toEqual([14, 2, -16]);
  });
  it('Q4_K and Q6_K decode as ggml does (an independent decoder) and quantise within bounds', () => {
    const v = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
    for (const [t, bound] of [['Q4_K', 0.12], ['Q6_K', 0.02]] as const) {
      const bytes = fromFloat32(t, v);
      expect(bytes.length).toBe(t === 'Q4_K' ? 288 : 420);
      const got = toFloat32(t, bytes, 512);
      expect(Array.from(got)).toEqual(Array.from(decodeWeights(t, bytes, 512)));
      const err = Math.sqrt(v.reduce((a, x, i) => a + (x - got[i]!) ** 2, 0) / v.reduce((a, x) => a + x * x, 0));
      expect(err).toBeLessThan(bound);
    }
  });

  // Half a step of rounding plus the f16 rounding of the scale; Q4_0 maps the largest magnitude to
  // -8, so the opposite extreme can clamp at +7: up to one full step there.
  it('quantisers stay within their rounding bound', () => {
    const v = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    for (const [t, steps, bound] of [['Q8_0', 127, 0.6], ['Q4_0', 8, 1.01]] as const) {
      const back = toFloat32(t, fromFloat32(t, v), v.length);
      for (let b = 0; b < 8; b++) {
        const block = v.subarray(b * 32, b * 32 + 32);
        const step = Math.max(...Array.from(block, Math.abs)) / steps;
        for (let j = 0; j < 32; j++) expect(Math.abs(back[b * 32 + j]! - block[j]!)).toBeLessThanOrEqual(step * bound);
      }
    }
  });
});
