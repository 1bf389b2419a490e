/** Kept in memory for the life of the engine: for `cache: 'memory'` (nothing stored on the device). */
import type { ModelStorage } from './storage.js';

export class MemoryStorage implements ModelStorage {
  readonly kind = 'memory';
  private readonly files = new Map<string, Blob>();

  async readJson<T>(path: string): Promise<T | null> {
    const b = this.files.get(path);
    return b ? (JSON.parse(await b.text()) as T) : null;
  }
  async writeJson(path: string, value: unknown): Promise<void> {
    this.files.set(path, new Blob([JSON.stringify(value)]));
  }
  async writePiece(path: string, data: ReadableStream<Uint8Array>): Promise<void> {
    this.files.set(path, await new Response(data).blob());
  }
  async readPiece(path: string): Promise<Blob | null> {
    return this.files.get(path) ?? null;
  }
  async listJson(dir: string): Promise<string[]> {
    return [...this.files.keys()].filter((k) => k.startsWith(dir + '/') && !k.slice(dir.length + 1).includes('/') && k.endsWith('.json'));
  }
  async remove(path: string): Promise<void> {
    for (const k of [...this.files.keys()]) if (k === path || k.startsWith(path + '/')) this.files.delete(k);
  }
  async available(): Promise<{ free: number; quota?: number; usage?: number } | undefined> {
    return undefined;
  }
}
