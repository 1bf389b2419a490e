/**
 * Where model files come from: a URL (file or directory), a path on disk in Node, a Blob/File, an
 * ArrayBuffer, or a map of file names to blobs (a directory picked by the user). Every source is
 * read as a stream so that weights flow through without a second full copy.
 */
export type ModelBytes = Blob | ArrayBuffer | ArrayBufferView;
/** One file: a URL or path, or its bytes. */
export type ModelFile = string | URL | ModelBytes;
/** A model: one file or directory, a map of a directory's files, or the parts of a split GGUF in order. */
export type ModelSource = ModelFile | Record<string, ModelBytes> | ModelFile[];

export interface FileStore {
  /**
   * A stream of the named file, or null when absent. For a single-file source `''` is the file
   * and other names are the files beside it (the other parts of a split GGUF).
   */
  open(name: string): Promise<{ stream: ReadableStream<Uint8Array>; size?: number } | null>;
  /** Display name of the source, used as the default model id. */
  readonly label: string;
  /** True for bytes and Files: the model's own name (GGUF general.name) makes the better id. */
  readonly preferModelName?: boolean;
  /** The single file's own name, when it has one (split GGUF parts are named after the first). */
  readonly fileName?: string;
}

/** llama-gguf-split's part names: `<prefix>-00001-of-00003.gguf`. */
const SPLIT_PART = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

