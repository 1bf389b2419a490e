/** Picks where models are kept: OPFS in browsers, the Cache API where OPFS is missing, a folder in Node. */
import { CacheApiStorage } from './cache-api.js';
import { MemoryStorage } from './memory.js';
import { defaultCacheDir, NodeFsStorage } from './node-fs.js';
import { OpfsStorage } from './opfs.js';
import type { ModelStorage, StorageKind } from './storage.js';

export type { ModelStorage, StorageKind } from './storage.js';
export { StorageError, isQuotaError } from './storage.js';

export type CacheChoice = 'auto' | StorageKind;

const NAME = 'webinfer-models';
const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
const opened = new Map<string, Promise<ModelStorage>>();
const memory = new MemoryStorage();

export function hasOpfs(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function' && typeof FileSystemFileHandle !== 'undefined' && 'createWritable' in FileSystemFileHandle.prototype;
}

/** The storage for `choice`; `dir` is the folder for 'fs' (default: defaultCacheDir()). */
export function openStorage(choice: CacheChoice = 'auto', dir?: string): Promise<ModelStorage> {
  const kind: StorageKind = choice !== 'auto' ? choice : isNode ? 'fs' : hasOpfs() ? 'opfs' : typeof caches !== 'undefined' ? 'cache-api' : 'memory';
  const key = `${kind}:${dir ?? ''}`;
  let s = opened.get(key);
  if (!s) {
    s = (async (): Promise<ModelStorage> => {
      switch (kind) {
        case 'opfs':
          if (!hasOpfs()) throw new Error("cache 'opfs' was asked for, but this environment has no Origin Private File System");
          return OpfsStorage.open(NAME);
        case 'cache-api':
          if (typeof caches === 'undefined') throw new Error("cache 'cache-api' was asked for, but this environment has no Cache API (pages need a secure context: https or localhost)");
          return CacheApiStorage.open(NAME);
        case 'fs':
          if (!isNode) throw new Error("cache 'fs' is for Node; browsers use 'opfs' or 'cache-api'");
          return NodeFsStorage.open(dir ?? (await defaultCacheDir()));
        case 'memory':
          return memory;
        default:
          throw new Error(`unknown cache '${String(kind)}' (auto, opfs, cache-api, fs, memory)`);
      }
    })();
    s.catch(() => opened.delete(key));
    opened.set(key, s);
  }
  return s;
}
