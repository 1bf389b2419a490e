/**
 * webinfer command line: `webinfer serve` answers the OpenAI API over HTTP from Node, with the
 * same engine and router the in-page fetch uses. Every flag is described once, in SERVE_FLAGS:
 * the parser, the help text and the defaults come from that table, so they cannot disagree.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { BackendName } from '../engine/backend.js';
import type { LoadProgress } from '../worker/protocol.js';
import { serve } from './server.js';

interface Flag {
  name: string;
  short?: string;
  /** The value's placeholder; absent for a switch. */
  value?: string;
  help: string;
  /** Shown as "(default: …)". */
  default?: string;
}

const BACKENDS = ['auto', 'wasm', 'cpu', 'wgsl', 'ort'] as const;

const SERVE_FLAGS: Flag[] = [
  { name: 'model', short: 'm', value: 'MODEL', help: 'a .gguf file, a model folder, or hf:owner/repo[:quant][/file] (required)' },
  { name: 'port', short: 'p', value: 'N', help: 'port to listen on; 0 picks a free one', default: '8188' },
  { name: 'host', value: 'HOST', help: 'address to listen on', default: '127.0.0.1' },
  { name: 'max-model-len', value: 'N', help: 'context length in tokens (the KV cache)', default: "the model's" },
  { name: 'served-model-name', value: 'NAME', help: "the model id in responses ('default' is accepted too)", default: 'file or repo name' },
  { name: 'backend', value: 'NAME', help: `${BACKENDS.join(', ')}; auto: wgsl on a hardware GPU, ort for ONNX, else wasm`, default: 'auto' },
  { name: 'threads', value: 'N', help: 'wasm backend: threads in all', default: 'every core' },
  { name: 'max-num-seqs', value: 'N', help: 'requests decoded together (continuous batching); more wait', default: "the backend's" },
  { name: 'kv-cache-bytes', value: 'SIZE', help: 'paged KV cache for all requests, e.g. 512M or 2G', default: 'one full context + 512 positions per other request' },
  { name: 'kv-cache-dtype', value: 'TYPE', help: 'f16 or f32: element type of the KV cache', default: "the backend's fastest" },
  { name: 'enable-logprob', help: "allow 'logprobs' in requests", default: 'off' },
  { name: 'no-jump-forward', help: 'structured output: sample every token, even where the grammar allows one continuation', default: 'off' },
  { name: 'hub-url', value: 'URL', help: 'the Hugging Face Hub or a mirror', default: 'https://huggingface.co' },
  { name: 'cache-dir', value: 'DIR', help: 'where Hub models are kept', default: '$WEBINFER_CACHE, else ~/.cache/webinfer' },
  { name: 'help', short: 'h', help: 'print this help and exit' },
];

function flagLines(flags: Flag[]): string {
  const left = flags.map((f) => `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.value ? ` ${f.value}` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  return flags.map((f, i) => `  ${left[i]!.padEnd(width)}${f.help}${f.default ? ` (default: ${f.default})` : ''}`).join('\n');
}

const mainHelp = () => `webinfer ${version()}: LLM inference behind an OpenAI-compatible API

usage: webinfer <command> [flags]

commands:
  serve        serve a model over HTTP (/v1/chat/completions, /v1/completions, /v1/models)

flags:
  -h, --help     print this help and exit
  -v, --version  print the version and exit

Run 'webinfer <command> --help' for a command's flags.`;

const SERVE_HELP = `usage: webinfer serve --model MODEL [flags]

Serves MODEL on http://HOST:PORT/v1 until SIGINT or SIGTERM.

flags:
${flagLines(SERVE_FLAGS)}

environment:
  HF_TOKEN          access token sent to the Hub, for gated or private repositories
  WEBINFER_CACHE    the cache folder when --cache-dir is not given

examples:
  webinfer serve --model models/stories260K.gguf
  webinfer serve --model hf:owner/repo-GGUF:Q4_K_M --port 8080`;

/** This package's version, from its package.json wherever it is run from (src/cli, dist/, node_modules). */
export function version(): string {
  for (let dir = new URL('.', import.meta.url); ; ) {
    const file = new URL('package.json', dir);
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'webinfer' && pkg.version) return pkg.version;
    }
    const up = new URL('..', dir);
    if (up.href === dir.href) return 'unknown';
    dir = up;
  }
}

