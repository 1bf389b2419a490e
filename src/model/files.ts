/**
 * Where model files come from: a URL (file or directory), a path on disk in Node, a Blob/File, an
 * ArrayBuffer, or a map of file names to blobs (a directory picked by the user). Every source is
 * read as a stream so that weights flow through without a second full copy.
 */
export type ModelBytes = Blob | ArrayBuffer | ArrayBufferView;
export type ModelSource = string | URL | ModelBytes | Record<string, ModelBytes>;

export interface FileStore {
  /** A stream of the named file (`''` for a single-file source), or null when absent. */
  open(name: string): Promise<{ stream: ReadableStream<Uint8Array>; size?: number } | null>;
  /** Display name of the source, used as the default model id. */
  readonly label: string;
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

function stripExt(name: string): string {
  return name.replace(/\.(gguf|safetensors|onnx)$/i, '');
}

export function lastSegment(path: string): string {
  return path.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop() ?? path;
}

/** Resolves a source into a FileStore plus whether it names a single file or a directory. */
export async function openSource(source: ModelSource): Promise<{ store: FileStore; single: boolean }> {
  if (isBytes(source)) {
    const label = source instanceof File ? stripExt(source.name) : 'model';
    return { store: { label, open: async (n) => (n === '' ? bytesStream(source) : null) }, single: true };
  }
  if (typeof source === 'object' && !(source instanceof URL)) {
    const files = source as Record<string, ModelBytes>;
    const names = Object.keys(files);
    const single = names.length === 1 && /\.gguf$/i.test(names[0]!);
    return {
      single,
      store: {
        label: single ? stripExt(names[0]!) : 'model',
        open: async (n) => {
          const f = files[n === '' ? names[0]! : n];
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
  const fs: typeof import('node:fs') = await import(/* @vite-ignore */ fsName);
  const { join }: typeof import('node:path') = await import(/* @vite-ignore */ pathName);
  const { Readable }: typeof import('node:stream') = await import(/* @vite-ignore */ streamName);
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
      async open(name) {
        const file = name === '' ? path : join(path, name);
        if (!fs.existsSync(file)) return null;
        const stream = Readable.toWeb(fs.createReadStream(file, { highWaterMark: 1 << 20 })) as unknown as ReadableStream<Uint8Array>;
        return { stream, size: fs.statSync(file).size };
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
