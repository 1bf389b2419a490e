/**
 * Models from the Hub, kept on the device. A model entry (`models/<id>.json`) records which files
 * a name resolved to; each file lives under `files/<owner>/<repo>/<revision>/<path>/` with its
 * manifest and pieces (download.ts). A model whose files are all verified loads with no network.
 */
import { listFiles } from '@huggingface/hub';
import { downloadFiles, manifestPath, pieceName, readStoredFile, sha256Hex, verify, type DownloadTuning, type FileManifest } from './download.js';
import { hubId, parseHubModel, resolveUrl, type HubModelSource, type HubRef } from './ref.js';
import { selectFiles, type RepoFile, type Selection } from './select.js';
import { openStorage, StorageError, type CacheChoice, type ModelStorage, type StorageKind } from './storage/index.js';

export interface HubOptions extends DownloadTuning {
  /** The Hub or a mirror (default https://huggingface.co). */
  hubUrl?: string;
  /** A Hugging Face access token for gated or private repositories; sent to the Hub's origin only. */
  accessToken?: string;
  /** Where files are kept: 'auto' (OPFS, else the Cache API; a folder in Node), or one of them, or 'memory' (nothing stored). */
  cache?: CacheChoice;
  /** Node: the cache folder (default $WEBINFER_CACHE or ~/.cache/webinfer). */
  cacheDir?: string;
  /** ONNX repositories: the onnx/ file names in the order this device prefers them. */
  onnxFiles?: string[];
}

export interface CachedModel {
  /** The model's name, e.g. 'hf:owner/repo:Q4_K_M'; what deleteCachedModel takes. */
  id: string;
  repo: string;
  revision: string;
  format: Selection['format'];
  files: { path: string; size: number; storedBytes: number; complete: boolean }[];
  /** Bytes of the whole model, and the bytes stored so far. */
  size: number;
  storedBytes: number;
  /** Every file downloaded and verified: loads with no network. */
  complete: boolean;
  storage: StorageKind;
  lastUsed: string;
}

interface ModelEntry {
  v: 1;
  id: string;
  repo: string;
  revision: string;
  hubUrl: string;
  format: Selection['format'];
  /** The folder of the model in the repository ('' for the root); names are given relative to it. */
  base: string;
  files: RepoFile[];
  lastUsed: string;
}

export interface HubModel {
  /** Name for responses: 'owner/repo' (with ':variant' or '/file' when named). */
  id: string;
  /** Every spelling a request may use for this model. */
  aliases: string[];
  format: Selection['format'];
  /** The files by the names the loaders look for, each a Blob of stored pieces. */
  files: Record<string, Blob>;
  /** True when nothing had to be downloaded. */
  fromCache: boolean;
}

const entryPath = (id: string) => `models/${encodeURIComponent(id)}.json`;
const fileDir = (e: { repo: string; revision: string }, path: string) => `files/${e.repo}/${encodeURIComponent(e.revision)}/${path}`;

/** The names the loaders read a selected file by: GGUFs by their own name, others relative to the model's folder. */
function localName(e: ModelEntry, path: string): string {
  return e.format === 'gguf' ? path.split('/').pop()! : path.slice(e.base.length);
}

async function storedFiles(storage: ModelStorage, e: ModelEntry): Promise<Record<string, Blob> | null> {
  const out: Record<string, Blob> = {};
  for (const f of e.files) {
    const dir = fileDir(e, f.path);
    const m = await storage.readJson<FileManifest>(manifestPath(dir));
    if (!m?.verified || m.size !== f.size) return null;
    const blob = await readStoredFile(storage, dir, m);
    if (!blob) return null;
    out[localName(e, f.path)] = blob;
  }
  return out;
}

async function listRepo(ref: HubRef, o: HubOptions): Promise<RepoFile[]> {
  const files: RepoFile[] = [];
  for await (const f of listFiles({ repo: { type: 'model', name: ref.repo }, revision: ref.revision, recursive: true, hubUrl: ref.hubUrl, accessToken: o.accessToken })) {
    // A path that could step out of the cache folder is not a file webinfer will store.
    if (f.type === 'file' && !f.path.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) files.push({ path: f.path, size: f.lfs?.size ?? f.size, oid: f.oid, sha256: f.lfs?.oid });
  }
  return files;
}

