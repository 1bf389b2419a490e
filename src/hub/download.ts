/**
 * Downloads a model's files into a ModelStorage: each file in pieces (fetched with Range
 * requests, several at once), each piece written only when whole, the file's manifest listing the
 * pieces it has. A network error inside a piece resumes from the byte it stopped at; a closed
 * tab resumes from the pieces already stored. A finished file is checked against the hash the Hub
 * reports (SHA-256 for LFS files, the git blob SHA-1 for the others) before it is marked complete.
 */
import { createSHA1, createSHA256 } from 'hash-wasm';
import { eta, RateMeter, type DownloadProgress, type FileProgress } from './progress.js';
import type { RepoFile } from './select.js';
import { isQuotaError, StorageError, type ModelStorage } from './storage/index.js';

export interface FileManifest {
  v: 1;
  url: string;
  size: number;
  oid?: string;
  sha256?: string;
  pieceBytes: number;
  /** Indices of the pieces stored. */
  pieces: number[];
  /** Set once the whole file matched its hash. */
  verified: boolean;
}

/** How a download runs: what callers of the Hub functions may tune. */
export interface DownloadTuning {
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Bytes per piece (default 32 MiB): the unit of resuming after a closed tab and of parallel requests. */
  pieceBytes?: number;
  /** Pieces fetched at once (default 4). */
  parallel?: number;
  /** Attempts per piece after a network error, each resuming where the last stopped (default 5). */
  retries?: number;
  /** Milliseconds before the first retry, doubled each time (default 500). */
  retryDelayMs?: number;
}

export interface DownloadOptions extends DownloadTuning {
  storage: ModelStorage;
  /** Headers for requests to the Hub's own origin (the access token); never sent elsewhere. */
  hubHeaders?: Record<string, string>;
  hubOrigin?: string;
  /** Called once the space check passed, before anything is written. */
  beforeWrite?: () => Promise<void>;
}

export interface FileToFetch {
  file: RepoFile;
  url: string;
  /** Storage folder of the file: its manifest and pieces. */
  dir: string;
}

export class DownloadError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}
export class CorruptFileError extends Error {}

