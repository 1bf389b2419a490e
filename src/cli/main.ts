/**
 * webinfer command line.
 *
 *   webinfer serve --model models/stories260K.gguf [--port 8188] [--host 127.0.0.1]
 *                  [--max-model-len 512] [--enable-logprob] [--served-model-name NAME] [--backend auto]
 *                  [--threads N] [--no-jump-forward] [--hub-url URL] [--cache-dir DIR]
 *   webinfer serve --model hf:owner/repo-GGUF[:Q4_K_M]     (a Hub model, downloaded once into the cache;
 *                                                          a token for gated repositories from $HF_TOKEN)
 */
import { parseArgs } from 'node:util';
import type { BackendName } from '../engine/backend.js';
import type { LoadProgress } from '../worker/protocol.js';
import { serve } from './server.js';

const USAGE = `usage: webinfer serve --model <file.gguf | model-dir | hf:owner/repo[:quant][/file]> [--port 8188] [--host 127.0.0.1]
                      [--max-model-len N] [--enable-logprob] [--served-model-name NAME] [--backend auto|wasm|cpu|wgsl|ort]
                      [--threads N] [--no-jump-forward] [--hub-url URL] [--cache-dir DIR]
       Hub models are cached in --cache-dir (default $WEBINFER_CACHE or ~/.cache/webinfer); $HF_TOKEN is sent to the Hub.`;

function fail(message: string): never {
  console.error(`webinfer: ${message}\n${USAGE}`);
  process.exit(2);
}

function integer(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

/** One line per second on stderr while a Hub model downloads. */
function downloadReporter(): (p: LoadProgress) => void {
  let last = 0;
  return (p) => {
    if (!p.download) return;
    const now = performance.now();
    const done = p.download.loadedBytes === p.download.totalBytes;
    if (!done && now - last < 1000) return;
    last = now;
    console.error(`webinfer: ${p.text}`);
  };
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === undefined) {
    console.log(USAGE);
    return;
  }
  if (command !== 'serve') fail(`unknown command "${command}"`);
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        model: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'max-model-len': { type: 'string' },
        'enable-logprob': { type: 'boolean' },
        'served-model-name': { type: 'string' },
        backend: { type: 'string' },
        threads: { type: 'string' },
        'no-jump-forward': { type: 'boolean' },
        'hub-url': { type: 'string' },
        'cache-dir': { type: 'string' },
      },
      strict: true,
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (!values.model) fail('--model is required');
  const backend = (values.backend ?? 'auto') as BackendName;
  if (!['auto', 'wasm', 'cpu', 'wgsl', 'ort'].includes(backend)) fail(`unknown --backend "${backend}"`);
  const started = performance.now();
  let server;
  try {
    server = await serve({
      model: values.model,
      host: values.host ?? '127.0.0.1',
      port: integer('port', values.port, 0, 65535) ?? 8188,
      maxModelLen: integer('max-model-len', values['max-model-len'], 2, 1 << 24),
      enableLogprob: values['enable-logprob'] ?? false,
      modelId: values['served-model-name'],
      backend,
      threads: integer('threads', values.threads, 1, 256),
      jumpForward: !values['no-jump-forward'],
      hubUrl: values['hub-url'],
      cacheDir: values['cache-dir'],
      accessToken: process.env.HF_TOKEN || undefined,
      onProgress: downloadReporter(),
    });
  } catch (e) {
    console.error(`webinfer: could not start: ${(e as Error).message}`);
    process.exit(1);
  }
  const { info } = server;
  console.log(`webinfer: serving ${info.id} (${info.architecture}, ${info.backend} backend, context ${info.maxModelLen}) on ${server.url}/v1 — loaded in ${Math.round(performance.now() - started)} ms`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`webinfer: ${signal}, shutting down`);
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
