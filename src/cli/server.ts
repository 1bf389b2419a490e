/**
 * The seed's server, in Node: the same router that answers the in-page fetch, served over real
 * HTTP. A client that disconnects aborts its generation; close() stops cleanly.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createFetch, type CreateFetchOptions, type WebinferFetch } from '../client/create-fetch.js';
import type { ModelInfo } from '../worker/protocol.js';

export interface ServeOptions extends CreateFetchOptions {
  host?: string;
  port?: number;
}

export interface RunningServer {
  url: string;
  info: ModelInfo;
  close(): Promise<void>;
}

const MAX_BODY = 32 * 1024 * 1024;

function errorBody(message: string, code: string): string {
  return JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } });
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return 'too-large';
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const { host = '127.0.0.1', port = 8188, ...engine } = options;
  const local: WebinferFetch = createFetch({ ...engine, worker: false });
  const info = await local.ready;
  const inflight = new Set<AbortController>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const abort = new AbortController();
    inflight.add(abort);
    // The socket closing before the response ended means the client went away: stop generating.
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
      inflight.delete(abort);
    });
    try {
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req);
      if (body === 'too-large') {
        res.writeHead(413, { 'content-type': 'application/json' }).end(errorBody(`request body exceeds ${MAX_BODY} bytes`, 'request_too_large'));
        return;
      }
      const headers = Object.entries(req.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, Array.isArray(v) ? v.join(', ') : v] as [string, string]]));
      const response = await local(`http://${req.headers.host ?? 'localhost'}${req.url}`, { method: req.method, headers, body: body && new Uint8Array(body), signal: abort.signal });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.flushHeaders();
      if (response.body) for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
      res.end();
    } catch (e) {
      if (abort.signal.aborted) return res.destroy();
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(errorBody((e as Error).message, 'internal_error'));
      else res.destroy();
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as { address: string; port: number };
  const shownHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    info,
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const a of inflight) a.abort();
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 2000).unref();
      await closed;
      await local.dispose();
    },
  };
}