const MiB = 1 << 20;
export const pieceName = (i: number) => `p${String(i).padStart(5, '0')}`;
const mb = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 2 : 0)} MB`;

export function manifestPath(dir: string): string {
  return `${dir}/manifest.json`;
}

/** The stored file as one Blob made of its pieces' Blobs, or null when a piece is missing. */
export async function readStoredFile(storage: ModelStorage, dir: string, m: FileManifest): Promise<Blob | null> {
  const count = Math.ceil(m.size / m.pieceBytes);
  const parts: Blob[] = [];
  for (let i = 0; i < count; i++) {
    const b = await storage.readPiece(`${dir}/${pieceName(i)}`);
    if (!b || b.size !== Math.min(m.pieceBytes, m.size - i * m.pieceBytes)) return null;
    parts.push(b);
  }
  return new Blob(parts);
}

/** A manifest that is usable for this file: same size and hashes (else the file changed upstream). */
function matches(m: FileManifest | null, f: RepoFile): m is FileManifest {
  return !!m && m.v === 1 && m.size === f.size && m.oid === f.oid && m.sha256 === f.sha256;
}

export async function sha256Hex(blob: Blob): Promise<string> {
  const h = await createSHA256();
  h.init();
  const reader = blob.stream().getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return h.digest('hex');
    h.update(value);
  }
}

export async function verify(blob: Blob, f: RepoFile): Promise<void> {
  if (!f.sha256 && !f.oid) return;
  const h = f.sha256 ? await createSHA256() : await createSHA1();
  h.init();
  if (!f.sha256) h.update(new TextEncoder().encode(`blob ${blob.size}\0`));
  const reader = blob.stream().getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    h.update(value);
  }
  const got = h.digest('hex');
  const want = (f.sha256 ?? f.oid)!.toLowerCase();
  if (got !== want) throw new CorruptFileError(`${f.path} is corrupt: its ${f.sha256 ? 'SHA-256' : 'git SHA-1'} is ${got}, the Hub says ${want}`);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

/** HTTP statuses worth retrying: the server or a proxy in trouble, rate limits. */
const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * Bytes [start, end) of `url` as a stream that survives network errors: each retry asks for the
 * bytes from where the last attempt stopped.
 */
function rangeStream(url: string, start: number, end: number, o: DownloadOptions, headers: Record<string, string>, counted: (n: number) => void): ReadableStream<Uint8Array> {
  let at = start;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let skip = 0;
  let failures = 0;
  const retries = o.retries ?? 5;
  const connect = async () => {
    // no-store: the pieces are stored here; the HTTP cache would keep a second copy, and it
    // answers ranges it holds in part by revalidating them with extra requests.
    const res = await fetch(url, { headers: { ...headers, Range: `bytes=${at}-${end - 1}` }, signal: o.signal, cache: 'no-store' });
    if (res.status === 200) skip = at; // the server ignored Range: read past what is already here
    else if (res.status === 206) skip = 0;
    else {
      await res.body?.cancel();
      const message = res.status === 401 || res.status === 403 ? `the Hub refused ${url} (HTTP ${res.status}): a gated or private repository needs an access token (the accessToken option)` : res.status === 404 ? `${url} does not exist (HTTP 404)` : `${url}: HTTP ${res.status}`;
      throw new DownloadError(message, res.status);
    }
    if (!res.body) throw new DownloadError(`${url}: HTTP ${res.status} without a body`, res.status);
    reader = res.body.getReader();
  };
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      for (;;) {
        if (at >= end) {
          await reader?.cancel();
          c.close();
          return;
        }
        try {
          if (!reader) await connect();
          const { value, done } = await reader!.read();
          if (done) {
            reader = undefined;
            throw new DownloadError(`${url}: the connection closed at byte ${at} of ${end}`);
          }
          let chunk = value;
          if (skip > 0) {
            const drop = Math.min(skip, chunk.length);
            skip -= drop;
            chunk = chunk.subarray(drop);
          }
          if (chunk.length > end - at) chunk = chunk.subarray(0, end - at);
          if (chunk.length === 0) continue;
          at += chunk.length;
          failures = 0;
          counted(chunk.length);
          c.enqueue(chunk);
          return;
        } catch (e) {
          reader = undefined;
          if (o.signal?.aborted) throw o.signal.reason;
          const status = e instanceof DownloadError ? e.status : undefined;
          if ((status !== undefined && !retryable(status)) || ++failures > retries) {
            throw e instanceof DownloadError ? e : new DownloadError(`downloading ${url} failed after ${failures} attempts: ${(e as Error).message}`);
          }
          await sleep((o.retryDelayMs ?? 500) * 2 ** (failures - 1), o.signal);
        }
      }
    },
    cancel: () => reader?.cancel(),
  });
}

/** Fetches every file not yet complete in storage; resolves when all are stored and verified. */
export async function downloadFiles(files: FileToFetch[], o: DownloadOptions): Promise<void> {
  const { storage } = o;
  const pieceBytes = o.pieceBytes ?? 32 * MiB;
  const whole = (v: number | undefined, name: string, min: number, max: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) throw new RangeError(`download.${name} must be an integer from ${min} to ${max}, got ${v}`);
  };
  whole(o.pieceBytes, 'pieceBytes', 64 * 1024, 2 ** 31 - 1);
  whole(o.parallel, 'parallel', 1, 64);
  whole(o.retries, 'retries', 0, 100);
  const states: (FileProgress & { manifest: FileManifest; job: FileToFetch })[] = [];
  for (const job of files) {
    const { file } = job;
    const old = await storage.readJson<FileManifest>(manifestPath(job.dir));
    let manifest: FileManifest;
    if (matches(old, file) && old.pieceBytes > 0) manifest = old;
    else {
      if (old) await storage.remove(job.dir); // another version of the file: start again
      manifest = { v: 1, url: job.url, size: file.size, oid: file.oid, sha256: file.sha256, pieceBytes, pieces: [], verified: false };
    }
    if (manifest.verified && !(await readStoredFile(storage, job.dir, manifest))) manifest = { ...manifest, pieces: [], verified: false };
    const have = manifest.pieces.reduce((a, i) => a + Math.min(manifest.pieceBytes, file.size - i * manifest.pieceBytes), 0);
    states.push({ path: file.path, loadedBytes: have, totalBytes: file.size, bytesPerSecond: 0, state: manifest.verified ? 'cached' : 'waiting', manifest, job });
  }

  const needed = states.reduce((a, s) => a + (s.manifest.verified ? 0 : s.totalBytes - s.loadedBytes), 0);
  if (needed === 0) return;
  const space = await storage.available().catch(() => undefined);
  if (space && space.free < needed) {
    throw new StorageError(`not enough storage for this model: it needs ${mb(needed)} more, and this ${storage.kind === 'fs' ? 'disk' : 'origin'} can store ${mb(space.free)}${space.quota !== undefined ? ` (quota ${mb(space.quota)}, ${mb(space.usage ?? 0)} used)` : ''}; free some space (deleteCachedModel / clearCache) or choose a smaller model`);
  }

  await o.beforeWrite?.();
  const overall = new RateMeter();
  let fetched = 0;
  const meters = new Map(states.map((s) => [s, new RateMeter()]));
  let lastEmit = 0;
  const emit = (force = false) => {
    const now = performance.now();
    if (!o.onProgress || (!force && now - lastEmit < 100)) return;
    lastEmit = now;
    const loaded = states.reduce((a, s) => a + s.loadedBytes, 0);
    const total = states.reduce((a, s) => a + s.totalBytes, 0);
    const rate = overall.rate(now);
    o.onProgress({
      loadedBytes: loaded,
      totalBytes: total,
      fetchedBytes: fetched,
      bytesPerSecond: rate,
      etaSeconds: eta(total - loaded, rate),
      files: states.map(({ manifest: _m, job: _j, ...f }) => {
        const r = f.state === 'downloading' ? meters.get(states.find((s) => s.path === f.path)!)!.rate(now) : 0;
        return { ...f, bytesPerSecond: r, etaSeconds: f.state === 'downloading' ? eta(f.totalBytes - f.loadedBytes, r) : f.state === 'waiting' ? undefined : 0 };
      }),
    });
  };

  // Manifest writes of one file are chained: pieces finish in any order.
  const saving = new Map<(typeof states)[number], Promise<void>>();
  const save = (s: (typeof states)[number]) => {
    const next = (saving.get(s) ?? Promise.resolve()).then(() => storage.writeJson(manifestPath(s.job.dir), s.manifest));
    saving.set(s, next.catch(() => {}));
    return next;
  };

  const tasks: { s: (typeof states)[number]; i: number }[] = [];
  for (const s of states) {
    if (s.manifest.verified) continue;
    await save(s);
    const count = Math.max(1, Math.ceil(s.totalBytes / s.manifest.pieceBytes));
    for (let i = 0; i < count; i++) if (!s.manifest.pieces.includes(i)) tasks.push({ s, i });
  }

  const headersFor = (url: string) => (o.hubOrigin && new URL(url).origin === o.hubOrigin ? (o.hubHeaders ?? {}) : {});
  const finishFile = async (s: (typeof states)[number]) => {
    s.state = 'verifying';
    emit(true);
    const blob = await readStoredFile(storage, s.job.dir, s.manifest);
    if (!blob) throw new StorageError(`${s.path}: a stored piece went missing while downloading`);
    try {
      await verify(blob, s.job.file);
    } catch (e) {
      await storage.remove(s.job.dir); // never kept, never used
      throw e;
    }
    s.manifest.verified = true;
    await save(s);
    s.state = 'done';
    emit(true);
  };

  let failed: unknown;
  const runPiece = async ({ s, i }: (typeof tasks)[number]) => {
    const m = s.manifest;
    const start = i * m.pieceBytes;
    const end = Math.min(s.totalBytes, start + m.pieceBytes);
    let got = 0;
    s.state = 'downloading';
    const stream = rangeStream(s.job.url, start, end, o, headersFor(s.job.url), (n) => {
      got += n;
      fetched += n;
      s.loadedBytes += n;
      overall.add(n);
      meters.get(s)!.add(n);
      emit();
    });
    try {
      await storage.writePiece(`${s.job.dir}/${pieceName(i)}`, stream);
    } catch (e) {
      s.loadedBytes -= got; // the piece is not kept
      throw e;
    }
    m.pieces.push(i);
    // Decided before any await: of pieces finishing together, only the last one verifies the file.
    const last = m.pieces.length === Math.max(1, Math.ceil(s.totalBytes / m.pieceBytes));
    await save(s);
    if (last) await finishFile(s);
  };

  const queue = [...tasks];
  const worker = async () => {
    while (queue.length && failed === undefined) {
      const t = queue.shift()!;
      try {
        await runPiece(t);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  emit(true);
  await Promise.all(Array.from({ length: Math.min(o.parallel ?? 4, tasks.length) }, worker));
  if (failed !== undefined) {
    if (isQuotaError(failed)) {
      // Nothing half-written stays behind: the files of this download that are not complete go.
      for (const s of states) if (!s.manifest.verified) await storage.remove(s.job.dir).catch(() => {});
      const stored = states.reduce((a, st) => a + (st.manifest.verified ? 0 : st.loadedBytes), 0);
      throw new StorageError(`not enough storage for this model: the ${storage.kind} storage refused more data after ${mb(stored)} of the ${mb(needed)} it needs (its quota is reached); the partial files were removed: free some space (deleteCachedModel / clearCache) or choose a smaller model`);
    }
    throw failed;
  }
  emit(true);
}
