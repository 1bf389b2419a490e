/**
 * GGUF reader and writer (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).
 * The reader streams: it parses the header from the front of the file, then hands each tensor's
 * raw bytes to a callback in file order, so no more than one tensor is held at a time.
 */
import { ByteStream } from './byte-stream.js';
import { byteSize, DTYPES, dtypeFromGGML, ggmlTypeName, GGMLType, type DType } from './dtypes.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_DEFAULT_ALIGNMENT = 32;

export enum GGUFValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

export type GGUFValue = number | bigint | boolean | string | GGUFValue[];

export interface GGUFTensorInfo {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  dims: number[];
  ggmlType: number;
  dtype: DType;
  /** Offset relative to the start of the data section. */
  offset: number;
  byteLength: number;
  elements: number;
}

export interface GGUFHeader {
  version: number;
  metadata: Map<string, GGUFValue>;
  tensors: GGUFTensorInfo[];
  alignment: number;
  /** Absolute file offset of the tensor data section. */
  dataOffset: number;
}

class NeedMoreBytes extends Error {}

/** A tensor in a ggml type no backend reads. */
export class UnsupportedTypeError extends Error {}

/** Synchronous cursor over the buffered header bytes; throws NeedMoreBytes past the end. */
class Cursor {
  private view: DataView;
  pos = 0;
  private decoder = new TextDecoder('utf-8', { fatal: false });
  constructor(
    private bytes: Uint8Array,
    private final: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.bytes.length) {
      if (this.final) throw new RangeError('GGUF header is truncated');
      throw new NeedMoreBytes();
    }
  }
  u8() { this.need(1); return this.view.getUint8(this.pos++); }
  i8() { this.need(1); return this.view.getInt8(this.pos++); }
  u16() { this.need(2); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  i16() { this.need(2); const v = this.view.getInt16(this.pos, true); this.pos += 2; return v; }
  u32() { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  i32() { this.need(4); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }
  f32() { this.need(4); const v = this.view.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64() { this.need(8); const v = this.view.getFloat64(this.pos, true); this.pos += 8; return v; }
  u64(): number | bigint { this.need(8); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return small(v); }
  i64(): number | bigint { this.need(8); const v = this.view.getBigInt64(this.pos, true); this.pos += 8; return small(v); }
  count(what: string): number {
    const v = this.u64();
    if (typeof v === 'bigint' || v > 2 ** 31) throw new RangeError(`GGUF ${what} count ${v} is implausible`);
    return v;
  }
  str(): string {
    const n = this.count('string length');
    this.need(n);
    const s = this.decoder.decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}

function small(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readValue(c: Cursor, type: number): GGUFValue {
  switch (type) {
    case GGUFValueType.UINT8: return c.u8();
    case GGUFValueType.INT8: return c.i8();
    case GGUFValueType.UINT16: return c.u16();
    case GGUFValueType.INT16: return c.i16();
    case GGUFValueType.UINT32: return c.u32();
    case GGUFValueType.INT32: return c.i32();
    case GGUFValueType.FLOAT32: return c.f32();
    case GGUFValueType.BOOL: return c.u8() !== 0;
    case GGUFValueType.STRING: return c.str();
    case GGUFValueType.UINT64: return c.u64();
    case GGUFValueType.INT64: return c.i64();
    case GGUFValueType.FLOAT64: return c.f64();
    case GGUFValueType.ARRAY: {
      const itemType = c.u32();
      const n = c.count('array');
      const out: GGUFValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, itemType);
      return out;
    }
    default:
      throw new Error(`unknown GGUF value type ${type}`);
  }
}

function parseHeader(bytes: Uint8Array, final: boolean): GGUFHeader {
  const c = new Cursor(bytes, final);
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) throw new Error('not a GGUF file (bad magic)');
  const version = c.u32();
  if (version < 2 || version > 3) throw new Error(`unsupported GGUF version ${version}`);
  const tensorCount = c.count('tensor');
  const kvCount = c.count('metadata');
  const metadata = new Map<string, GGUFValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.str();
    metadata.set(key, readValue(c, c.u32()));
  }
  const alignment = Number(metadata.get('general.alignment') ?? GGUF_DEFAULT_ALIGNMENT);
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) throw new Error(`bad GGUF alignment ${alignment}`);
  const tensors: GGUFTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = c.str();
    const nDims = c.u32();
    if (nDims > 4) throw new Error(`tensor ${name} has ${nDims} dimensions`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(Number(c.u64()));
    const ggmlType = c.u32();
    const offset = Number(c.u64());
    const dtype = dtypeFromGGML(ggmlType);
    if (!dtype) throw new UnsupportedTypeError(`tensor ${name} has type ${ggmlTypeName(ggmlType)}, which webinfer does not read (it reads ${DTYPES.join(', ')})`);
    const elements = dims.reduce((a, b) => a * b, 1);
    tensors.push({ name, dims, ggmlType, dtype, offset, elements, byteLength: byteSize(dtype, elements) });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  return { version, metadata, tensors, alignment, dataOffset };
}

/** Parses the header, buffering more of the stream until it fits (tokenizer metadata can be megabytes). */
export async function readGGUFHeader(stream: ByteStream): Promise<GGUFHeader> {
  let want = 1 << 16;
  for (;;) {
    const have = await stream.fill(want);
    try {
      return parseHeader(stream.peek(), have < want);
    } catch (e) {
      if (!(e instanceof NeedMoreBytes)) throw e;
      want *= 4;
    }
  }
}

/**
 * Streams the tensor data after `readGGUFHeader`, calling `onTensor` with each tensor's raw bytes in
 * file order. The callback may be async (a GPU upload); the next tensor is read after it settles.
 */
export async function readGGUFTensors(
  stream: ByteStream,
  header: GGUFHeader,
  onTensor: (info: GGUFTensorInfo, bytes: Uint8Array) => void | Promise<void>,
): Promise<void> {
  const ordered = [...header.tensors].sort((a, b) => a.offset - b.offset);
  for (const t of ordered) {
    await stream.skipTo(header.dataOffset + t.offset);
    await onTensor(t, await stream.read(t.byteLength));
  }
}

// ---- writer ------------------------------------------------------------------------------------

export interface GGUFTensorInput {
  name: string;
  /** ggml order (innermost first). */
  dims: number[];
  dtype: DType;
  bytes: Uint8Array;
}

/** A metadata value with its GGUF type made explicit where JS types are ambiguous. */
export type GGUFTypedValue =
  | { type: 'string'; value: string }
  | { type: 'u32' | 'i32' | 'f32' | 'u64' | 'u8' | 'bool'; value: number | boolean }
  | { type: 'array'; itemType: 'string'; value: string[] }
  | { type: 'array'; itemType: 'f32' | 'i32' | 'u32'; value: ArrayLike<number> };

class Writer {
  private chunks: Uint8Array[] = [];
  length = 0;
  private encoder = new TextEncoder();
  bytes(b: Uint8Array) { this.chunks.push(b); this.length += b.length; }
  private num(size: number, set: (v: DataView) => void) {
    const b = new Uint8Array(size);
    set(new DataView(b.buffer));
    this.bytes(b);
  }
  u8(v: number) { this.num(1, (d) => d.setUint8(0, v)); }
  u32(v: number) { this.num(4, (d) => d.setUint32(0, v, true)); }
  i32(v: number) { this.num(4, (d) => d.setInt32(0, v, true)); }
  f32(v: number) { this.num(4, (d) => d.setFloat32(0, v, true)); }
  u64(v: number) { this.num(8, (d) => d.setBigUint64(0, BigInt(v), true)); }
  str(s: string) { const b = this.encoder.encode(s); this.u64(b.length); this.bytes(b); }
  pad(alignment: number) { const n = (alignment - (this.length % alignment)) % alignment; if (n) this.bytes(new Uint8Array(n)); }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) { out.set(c, o); o += c.length; }
    return out;
  }
}

