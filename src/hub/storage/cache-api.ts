/**
 * The Cache API, where OPFS is missing: each piece and manifest is one cached Response under a
 * synthetic URL. `put` stores a response only once its body has been read to the end.
 */
import { estimate } from './estimate.js';
import { splitPath, type ModelStorage } from './storage.js';

const BASE = 'https://webinfer.cache/';

export class CacheApiStorage implements ModelStorage {
  readonly kind = 'cache-api';
  private constructor(private readonly cache: Cache) {}

  static async open(name: string): Promise<CacheApiStorage> {
    return new CacheApiStorage(await caches.open(name));
  }

  private url(path: string): string {
    return BASE + splitPath(path).map(encodeURIComponent).join('/');
  }

  async readJson<T>(path: string): Promise<T | null> {
    const r = await this.cache.match(this.url(path));
    if (!r) return null;
    try {
      return (await r.json()) as T;
    } catch {
      return null;
    }
  }

  async writeJson(path: string, value: unknown): Promise<void> {
    await this.cache.put(this.url(path), new Response(JSON.stringify(value), { headers: { 'content-type': 'application/json' } }));
  }

  async writePiece(path: string, data: ReadableStream<Uint8Array>): Promise<void> {
    await this.cache.put(this.url(path), new Response(data));
  }

  async readPiece(path: string): Promise<Blob | null> {
    const r = await this.cache.match(this.url(path));
    return r ? r.blob() : null;
  }

  async listJson(dir: string): Promise<string[]> {
    const prefix = this.url(dir) + '/';
    const keys = await this.cache.keys();
    return keys
      .map((k) => k.url)
      .filter((u) => u.startsWith(prefix) && !u.slice(prefix.length).includes('/') && u.endsWith('.json'))
      .map((u) => `${dir}/${decodeURIComponent(u.slice(prefix.length))}`);
  }

  async remove(path: string): Promise<void> {
    const url = this.url(path);
    for (const k of await this.cache.keys()) if (k.url === url || k.url.startsWith(url + '/')) await this.cache.delete(k);
  }

  available = estimate;
}
