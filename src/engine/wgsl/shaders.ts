/**
 * WGSL sources from the top-level shaders/ folder, loaded at run time: fetched next to the bundle
 * in browsers (Vite emits them as assets), read from disk in Node. Keeping them as .wgsl files
 * keeps one kernel family per file, readable and diffable as shaders.
 */
const cache = new Map<string, Promise<string>>();

function urlOf(name: string): URL {
  return new URL(`../../../shaders/${name}.wgsl`, import.meta.url);
}

async function read(name: string): Promise<string> {
  const url = urlOf(name);
  if (url.protocol === 'file:') {
    const fsName = 'node:fs/promises';
    const { readFile }: typeof import('node:fs/promises') = await import(/* @vite-ignore */ fsName);
    return readFile(url, 'utf8');
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load shader ${name}.wgsl (HTTP ${res.status})`);
  return res.text();
}

export function shaderSource(name: string): Promise<string> {
  let s = cache.get(name);
  if (!s) {
    s = read(name);
    cache.set(name, s);
  }
  return s;
}
