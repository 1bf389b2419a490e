/**
 * Loading @mlc-ai/web-xgrammar (xgrammar compiled to WebAssembly: the grammar engine of WebLLM,
 * vLLM and SGLang).
 *
 * Two things about the package shape how it is loaded:
 *  - its bundle is UMD inside a `"type": "module"` package: imported as a module it leaves its
 *    exports on `globalThis.xgrammar`, and in Node its Emscripten glue calls `require` and reads
 *    `__filename`, which ES modules lack, so both are lent to it while it starts;
 *  - a grammar it rejects ends in an Emscripten `abort()` that leaks the module's stack: after
 *    some tens of them every call fails (measured: ~75). So an instance that aborted once is
 *    retired and the next compile gets a fresh instance (a new import of the script, under a
 *    distinct URL). The parser's message, which it only prints, is captured from its error output.
 *
 * In browsers the script is referenced with a literal `new URL(..., import.meta.url)`: an app's
 * bundler (and webinfer's library build, vite.config.ts) emits it as a file of its own, which is
 * then imported by URL (a fresh URL per instance); Node resolves the package.
 */
import type * as XG from '@mlc-ai/web-xgrammar';

export type Xgrammar = typeof XG;

const inNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
/** Node's modules by variable names, so that no app's bundler tries to resolve them for a browser. */
const nodeModule = (name: string): Promise<typeof import('node:module')> => import(/* @vite-ignore */ /* webpackIgnore: true */ name);
const nodeUrl = (name: string): Promise<typeof import('node:url')> => import(/* @vite-ignore */ /* webpackIgnore: true */ name);
const MODULE = 'node:module';
const URL_MODULE = 'node:url';

let generation = 0;
/** Where the module's error output goes while a call that may fail runs (see `capture`). */
let sink: string[] | undefined;

/**
 * The script, as a file: Node imports it by its file URL too (dist/assets/xgrammar.js in the
 * package, node_modules in the source tree). Only used as a URL here: the script is UMD and must
 * be imported afresh per instance, so it is not bundled as a module.
 */
function scriptUrl(): string {
  return new URL('../../../node_modules/@mlc-ai/web-xgrammar/lib/index.js', import.meta.url).href;
}

/**
 * A fresh, started instance of the module. `start` makes the first call (which instantiates the
 * WebAssembly), while the Node shims and the error-output hook are in place.
 */
export async function freshXgrammar<T>(start: (xg: Xgrammar) => Promise<T>): Promise<{ xg: Xgrammar; started: T }> {
  const url = `${scriptUrl()}?instance=${++generation}`;
  const g = globalThis as Record<string, unknown>;
  const lent: string[] = [];
  if (inNode) {
    const { createRequire } = await nodeModule(MODULE);
    const { fileURLToPath } = await nodeUrl(URL_MODULE);
    if (g.require === undefined) (g.require = createRequire(import.meta.url)), lent.push('require');
    if (g.__filename === undefined) (g.__filename = fileURLToPath(url.replace(/\?.*$/, ''))), lent.push('__filename');
  }
  // The Emscripten glue binds console.error when it starts; route it through `sink`.
  const consoleError = console.error;
  console.error = (...args: unknown[]) => (sink ? sink.push(args.map(String).join(' ')) : consoleError(...args));
  try {
    await import(/* @vite-ignore */ /* webpackIgnore: true */ url).catch((e: Error) => {
      throw new Error(`could not load the grammar engine (xgrammar) from ${url.replace(/\?.*$/, '')}: ${e.message}`);
    });
    const xg = g.xgrammar as Xgrammar;
    return { xg, started: await start(xg) };
  } finally {
    console.error = consoleError;
    for (const k of lent) delete g[k];
  }
}

/** The error xgrammar reported, as a sentence (its `[FATAL] file:line:` prefix dropped). */
export class GrammarSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GrammarSyntaxError';
  }
}

/**
 * Runs a call that may abort; an abort becomes a GrammarSyntaxError with the parser's message,
 * and `onAbort` retires the instance.
 */
export async function capture<T>(call: () => Promise<T> | T, onAbort: () => void): Promise<T> {
  sink = [];
  try {
    return await call();
  } catch (e) {
    const lines = sink;
    sink = undefined;
    // A C++ exception reaches JavaScript as a number (its address): a rejection without a message.
    if (typeof e === 'number') {
      onAbort();
      throw new GrammarSyntaxError('the grammar engine rejected it');
    }
    if (!(e instanceof Error) || !/Aborted\(/.test(e.message)) throw e;
    onAbort();
    const fatal = lines.find((l) => l.includes('[FATAL]')) ?? lines.find((l) => !l.startsWith('Aborted(')) ?? 'the grammar engine rejected it';
    throw new GrammarSyntaxError(fatal.replace(/^\[FATAL\]\s*\S+:\d+:\s*/, '').replace(/^Check failed: \(.*?\) is false:\s*/, '').trim());
  } finally {
    sink = undefined;
  }
}