function modelOf(e: ModelEntry, files: Record<string, Blob>, fromCache: boolean, given: string): HubModel {
  const id = e.id.slice(3);
  return { id, aliases: [...new Set([e.id, given, e.repo])], format: e.format, files, fromCache };
}

/**
 * The model a Hub name designates, from the cache when it is complete there (no network), else
 * listed, downloaded (resuming what an earlier attempt stored) and verified first.
 */
export async function fetchHubModel(source: string | URL | HubModelSource, o: HubOptions = {}): Promise<HubModel> {
  const ref = parseHubModel(source, o.hubUrl);
  const id = hubId(ref);
  const given = typeof source === 'object' && !(source instanceof URL) ? id : String(source);
  const storage = await openStorage(o.cache, o.cacheDir);
  const known = await storage.readJson<ModelEntry>(entryPath(id));
  if (known?.v === 1) {
    const files = await storedFiles(storage, known);
    if (files) {
      await storage.writeJson(entryPath(id), { ...known, lastUsed: new Date().toISOString() }).catch(() => {});
      return modelOf(known, files, true, given);
    }
  }
  let listing: RepoFile[];
  try {
    listing = await listRepo(ref, o);
  } catch (e) {
    const why = (e as Error).message;
    throw new Error(`could not list ${ref.repo} at revision ${ref.revision} on ${ref.hubUrl}: ${why}${known ? ' (the model is only partly in the cache; loading it again online resumes the download)' : ''}`);
  }
  const selection = selectFiles(ref, listing, o.onnxFiles);
  const entry: ModelEntry = { v: 1, id, repo: ref.repo, revision: ref.revision, hubUrl: ref.hubUrl, format: selection.format, base: selection.base, files: selection.files, lastUsed: new Date().toISOString() };
  const jobs = selection.files.map((file) => ({ file, url: resolveUrl(ref, file.path), dir: fileDir(entry, file.path) }));
  // The entry is written only once nothing stops the download (the space check): a model that
  // never started leaves nothing behind; one that started is listed as partial, for resuming.
  const { hubUrl: _h, accessToken, cache: _c, cacheDir: _d, onnxFiles: _o, ...tuning } = o;
  const download = downloadFiles(jobs, {
    ...tuning,
    storage,
    hubOrigin: new URL(ref.hubUrl).origin,
    hubHeaders: accessToken ? { Authorization: `Bearer ${accessToken}` } : undefined,
    beforeWrite: () => storage.writeJson(entryPath(id), entry),
  });
  await download.catch(async (e) => {
    // Out of space: the partial files are gone, and so goes the entry that listed them.
    if (e instanceof StorageError) await storage.remove(entryPath(id)).catch(() => {});
    throw e;
  });
  await storage.writeJson(entryPath(id), entry);
  const files = await storedFiles(storage, entry);
  if (!files) throw new Error(`${id}: the downloaded files could not be read back from the ${storage.kind} cache`);
  return modelOf(entry, files, false, given);
}

export interface CacheOptions {
  cache?: CacheChoice;
  cacheDir?: string;
}

/** The models in the cache, complete or partly downloaded, with their sizes. */
export async function listCachedModels(o: CacheOptions = {}): Promise<CachedModel[]> {
  const storage = await openStorage(o.cache, o.cacheDir);
  const out: CachedModel[] = [];
  for (const p of await storage.listJson('models')) {
    const e = await storage.readJson<ModelEntry>(p);
    if (e?.v !== 1) continue;
    const files = [];
    for (const f of e.files) {
      const m = await storage.readJson<FileManifest>(manifestPath(fileDir(e, f.path)));
      const stored = m ? m.pieces.reduce((a, i) => a + Math.min(m.pieceBytes, m.size - i * m.pieceBytes), 0) : 0;
      files.push({ path: f.path, size: f.size, storedBytes: stored, complete: !!m?.verified });
    }
    const size = files.reduce((a, f) => a + f.size, 0);
    const storedBytes = files.reduce((a, f) => a + f.storedBytes, 0);
    out.push({ id: e.id, repo: e.repo, revision: e.revision, format: e.format, files, size, storedBytes, complete: files.every((f) => f.complete), storage: storage.kind, lastUsed: e.lastUsed });
  }
  return out.sort((a, b) => b.lastUsed.localeCompare(a.lastUsed));
}

function canonical(id: string, hubUrl?: string): string {
  try {
    return hubId(parseHubModel(id.startsWith('hf:') || /^https?:/.test(id) ? id : `hf:${id}`, hubUrl));
  } catch {
    return id;
  }
}

