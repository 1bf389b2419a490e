/**
 * WGSL sources from the top-level shaders/ folder. Keeping them as .wgsl files keeps one kernel
 * family per file, readable and diffable as shaders; builds inline their text (shader-text.ts),
 * so nothing is fetched at run time. Without a build step (tsx in Node) they are read from disk.
 */
import { SHADER_TEXT } from './shader-text.js';

const cache = new Map<string, Promise<string>>();

async function read(name: string): Promise<string> {
  const text = SHADER_TEXT?.[`../../../shaders/${name}.wgsl`];
  if (text !== undefined) return text;
  const fsName = 'node:fs/promises';
  const { readFile }: typeof import('node:fs/promises') = await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName).catch(() => {
    throw new Error(`shader ${name}.wgsl is not in this build`);
  });
  // Not a literal, so that no bundler emits the folder as assets as well.
  const dir = '../../../shaders/';
  return readFile(new URL(dir + name + '.wgsl', import.meta.url), 'utf8');
}

export function shaderSource(name: string): Promise<string> {
  let s = cache.get(name);
  if (!s) {
    s = read(name);
    cache.set(name, s);
  }
  return s;
}
