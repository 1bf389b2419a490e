/**
 * Where downloaded model files are kept. A file is stored as numbered pieces (each written
 * atomically: it exists complete or not at all) plus a small JSON manifest, so that:
 *   - a download interrupted by a closed tab resumes from its last whole piece;
 *   - pieces of one file are fetched in parallel without two writers on one stored file;
 *   - a model of any size is read back as a Blob made of the pieces' Blobs (disk-backed in
 *     every implementation here), never as one ArrayBuffer.
 * Paths are '/'-separated, relative to the storage's root.
 */
export type StorageKind = 'opfs' | 'cache-api' | 'fs' | 'memory';

export interface ModelStorage {
  readonly kind: StorageKind;
  readJson<T>(path: string): Promise<T | null>;
  /** Replaces the JSON at `path` atomically. */
  writeJson(path: string, value: unknown): Promise<void>;
  /** Writes a piece from a stream; the piece is absent until the stream ends without error. */
  writePiece(path: string, data: ReadableStream<Uint8Array>): Promise<void>;
  readPiece(path: string): Promise<Blob | null>;
  /** Paths of the JSON files directly inside `dir`. */
  listJson(dir: string): Promise<string[]>;
  /** Removes `path` (a file or a whole folder); absent is fine. */
  remove(path: string): Promise<void>;
  /** Bytes this origin may still store, when the platform says. */
  available(): Promise<{ free: number; quota?: number; usage?: number } | undefined>;
}

/** An error of the storage itself (quota, a broken disk), named for the user. */
export class StorageError extends Error {}

export function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  const code = (e as { code?: string })?.code;
  return name === 'QuotaExceededError' || code === 'ENOSPC' || code === 'EDQUOT';
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}