/** Removes a model and the files no other cached model uses; false when it was not in the cache. */
export async function deleteCachedModel(id: string, o: CacheOptions & { hubUrl?: string } = {}): Promise<boolean> {
  const storage = await openStorage(o.cache, o.cacheDir);
  const key = canonical(id, o.hubUrl);
  const e = await storage.readJson<ModelEntry>(entryPath(key));
  if (!e) return false;
  await storage.remove(entryPath(key));
  const others = await Promise.all((await storage.listJson('models')).map((p) => storage.readJson<ModelEntry>(p)));
  const used = new Set(others.flatMap((x) => (x?.v === 1 ? x.files.map((f) => fileDir(x, f.path)) : [])));
  for (const f of e.files) if (!used.has(fileDir(e, f.path))) await storage.remove(fileDir(e, f.path));
  return true;
}

/** Removes every cached model. */
export async function clearCache(o: CacheOptions = {}): Promise<void> {
  const storage = await openStorage(o.cache, o.cacheDir);
  await storage.remove('models');
  await storage.remove('files');
}

/**
 * Keeps a model the user picked from their disk (a GGUF, or a directory's files) in the cache
 * under 'local:<name>', so it loads again later, with `model: 'local:<name>'`, without picking
 * it again. The stored copy is hashed against the original before it counts as complete.
 */
export async function storeLocalModel(name: string, files: Record<string, Blob>, o: CacheOptions & { pieceBytes?: number } = {}): Promise<string> {
  const storage = await openStorage(o.cache, o.cacheDir);
  const id = `local:${name}`;
  const pieceBytes = o.pieceBytes ?? 32 << 20;
  const entry: ModelEntry = { v: 1, id, repo: 'local', revision: encodeURIComponent(name), hubUrl: '', format: Object.keys(files).some((n) => n.endsWith('.onnx')) ? 'onnx' : Object.keys(files).some((n) => n.endsWith('.safetensors')) ? 'safetensors' : 'gguf', base: '', files: [], lastUsed: new Date().toISOString() };
  const needed = Object.values(files).reduce((a, b) => a + b.size, 0);
  const space = await storage.available().catch(() => undefined);
  if (space && space.free < needed) throw new StorageError(`not enough storage to keep ${name}: it needs ${(needed / 1e6).toFixed(1)} MB, and ${(space.free / 1e6).toFixed(1)} MB are free`);
  await deleteCachedModel(id, o);
  try {
    for (const [path, blob] of Object.entries(files)) {
      const file: RepoFile = { path, size: blob.size, sha256: await sha256Hex(blob) };
      entry.files.push(file);
      const dir = fileDir(entry, path);
      const m: FileManifest = { v: 1, url: '', size: blob.size, sha256: file.sha256, pieceBytes, pieces: [], verified: false };
      for (let i = 0; i * pieceBytes < blob.size || i === 0; i++) {
        await storage.writePiece(`${dir}/${pieceName(i)}`, blob.slice(i * pieceBytes, (i + 1) * pieceBytes).stream() as ReadableStream<Uint8Array>);
        m.pieces.push(i);
      }
      const stored = await readStoredFile(storage, dir, m);
      if (!stored) throw new StorageError(`${path}: the stored copy could not be read back`);
      await verify(stored, file);
      m.verified = true;
      await storage.writeJson(manifestPath(dir), m);
    }
    await storage.writeJson(entryPath(id), entry);
  } catch (e) {
    for (const f of Object.keys(files)) await storage.remove(fileDir(entry, f)).catch(() => {});
    throw e;
  }
  return id;
}

/** The files of a model kept with storeLocalModel, by the names the loaders look for. */
export async function openLocalModel(id: string, o: CacheOptions = {}): Promise<HubModel> {
  const storage = await openStorage(o.cache, o.cacheDir);
  const e = await storage.readJson<ModelEntry>(entryPath(id));
  const files = e?.v === 1 ? await storedFiles(storage, e) : null;
  if (!e || !files) throw new Error(`${id} is not in the cache (listCachedModels() shows what is)`);
  await storage.writeJson(entryPath(id), { ...e, lastUsed: new Date().toISOString() }).catch(() => {});
  return { id: id.slice('local:'.length), aliases: [id], format: e.format, files, fromCache: true };
}
