/**
 * A minimal protobuf encoder for the ONNX messages the exporter writes (onnx/onnx.proto3): enough
 * to build ModelProto with nodes, attributes, typed inputs/outputs and raw-data initializers.
 */

type Bytes = Uint8Array;

function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function concat(parts: Bytes[]): Bytes {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const enc = new TextEncoder();

/** A message under construction: fields are appended in call order. */
export class Msg {
  private parts: Bytes[] = [];
  int(field: number, v: number | bigint): this {
    this.parts.push(Uint8Array.from([...varint(field << 3), ...varint(v)]));
    return this;
  }
  float(field: number, v: number): this {
    const b = new Uint8Array(5);
    b[0] = (field << 3) | 5;
    new DataView(b.buffer).setFloat32(1, v, true);
    this.parts.push(b);
    return this;
  }
  bytes(field: number, v: Bytes): this {
    this.parts.push(Uint8Array.from([...varint((field << 3) | 2), ...varint(v.length)]), v);
    return this;
  }
  str(field: number, v: string): this {
    return this.bytes(field, enc.encode(v));
  }
  msg(field: number, m: Msg): this {
    return this.bytes(field, m.encode());
  }
  encode(): Bytes {
    return concat(this.parts);
  }
}

export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;

/** An initializer; with `external`, its bytes live in a side file (ONNX external data). */
export function tensor(name: string, dims: number[], dataType: number, raw: Bytes, external?: { location: string; offset: number; length: number }): Msg {
  const t = new Msg();
  for (const d of dims) t.int(1, d);
  t.int(2, dataType).str(8, name);
  if (!external) return t.bytes(9, raw);
  for (const [k, v] of Object.entries({ location: external.location, offset: String(external.offset), length: String(external.length) })) t.msg(13, new Msg().str(1, k).str(2, v));
  return t.int(14, 1);
}

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] } | { tensor: Msg };

export function attribute(name: string, v: AttrValue): Msg {
  const a = new Msg().str(1, name);
  if (typeof v === 'number') return a.int(3, v).int(20, 2);
  if (typeof v === 'string') return a.bytes(4, enc.encode(v)).int(20, 3);
  if (Array.isArray(v)) {
    for (const x of v) a.int(8, x);
    return a.int(20, 7);
  }
  if ('float' in v) return a.float(2, v.float).int(20, 1);
  if ('floats' in v) {
    for (const x of v.floats) a.float(7, x);
    return a.int(20, 6);
  }
  return a.msg(5, v.tensor).int(20, 4);
}

export function node(op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, domain?: string, name?: string): Msg {
  const n = new Msg();
  for (const i of inputs) n.str(1, i);
  for (const o of outputs) n.str(2, o);
  n.str(3, name ?? outputs[0]!).str(4, op);
  for (const [k, v] of Object.entries(attrs)) n.msg(5, attribute(k, v));
  if (domain) n.str(7, domain);
  return n;
}

/** A typed graph input/output; string dims are symbolic (dim_param). */
export function valueInfo(name: string, elemType: number, dims: (number | string)[]): Msg {
  const shape = new Msg();
  for (const d of dims) shape.msg(1, typeof d === 'number' ? new Msg().int(1, d) : new Msg().str(2, d));
  const tensorType = new Msg().int(1, elemType).msg(2, shape);
  return new Msg().str(1, name).msg(2, new Msg().msg(1, tensorType));
}

export function model(graph: { name: string; nodes: Msg[]; inputs: Msg[]; outputs: Msg[]; initializers: Msg[] }, opsets: Record<string, number>, producer = 'webinfer'): Bytes {
  const g = new Msg();
  for (const n of graph.nodes) g.msg(1, n);
  g.str(2, graph.name);
  for (const t of graph.initializers) g.msg(5, t);
  for (const i of graph.inputs) g.msg(11, i);
  for (const o of graph.outputs) g.msg(12, o);
  const m = new Msg().int(1, 8).str(2, producer).str(3, '0.1');
  for (const [domain, version] of Object.entries(opsets)) m.msg(8, new Msg().str(1, domain).int(2, version));
  return m.msg(7, g).encode();
}
