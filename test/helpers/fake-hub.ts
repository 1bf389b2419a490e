/**
 * A local server that answers like the Hugging Face Hub for what webinfer uses:
 *   GET /api/models/<owner>/<repo>/tree/<rev>?recursive=true   the listing (paged with Link headers)
 *   GET /<owner>/<repo>/resolve/<rev>/<path>                   small files directly; LFS files
 *                                                              redirected to a CDN on another origin
 *   GET /blobs/<sha256>  (the CDN)                             Range, ETag, X-Linked-* as the Hub sends
 * with CORS for pages on other origins, private repositories that need a token, and faults to
 * inject: a connection cut after N bytes, a corrupted byte, slow delivery, an outage.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface HubRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  range?: string;
  authorization?: string;
  status: number;
  /** Bytes of body sent. */
  sent: number;
}

interface Entry {
  data: Uint8Array;
  oid: string;
  sha256?: string;
}

const LFS = /\.(gguf|onnx|onnx_data|safetensors|bin)$/;
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'range, authorization, accept, content-type, if-range',
  'access-control-expose-headers': 'etag, content-range, content-length, accept-ranges, x-linked-etag, x-linked-size, x-repo-commit, link, x-error-code',
  'cross-origin-resource-policy': 'cross-origin',
};

export class FakeHub {
  readonly requests: HubRequest[] = [];
  private readonly repos = new Map<string, { files: Map<string, Entry>; token?: string }>();
  private hub!: Server;
  private cdn!: Server;
  private sockets = new Set<Socket>();
  url = '';
  cdnUrl = '';
  /** The next CDN response for these paths closes its connection after this many body bytes. */
  readonly cutAfter = new Map<string, number>();
  /** Files served with one byte flipped (the listing keeps the true hashes). */
  readonly corrupt = new Set<string>();
  /** CDN bytes per second (0: as fast as it goes). */
  bytesPerSecond = 0;
  /** Every request fails at the socket, as when the network is gone. */
  down = false;
  /** Requests dropped while down. */
  refused = 0;
  /** Entries per page of the listing (the real Hub pages at 1000; small here to exercise paging). */
  pageSize = 5;

  addRepo(repo: string, files: Record<string, Uint8Array>, options: { token?: string } = {}): void {
    const map = new Map<string, Entry>();
    for (const [path, data] of Object.entries(files)) {
      const oid = createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
      map.set(path, { data, oid, sha256: LFS.test(path) ? createHash('sha256').update(data).digest('hex') : undefined });
    }
    this.repos.set(repo, { files: map, token: options.token });
  }

  /** Bytes the CDN and the hub sent for a repository path. */
  bytesSent(path: string): number {
    return this.requests.filter((r) => r.path.endsWith(path) || r.path.includes(this.sha(path) ?? '\0')).reduce((a, r) => a + r.sent, 0);
  }

  private sha(path: string): string | undefined {
    for (const r of this.repos.values()) {
      const e = [...r.files.entries()].find(([p]) => path.endsWith(p));
      if (e) return e[1].sha256;
    }
    return undefined;
  }

  async start(): Promise<this> {
    const listen = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
      new Promise<Server>((resolve) => {
        const s = createServer((req, res) => {
          if (this.down) {
            this.refused++;
            return req.socket.destroy();
          }
          if (req.method === 'OPTIONS') return res.writeHead(204, { ...CORS, 'access-control-allow-methods': 'GET, HEAD', 'access-control-max-age': '600' }).end();
          try {
            handler(req, res);
          } catch (e) {
            res.writeHead(500, CORS).end(String(e));
          }
        });
        s.on('connection', (c) => {
          this.sockets.add(c);
          c.on('close', () => this.sockets.delete(c));
        });
        s.listen(0, '127.0.0.1', () => resolve(s));
      });
    this.hub = await listen((req, res) => this.onHub(req, res));
    this.cdn = await listen((req, res) => this.onCdn(req, res));
    this.url = `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
    this.cdnUrl = `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([this.hub, this.cdn].map((s) => new Promise((r) => s?.close(r))));
  }

  private log(server: HubRequest['server'], req: IncomingMessage, status: number): HubRequest {
    const r: HubRequest = { server, method: req.method!, path: decodeURIComponent(new URL(req.url!, 'http://x').pathname), range: req.headers.range, authorization: req.headers.authorization, status, sent: 0 };
    this.requests.push(r);
    return r;
  }

