/** The Origin Private File System: one folder per path segment, a piece per file. */
import { splitPath, type ModelStorage } from './storage.js';
import { estimate } from './estimate.js';

type Dir = FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> };

export class OpfsStorage implements ModelStorage {
  readonly kind = 'opfs';
  private constructor(private readonly root: Dir) {}

  static async open(folder: string): Promise<OpfsStorage> {
    const top = (await navigator.storage.getDirectory()) as Dir;
    return new OpfsStorage((await top.getDirectoryHandle(folder, { create: true })) as Dir);
  }

  private async dir(segments: string[], create: boolean): Promise<Dir | null> {
    let d = this.root;
    for (const s of segments) {
      try {
        d = (await d.getDirectoryHandle(s, { create })) as Dir;
      } catch (e) {
        if ((e as DOMException).name === 'NotFoundError' || (e as DOMException).name === 'TypeMismatchError') return null;
        throw e;
      }
    }
    return d;
  }

  private async file(path: string, create: boolean): Promise<FileSystemFileHandle | null> {
    const parts = splitPath(path);
    const d = await this.dir(parts.slice(0, -1), create);
    if (!d) return null;
    try {
      return await d.getFileHandle(parts.at(-1)!, { create });
    } catch (e) {
      if ((e as DOMException).name === 'NotFoundError' || (e as DOMException).name === 'TypeMismatchError') return null;
      throw e;
    }
  }

  async readJson<T>(path: string): Promise<T | null> {
    const f = await this.file(path, false);
    if (!f) return null;
    try {
      return JSON.parse(await (await f.getFile()).text()) as T;
    } catch {
      return null; // a manifest that does not parse is treated as absent: the file is fetched again
    }
  }

  async writeJson(path: string, value: unknown): Promise<void> {
    // A writable stream writes to a swap file that replaces the file on close: readers see the old or the new JSON.
    const w = await (await this.file(path, true))!.createWritable();
    await w.write(JSON.stringify(value));
    await w.close();
  }

  async writePiece(path: string, data: ReadableStream<Uint8Array>): Promise<void> {
    const handle = (await this.file(path, true))!;
    try {
      await data.pipeTo(await handle.createWritable());
    } catch (e) {
      await this.remove(path).catch(() => {});
      throw e;
    }
  }

  async readPiece(path: string): Promise<Blob | null> {
    const f = await this.file(path, false);
    return f ? f.getFile() : null;
  }

  async listJson(dir: string): Promise<string[]> {
    const d = await this.dir(splitPath(dir), false);
    if (!d) return [];
    const out: string[] = [];
    for await (const [name, h] of d.entries()) if (h.kind === 'file' && name.endsWith('.json')) out.push(`${dir}/${name}`);
    return out;
  }

  async remove(path: string): Promise<void> {
    const parts = splitPath(path);
    const d = await this.dir(parts.slice(0, -1), false);
    if (!d) return;
    await d.removeEntry(parts.at(-1)!, { recursive: true }).catch((e: DOMException) => {
      if (e.name !== 'NotFoundError') throw e;
    });
  }

  available = estimate;
}
