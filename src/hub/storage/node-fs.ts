/** A folder on disk, for Node (`webinfer serve --model hf:...`): pieces written to a temporary name, then renamed. */
import { splitPath, type ModelStorage } from './storage.js';

// Specifiers in variables keep bundlers from replacing Node built-ins with browser stubs.
const [fsName, pathName, osName, streamName] = ['node:fs', 'node:path', 'node:os', 'node:stream'];

/** $WEBINFER_CACHE, else $XDG_CACHE_HOME/webinfer, else ~/.cache/webinfer. */
export async function defaultCacheDir(): Promise<string> {
  const { join }: typeof import('node:path') = await import(/* @vite-ignore */ /* webpackIgnore: true */ pathName);
  const os: typeof import('node:os') = await import(/* @vite-ignore */ /* webpackIgnore: true */ osName);
  return process.env.WEBINFER_CACHE || join(process.env.XDG_CACHE_HOME || join(os.homedir(), '.cache'), 'webinfer');
}

export class NodeFsStorage implements ModelStorage {
  readonly kind = 'fs';
  private constructor(
    private readonly root: string,
    private readonly fs: typeof import('node:fs'),
    private readonly path: typeof import('node:path'),
    private readonly stream: typeof import('node:stream'),
  ) {}

  static async open(root: string): Promise<NodeFsStorage> {
    const [fs, path, stream] = await Promise.all([import(/* @vite-ignore */ /* webpackIgnore: true */ fsName), import(/* @vite-ignore */ /* webpackIgnore: true */ pathName), import(/* @vite-ignore */ /* webpackIgnore: true */ streamName)]);
    return new NodeFsStorage(root, fs, path, stream);
  }

  private full(p: string): string {
    return this.path.join(this.root, ...splitPath(p));
  }

  private async replace(p: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.full(p);
    await this.fs.promises.mkdir(this.path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      await write(tmp);
      await this.fs.promises.rename(tmp, target);
    } catch (e) {
      await this.fs.promises.rm(tmp, { force: true });
      throw e;
    }
  }

  async readJson<T>(p: string): Promise<T | null> {
    try {
      return JSON.parse(await this.fs.promises.readFile(this.full(p), 'utf8')) as T;
    } catch {
      return null;
    }
  }

  writeJson(p: string, value: unknown): Promise<void> {
    return this.replace(p, (tmp) => this.fs.promises.writeFile(tmp, JSON.stringify(value)));
  }

  writePiece(p: string, data: ReadableStream<Uint8Array>): Promise<void> {
    return this.replace(p, (tmp) => data.pipeTo(this.stream.Writable.toWeb(this.fs.createWriteStream(tmp)) as WritableStream<Uint8Array>));
  }

  async readPiece(p: string): Promise<Blob | null> {
    const file = this.full(p);
    if (!this.fs.existsSync(file)) return null;
    return (await this.fs.openAsBlob(file)) as Blob;
  }

  async listJson(dir: string): Promise<string[]> {
    try {
      const names = await this.fs.promises.readdir(this.full(dir));
      return names.filter((n) => n.endsWith('.json')).map((n) => `${dir}/${n}`);
    } catch {
      return [];
    }
  }

  async remove(p: string): Promise<void> {
    await this.fs.promises.rm(this.full(p), { recursive: true, force: true });
  }

  async available(): Promise<{ free: number } | undefined> {
    await this.fs.promises.mkdir(this.root, { recursive: true });
    const s = await this.fs.promises.statfs(this.root);
    return { free: s.bavail * s.bsize };
  }
}