const SCALAR_TYPE = { u8: GGUFValueType.UINT8, u32: GGUFValueType.UINT32, i32: GGUFValueType.INT32, f32: GGUFValueType.FLOAT32, u64: GGUFValueType.UINT64, bool: GGUFValueType.BOOL, string: GGUFValueType.STRING } as const;

function writeScalar(w: Writer, type: keyof typeof SCALAR_TYPE, v: number | boolean | string): void {
  switch (type) {
    case 'u8': w.u8(Number(v)); break;
    case 'bool': w.u8(v ? 1 : 0); break;
    case 'u32': w.u32(Number(v)); break;
    case 'i32': w.i32(Number(v)); break;
    case 'f32': w.f32(Number(v)); break;
    case 'u64': w.u64(Number(v)); break;
    case 'string': w.str(String(v)); break;
  }
}

/** Serialises a complete GGUF v3 file. */
export function writeGGUF(metadata: Record<string, GGUFTypedValue>, tensors: GGUFTensorInput[], alignment = GGUF_DEFAULT_ALIGNMENT): Uint8Array {
  const w = new Writer();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(tensors.length);
  const entries = Object.entries(metadata);
  if (alignment !== GGUF_DEFAULT_ALIGNMENT && !('general.alignment' in metadata)) entries.push(['general.alignment', { type: 'u32', value: alignment }]);
  w.u64(entries.length);
  for (const [key, v] of entries) {
    w.str(key);
    if (v.type === 'array') {
      w.u32(GGUFValueType.ARRAY);
      w.u32(SCALAR_TYPE[v.itemType]);
      w.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) writeScalar(w, v.itemType, v.value[i]!);
    } else {
      w.u32(SCALAR_TYPE[v.type]);
      writeScalar(w, v.type, v.value);
    }
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    const elements = t.dims.reduce((a, b) => a * b, 1);
    if (byteSize(t.dtype, elements) !== t.bytes.length) throw new Error(`tensor ${t.name}: ${t.bytes.length} bytes for ${elements} ${t.dtype} elements`);
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GGMLType[t.dtype]);
    w.u64(offset);
    offsets.push(offset);
    offset += Math.ceil(t.bytes.length / alignment) * alignment;
  }
  w.pad(alignment);
  for (const t of tensors) {
    w.bytes(t.bytes);
    w.pad(alignment);
  }
  return w.concat();
}