/** Usage errors: the message, then the help, on stderr; exit status 2 as getopt tools do. */
function fail(message: string, help: string): never {
  console.error(`webinfer: ${message}\n\n${help}`);
  process.exit(2);
}

function integer(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer from ${min} to ${max}, got "${v}"`, SERVE_HELP);
  return n;
}

/** A size in bytes, with an optional K, M or G suffix (powers of 1024). */
function byteSize(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]i?B?)?$/i.exec(v.trim());
  const unit = m?.[2] ? 1024 ** ('KMG'.indexOf(m[2][0]!.toUpperCase()) + 1) : 1;
  const n = m ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) fail(`--${name} must be a size in bytes such as 536870912, 512M or 2G, got "${v}"`, SERVE_HELP);
  return n;
}

function kvDtype(v: string | undefined): 'f16' | 'f32' | undefined {
  if (v === undefined) return undefined;
  if (v !== 'f16' && v !== 'f32') fail(`--kv-cache-dtype must be f16 or f32, got "${v}"`, SERVE_HELP);
  return v;
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
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === 'help' && rest[0] === 'serve') return void console.log(SERVE_HELP);
    return void console.log(mainHelp());
  }
  if (command === '--version' || command === '-v') return void console.log(version());
  if (command !== 'serve') fail(command.startsWith('-') ? `unknown flag '${command}'` : `unknown command '${command}'`, mainHelp());
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: Object.fromEntries(SERVE_FLAGS.map((f) => [f.name, { type: f.value ? ('string' as const) : ('boolean' as const), ...(f.short ? { short: f.short } : {}) }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    // parseArgs says "Unknown option '--x'. To specify a positional argument starting with a '-', …": the first sentence is the point.
    fail((e as Error).message.split('. ')[0]!.replace(/\.$/, ''), SERVE_HELP);
  }
  if (values.help) return void console.log(SERVE_HELP);
  const str = (name: string) => values[name] as string | undefined;
  const model = str('model');
  if (!model) fail('--model is required', SERVE_HELP);
  const backend = (str('backend') ?? 'auto') as BackendName;
  if (!(BACKENDS as readonly string[]).includes(backend)) fail(`unknown --backend '${backend}' (one of ${BACKENDS.join(', ')})`, SERVE_HELP);
  const options = {
    model,
    host: str('host') ?? '127.0.0.1',
    port: integer('port', str('port'), 0, 65535) ?? 8188,
    maxModelLen: integer('max-model-len', str('max-model-len'), 2, 1 << 24),
    enableLogprob: values['enable-logprob'] === true,
    modelId: str('served-model-name'),
    backend,
    threads: integer('threads', str('threads'), 1, 256),
    maxBatch: integer('max-num-seqs', str('max-num-seqs'), 1, 1024),
    kvCacheBytes: byteSize('kv-cache-bytes', str('kv-cache-bytes')),
    kvDtype: kvDtype(str('kv-cache-dtype')),
    jumpForward: values['no-jump-forward'] !== true,
    hubUrl: str('hub-url'),
    cacheDir: str('cache-dir'),
  };
  const started = performance.now();
  let server;
  try {
    server = await serve({ ...options, accessToken: process.env.HF_TOKEN || undefined, onProgress: downloadReporter() });
  } catch (e) {
    console.error(`webinfer: could not start: ${(e as Error).message}`);
    process.exit(1);
  }
  const { info } = server;
  console.log(`webinfer: serving ${info.id} (${info.architecture}, ${info.backend} backend, context ${info.maxModelLen}${info.kvCache ? `, KV cache ${(info.kvCache.bytes / 2 ** 20).toFixed(0)} MiB ${info.kvCache.dtype} for ${info.kvCache.blocks * info.kvCache.blockSize} positions` : ''}, ${info.maxBatch} request${info.maxBatch === 1 ? '' : 's'} at once) on ${server.url}/v1 — loaded in ${Math.round(performance.now() - started)} ms`);
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