export function splitPartName(prefix: string, part: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${prefix}-${pad(part)}-of-${pad(count)}.gguf`;
}

/** (prefix, part, count) of a split GGUF part's file name, or undefined for any other name. */
export function parseSplitPartName(name: string): { prefix: string; part: number; count: number } | undefined {
  const m = SPLIT_PART.exec(name);
  return m ? { prefix: m[1]!, part: Number(m[2]), count: Number(m[3]) } : undefined;
}

export class ModelNotFoundError extends Error {}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

function bytesStream(b: ModelBytes): { stream: ReadableStream<Uint8Array>; size: number } {
  if (b instanceof Blob) return { stream: b.stream() as ReadableStream<Uint8Array>, size: b.size };
  const u8 = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return {
    stream: new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(u8);
        c.close();
      },
    }),
    size: u8.length,
  };
}

function isBytes(v: unknown): v is ModelBytes {
  return v instanceof Blob || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

/** A file name as a model id: no extension, and a split GGUF's first part named after the whole. */
function stripExt(name: string): string {
  return parseSplitPartName(name)?.prefix ?? name.replace(/\.(gguf|safetensors|onnx)$/i, '');
}

export function lastSegment(path: string): string {
  return path.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop() ?? path;
}

/** Resolves a source into a FileStore plus whether it names a single file or a directory. */
export async function openSource(source: ModelSource): Promise<{ store: FileStore; single: boolean }> {
  if (isBytes(source)) {
    const named = typeof File !== 'undefined' && source instanceof File;
    return { store: { label: named ? stripExt(source.name) : 'model', preferModelName: true, fileName: named ? source.name : undefined, open: async (n) => (n === '' ? bytesStream(source) : null) }, single: true };
  }
  if (Array.isArray(source)) return openParts(source);
  if (typeof source === 'object' && !(source instanceof URL)) {
    const files = source as Record<string, ModelBytes>;
    const names = Object.keys(files);
    // One GGUF, or the parts of a split one (a picked folder).
    const first = names.length === 1 && /\.gguf$/i.test(names[0]!) ? names[0] : names.find((n) => parseSplitPartName(n)?.part === 1 && names.every((m) => parseSplitPartName(m)));
    return {
      single: !!first,
      store: {
        label: first ? stripExt(first) : 'model',
        fileName: first,
        open: async (n) => {
          const f = files[n === '' ? (first ?? names[0]!) : n];
          return f ? bytesStream(f) : null;
        },
      },
    };
  }
  const text = String(source);
  if (isNode && !/^(https?|blob|data):/i.test(text)) return openNodePath(text.startsWith('file:') ? new URL(text).pathname : text);
  const base = new URL(text, typeof location !== 'undefined' ? location.href : undefined);
  const single = /\.gguf$/i.test(base.pathname) || base.protocol === 'blob:' || base.protocol === 'data:';
  const dir = single ? base : new URL(base.href.endsWith('/') ? base.href : `${base.href}/`);
  return {
    single,
    store: {
      label: stripExt(lastSegment(base.pathname)),
      fileName: single ? decodeURIComponent(lastSegment(base.pathname)) : undefined,
      async open(name) {
        const url = name === '' ? base : new URL(name, dir);
        let res: Response;
        try {
          res = await fetch(url);
        } catch (e) {
          throw new ModelNotFoundError(`could not fetch ${url.href}: ${(e as Error).message}`);
        }
        if (res.status === 404) return null;
        if (!res.ok || !res.body) throw new ModelNotFoundError(`fetching ${url.href} failed with HTTP ${res.status}`);
        const size = Number(res.headers.get('content-length')) || undefined;
        return { stream: res.body, size };
      },
    },
  };
}

async function openNodePath(path: string): Promise<{ store: FileStore; single: boolean }> {
  // Specifiers in variables keep bundlers from replacing Node built-ins with browser stubs.
  const [fsName, pathName, streamName] = ['node:fs', 'node:path', 'node:stream'];
  const fs: typeof import('node:fs') = await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName);
  const { dirname, join }: typeof import('node:path') = await import(/* @vite-ignore */ /* webpackIgnore: true */ pathName);
  const { Readable }: typeof import('node:stream') = await import(/* @vite-ignore */ /* webpackIgnore: true */ streamName);
  let stat;
  try {
    stat = fs.statSync(path);
  } catch {
    throw new ModelNotFoundError(`model path ${path} does not exist`);
  }
  const single = stat.isFile();
  return {
    single,
    store: {
      label: stripExt(lastSegment(path)),
      fileName: single ? lastSegment(path) : undefined,
      async open(name) {
        const file = name === '' ? path : join(single ? dirname(path) : path, name);
        if (!fs.existsSync(file)) return null;
        const stream = Readable.toWeb(fs.createReadStream(file, { highWaterMark: 1 << 20 })) as unknown as ReadableStream<Uint8Array>;
        return { stream, size: fs.statSync(file).size };
      },
    },
  };
}

/**
 * The parts of a split GGUF given in order (URLs, paths, Files or bytes). Part i answers to its
 * llama-gguf-split name (`<first part's prefix>-0000i-of-0000n.gguf`), whatever it is called.
 */
async function openParts(parts: ModelFile[]): Promise<{ store: FileStore; single: boolean }> {
  if (parts.length === 0) throw new ModelNotFoundError('the model is an empty list of files');
  const stores = await Promise.all(parts.map(async (p) => {
    const { store, single } = await openSource(p);
    if (!single) throw new ModelNotFoundError(`${store.label}: a list of model files must be the parts of one split GGUF, not directories`);
    return store;
  }));
  const first = stores[0]!;
  const prefix = parseSplitPartName(first.fileName ?? '')?.prefix ?? first.label;
  return {
    single: true,
    store: {
      label: prefix,
      preferModelName: first.preferModelName,
      fileName: splitPartName(prefix, 1, parts.length),
      async open(name) {
        const split = name === '' ? { part: 1, count: parts.length } : parseSplitPartName(name);
        if (!split || split.count !== parts.length) return null;
        return stores[split.part - 1]?.open('') ?? null;
      },
    },
  };
}

export async function readText(store: FileStore, name: string): Promise<string | null> {
  const f = await store.open(name);
  return f ? new Response(f.stream).text() : null;
}

export async function readJson(store: FileStore, name: string): Promise<Record<string, unknown> | null> {
  const t = await readText(store, name);
  if (t === null) return null;
  try {
    return JSON.parse(t) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${name} is not valid JSON: ${(e as Error).message}`);
  }
}
