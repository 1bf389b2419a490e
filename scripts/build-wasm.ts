/**
 * Builds the wasm backend's kernels (wasm/*.ts, AssemblyScript) into wasm/build/: four variants of
 * one module, plain SIMD128 or with relaxed SIMD, and with a private or a shared (threads) memory.
 * The compiler is the pinned `assemblyscript` devDependency, so the same sources give the same
 * bytes on every machine; a stamp of the sources and flags skips the build when nothing changed.
 *   npx tsx scripts/build-wasm.ts [--force]
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'wasm');
export const WASM_BUILD = join(SRC, 'build');

const COMMON = ['--runtime', 'stub', '--noAssert', '--importMemory', '-O3', '--enable', 'simd'];
/** name → the flags that make it. The host picks one by the runtime's features (src/engine/wasm/module.ts). */
export const VARIANTS: Record<string, string[]> = {
  'kernels-simd': [],
  'kernels-relaxed': ['--enable', 'relaxed-simd'],
  'kernels-simd-shared': ['--enable', 'threads', '--sharedMemory', '--maximumMemory', '65536'],
  'kernels-relaxed-shared': ['--enable', 'relaxed-simd', '--enable', 'threads', '--sharedMemory', '--maximumMemory', '65536'],
};

function stampOf(): string {
  const h = createHash('sha256');
  const version = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'assemblyscript', 'package.json'), 'utf8')).version;
  h.update(`asc ${version}\n${JSON.stringify([COMMON, VARIANTS])}\n`);
  for (const f of readdirSync(SRC).filter((f) => f.endsWith('.ts')).sort()) h.update(`${f}\n${readFileSync(join(SRC, f))}`);
  return h.digest('hex');
}

export async function buildWasm(force = false): Promise<void> {
  const stamp = stampOf();
  const stampFile = join(WASM_BUILD, 'stamp');
  const built = Object.keys(VARIANTS).every((n) => existsSync(join(WASM_BUILD, `${n}.wasm`)));
  if (!force && built && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return;
  mkdirSync(WASM_BUILD, { recursive: true });
  const asc = (await import('assemblyscript/asc')).default;
  for (const [name, flags] of Object.entries(VARIANTS)) {
    const out = join(WASM_BUILD, `${name}.wasm`);
    const { error, stderr } = await asc.main([join(SRC, 'index.ts'), '--outFile', out, ...COMMON, ...flags]);
    if (error) throw new Error(`AssemblyScript build of ${name} failed: ${error.message}\n${stderr.toString()}`);
  }
  writeFileSync(stampFile, stamp);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildWasm(process.argv.includes('--force'));
}
