/**
 * safetensors reader and writer (https://huggingface.co/docs/safetensors). Like the GGUF reader,
 * tensors are streamed to a callback in file order.
 */
import { ByteStream } from './byte-stream.js';
import type { DType } from './dtypes.js';

export interface SafetensorsTensorInfo {
  name: string;
  /** Row-major, outermost first (PyTorch order). */
  shape: number[];
  dtype: DType;
  begin: number;
  end: number;
}

const DTYPES: Record<string, { dtype: DType; bytes: number }> = {
  F32: { dtype: 'F32', bytes: 4 },
  F16: { dtype: 'F16', bytes: 2 },
  BF16: { dtype: 'BF16', bytes: 2 },
};

const MAX_HEADER = 100 * 1024 * 1024;

export async function readSafetensors(
  stream: ByteStream,
  onTensor: (info: SafetensorsTensorInfo, bytes: Uint8Array) => void | Promise<void>,
): Promise<{ metadata: Record<string, string>; tensors: SafetensorsTensorInfo[] }> {
  const lenBytes = await stream.read(8);
  const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (headerLen > MAX_HEADER) throw new Error(`safetensors header of ${headerLen} bytes is implausible`);
  const json = JSON.parse(new TextDecoder().decode(await stream.read(headerLen))) as Record<string, unknown>;
  const dataStart = 8 + headerLen;
  const tensors: SafetensorsTensorInfo[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = raw as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const dt = DTYPES[dtype];
    if (!dt) throw new Error(`safetensors tensor ${name} has unsupported dtype ${dtype}`);
    const elements = shape.reduce((a, b) => a * b, 1);
    if (data_offsets[1] - data_offsets[0] !== elements * dt.bytes) throw new Error(`safetensors tensor ${name}: size does not match its shape`);
    tensors.push({ name, shape, dtype: dt.dtype, begin: data_offsets[0], end: data_offsets[1] });
  }
  for (const t of [...tensors].sort((a, b) => a.begin - b.begin)) {
    await stream.skipTo(dataStart + t.begin);
    await onTensor(t, await stream.read(t.end - t.begin));
  }
  return { metadata, tensors };
}

export function writeSafetensors(tensors: { name: string; shape: number[]; dtype: DType; bytes: Uint8Array }[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8); // keeps the data section 8-byte aligned
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let o = 8 + headerBytes.length;
  for (const t of tensors) {
    out.set(t.bytes, o);
    o += t.bytes.length;
  }
  return out;
}