  private repoFor(req: IncomingMessage, res: ServerResponse, repo: string, server: 'hub'): { files: Map<string, Entry> } | undefined {
    const r = this.repos.get(repo);
    if (!r) {
      this.log(server, req, 404);
      res.writeHead(404, { ...CORS, 'x-error-code': 'RepoNotFound', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Repository not found' }));
      return undefined;
    }
    if (r.token && req.headers.authorization !== `Bearer ${r.token}`) {
      this.log(server, req, 401);
      res.writeHead(401, { ...CORS, 'x-error-code': 'GatedRepo', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Invalid credentials in Authorization header' }));
      return undefined;
    }
    return r;
  }

  private onHub(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url!, this.url);
    const path = url.pathname.split('/').map(decodeURIComponent);
    // /api/models/<owner>/<repo>/tree/<rev>[/<dir>]
    if (path[1] === 'api' && path[2] === 'models' && path[5] === 'tree') {
      const repo = this.repoFor(req, res, `${path[3]}/${path[4]}`, 'hub');
      if (!repo) return;
      const dir = path.slice(7).join('/');
      const entries = [...repo.files.entries()]
        .filter(([p]) => !dir || p.startsWith(dir + '/'))
        .map(([p, e]) => ({ type: 'file', oid: e.oid, size: e.sha256 ? 134 : e.data.length, path: p, ...(e.sha256 ? { lfs: { oid: e.sha256, size: e.data.length, pointerSize: 134 } } : {}) }));
      const dirs = [...new Set(entries.flatMap((e) => e.path.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/'))))].map((p) => ({ type: 'directory', oid: '0'.repeat(40), size: 0, path: p }));
      const all = [...dirs, ...entries];
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const page = all.slice(cursor, cursor + this.pageSize);
      const headers: Record<string, string> = { ...CORS, 'content-type': 'application/json' };
      if (cursor + this.pageSize < all.length) {
        const next = new URL(url);
        next.searchParams.set('cursor', String(cursor + this.pageSize));
        headers.link = `<${next.href}>; rel="next"`;
      }
      this.log('hub', req, 200);
      res.writeHead(200, headers).end(JSON.stringify(page));
      return;
    }
    // /<owner>/<repo>/resolve/<rev>/<path>
    if (path[3] === 'resolve') {
      const repo = this.repoFor(req, res, `${path[1]}/${path[2]}`, 'hub');
      if (!repo) return;
      const file = path.slice(5).join('/');
      const e = repo.files.get(file);
      if (!e) {
        this.log('hub', req, 404);
        res.writeHead(404, { ...CORS, 'x-error-code': 'EntryNotFound' }).end('Entry not found');
        return;
      }
      if (e.sha256) {
        this.log('hub', req, 302);
        res.writeHead(302, { ...CORS, location: `${this.cdnUrl}/blobs/${e.sha256}?file=${encodeURIComponent(file)}`, 'x-linked-etag': `"${e.sha256}"`, 'x-linked-size': String(e.data.length), etag: `"${e.oid}"` }).end();
        return;
      }
      this.send(req, res, 'hub', file, e.data, `"${e.oid}"`);
      return;
    }
    this.log('hub', req, 404);
    res.writeHead(404, CORS).end();
  }

  private onCdn(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url!, this.cdnUrl);
    const sha = url.pathname.split('/')[2];
    const file = url.searchParams.get('file') ?? '';
    for (const r of this.repos.values())
      for (const e of r.files.values())
        if (e.sha256 === sha) {
          this.send(req, res, 'cdn', file, e.data, `"${sha}"`);
          return;
        }
    this.log('cdn', req, 404);
    res.writeHead(404, CORS).end();
  }

  private send(req: IncomingMessage, res: ServerResponse, server: HubRequest['server'], file: string, data: Uint8Array, etag: string): void {
    let body = Buffer.from(data);
    if (this.corrupt.has(file)) {
      body = Buffer.from(body);
      const i = body.length >> 1;
      body[i] = body[i]! ^ 0x40;
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = body.length;
    const headers: Record<string, string> = { ...CORS, etag, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    let status = 200;
    if (m) {
      start = Number(m[1]);
      end = m[2] ? Math.min(body.length, Number(m[2]) + 1) : body.length;
      if (start >= body.length) {
        this.log(server, req, 416);
        res.writeHead(416, { ...headers, 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end - 1}/${body.length}`;
    }
    headers['content-length'] = String(end - start);
    const log = this.log(server, req, status);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    const cut = this.cutAfter.get(file);
    if (cut !== undefined) this.cutAfter.delete(file);
    const chunk = 16 * 1024;
    let at = start;
    const pump = () => {
      while (at < end) {
        if (cut !== undefined && at - start >= cut) {
          res.socket?.destroy(); // the connection dies mid-file
          return;
        }
        const n = Math.min(chunk, end - at, cut !== undefined ? Math.max(1, start + cut - at) : chunk);
        const ok = res.write(body.subarray(at, at + n));
        at += n;
        log.sent += n;
        if (this.bytesPerSecond > 0) return void setTimeout(pump, (n / this.bytesPerSecond) * 1000);
        if (!ok) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  }
}
