/**
 * The wasm backend's kernels (wasm/*.ts, built by scripts/build-wasm.ts into wasm/build/): which
 * of the four builds the runtime can run, their bytes (read from disk in Node, fetched next to the
 * bundle in browsers, like the shaders), and the memory they share with the host.
 */
import { f16ToF32 } from '../../formats/dtypes.js';

export type SimdLevel = 'relaxed' | 'simd';

/** The exports of wasm/index.ts. Pointers are byte offsets into the memory. */
export interface KernelExports {
  setF16Table(table: number): void;
  setKvTile(tile: number, bytes: number): void;
  setThreadScratch(scratch: number): void;
  heapBase(): number;
  quantize(x: number, n: number, T: number, xq: number, xd: number, xs: number): void;
  /** quantize for tokens r0 .. r1 - 1, with the pool's kernel signature (rows: T). */
  quantizeRows(x: number, n: number, T: number, xq: number, xd: number, xs: number, _6: number, _7: number, rows: number, r0: number, r1: number): void;
  gatedAct(g: number, u: number, n: number, gelu: number): void;
  /** gatedAct on rows r0 .. r1 - 1 of g, u [rows × n], with the pool's kernel signature. */
  gatedActRows(g: number, u: number, n: number, gelu: number, _4: number, _5: number, _6: number, _7: number, rows: number, r0: number, r1: number): void;
  /** Units u0 .. u1 - 1 of the attention job at `job` (wasm/attention.ts); the other parameters are unused. */
  attention(job: number, _1: number, _2: number, _3: number, _4: number, _5: number, _6: number, _7: number, units: number, u0: number, u1: number): void;
  /** Rows r0 .. r1 - 1 of a chunk's keys and values (rows of nKvHeads × headDim float32 at k, v) into the layer's caches at their slots (i32s at `slots`). */
  storeKvRows(k: number, v: number, kc: number, vc: number, slots: number, nKvHeads: number, headDim: number, half: number, rows: number, r0: number, r1: number): void;
  /** Rows r0 .. r1 - 1 of x [rows × n]: x += add (add ≠ 0), then out = rmsnorm(x) · w (w ≠ 0); epsilon's float64 bits in epsLo, epsHi (wasm/norm.ts). */
  rmsnormRows(x: number, add: number, w: number, out: number, n: number, epsLo: number, epsHi: number, _7: number, rows: number, r0: number, r1: number): void;
  /** Rows r0 .. r1 - 1 of the RoPE job at `job`: q/k norms where given, then the rotation (wasm/norm.ts). */
  ropeRows(job: number, _1: number, _2: number, _3: number, _4: number, _5: number, _6: number, _7: number, rows: number, r0: number, r1: number): void;
  [matmul: `matmul_${string}`]: MatmulFn;
  /** Rows in fours, in place, group by group through `scratch` (room for four rows): wasm/pack.ts. */
  [pack: `pack_${string}`]: (w: number, rows: number, cols: number, scratch: number) => void;
}
export type MatmulFn = (w: number, cols: number, xq: number, xd: number, xs: number, xf: number, T: number, out: number, rows: number, r0: number, r1: number) => void;

/** Bytes of the input sums quantize writes for `elements` inputs: an i32 per 16, then one per 32 (wasm/simd.ts, sums32). */
export function inputSumBytes(elements: number): number {
  return (elements / 16 + elements / 32) * 4;
}

const bytesCache = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();

type BuildName = 'kernels-simd' | 'kernels-relaxed' | 'kernels-simd-shared' | 'kernels-relaxed-shared';

/**
 * One literal `new URL('<file>.wasm', import.meta.url)` per build: the pattern bundlers (Vite,
 * Rollup, webpack, Parcel) follow to emit the file and rewrite the URL to where they put it.
 */
function buildUrl(name: BuildName): URL {
  switch (name) {
    case 'kernels-simd':
      return new URL('../../../wasm/build/kernels-simd.wasm', import.meta.url);
    case 'kernels-relaxed':
      return new URL('../../../wasm/build/kernels-relaxed.wasm', import.meta.url);
    case 'kernels-simd-shared':
      return new URL('../../../wasm/build/kernels-simd-shared.wasm', import.meta.url);
    case 'kernels-relaxed-shared':
      return new URL('../../../wasm/build/kernels-relaxed-shared.wasm', import.meta.url);
  }
}

function readBuild(name: BuildName): Promise<Uint8Array<ArrayBuffer>> {
  let p = bytesCache.get(name);
  if (!p) {
    p = (async () => {
      const url = buildUrl(name);
      if (url.protocol === 'file:') {
        const fsName = 'node:fs/promises';
        const { readFile }: typeof import('node:fs/promises') = await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName);
        return (readFile(url) as Promise<Uint8Array<ArrayBuffer>>).catch(() => {
          throw new Error(`the wasm kernels are not built (${url.pathname}): run npx tsx scripts/build-wasm.ts`);
        });
      }
      const res = await fetch(url).catch((e: Error) => {
        throw new Error(`could not load the wasm kernels ${name}.wasm from ${url.href}: ${e.message}`);
      });
      if (!res.ok) throw new Error(`could not load the wasm kernels ${name}.wasm from ${url.href} (HTTP ${res.status})`);
      return new Uint8Array(await res.arrayBuffer());
    })();
    bytesCache.set(name, p);
    p.catch(() => bytesCache.delete(name));
  }
  return p;
}

/** Whether the runtime has WebAssembly SIMD128 at all (Chrome 91, Firefox 89, Safari 16.4, Node 16.4). */
export async function hasSimd(): Promise<boolean> {
  return typeof WebAssembly === 'object' && WebAssembly.validate(await readBuild('kernels-simd'));
}

let relaxedWorks: Promise<boolean> | undefined;

/**
 * Relaxed SIMD (Chrome 114, Node 22): the relaxed build validates and its dot product gives the
 * right numbers. The check matters: Node 20's experimental relaxed SIMD
 * (--experimental-wasm-relaxed-simd) returns twice the dot product.
 */
export function hasRelaxedSimd(): Promise<boolean> {
  relaxedWorks ??= (async () => {
    const bytes = await readBuild('kernels-relaxed');
    if (!WebAssembly.validate(bytes)) return false;
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
    const k = (await WebAssembly.instantiate(bytes, { env: { memory } })).instance.exports as unknown as KernelExports;
    memory.grow(5); // a float16 table, one Q4_0 block, its inputs
    const base = Math.ceil(k.heapBase() / 64) * 64;
    const table = new Float32Array(memory.buffer, base, 65536);
    table[0x3c00] = 1; // the block's scale: float16 1.0
    k.setF16Table(base);
    const w = base + 65536 * 4, x = w + 64, xq = x + 128, xd = xq + 32, xs = xd + 4, out = xs + inputSumBytes(32);
    const bytesView = new Uint8Array(memory.buffer);
    new DataView(memory.buffer).setUint16(w, 0x3c00, true);
    const inputs = new Float32Array(memory.buffer, x, 32);
    let want = 0;
    for (let j = 0; j < 32; j++) {
      const q = (j * 7 + 3) % 16; // weight code j: low nibbles hold 0..15, high nibbles 16..31
      bytesView[w + 2 + (j % 16)]! |= j < 16 ? q : q << 4;
      inputs[j] = j === 0 ? -127 : ((j * 37) % 255) - 127; // the largest |x| is 127: rounding keeps them
      want += (q - 8) * inputs[j]!;
    }
    k.quantize(x, 32, 1, xq, xd, xs);
    k.matmul_q4_0!(w, 32, xq, xd, xs, x, 1, out, 1, 0, 1);
    if (new Float32Array(memory.buffer, out, 1)[0] !== want) return false;
    // The same block as four rows stored in fours (Kernels.store), through relaxed SIMD's 16-bit dot.
    const packed = out + 64;
    for (let r = 0; r < 4; r++) {
      bytesView[packed + 2 * r] = bytesView[w]!;
      bytesView[packed + 2 * r + 1] = bytesView[w + 1]!;
      for (let k4 = 0; k4 < 4; k4++) for (let i = 0; i < 4; i++) bytesView[packed + 8 + 16 * k4 + 4 * r + i] = bytesView[w + 2 + 4 * k4 + i]!;
    }
    k.matmul_q4_0x4!(packed, 32, xq, xd, xs, x, 1, out, 4, 0, 4);
    return Array.from(new Float32Array(memory.buffer, out, 4)).every((v) => v === want);
  })();
  return relaxedWorks;
}

/** Threads need a shared memory: Node always, browsers only on cross-origin isolated pages. */
export function canShareMemory(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  if (typeof process !== 'undefined' && process.versions?.node) return true;
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

export async function compileKernels(simd: SimdLevel, shared: boolean): Promise<WebAssembly.Module> {
  const name: BuildName = `kernels-${simd}${shared ? '-shared' : ''}`;
  return WebAssembly.compile(await readBuild(name));
}

const PAGE = 65536;
/** wasm32's reach: 4 GiB of memory, of which a shared memory must declare its maximum up front. */
export const MAX_PAGES = 65536;

/**
 * The memory the kernels work in and a bump allocator over it. The host allocates everything at
 * load (weights, then caches and activations), so views made after loading stay valid.
 */
export class KernelMemory {
  readonly memory: WebAssembly.Memory;
  private top = 0;

  constructor(readonly shared: boolean) {
    this.memory = shared ? new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true }) : new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
  }

  /** Starts allocating at the module's heap base. */
  start(heapBase: number): void {
    this.top = Math.ceil(heapBase / 64) * 64;
  }

  get bytes(): number {
    return this.top;
  }

  /** `bytes` bytes at a 64-byte boundary (a cache line; v128 loads need no alignment, but rows start on one). */
  alloc(bytes: number, what: string): number {
    const at = Math.ceil(this.top / 64) * 64;
    const end = at + bytes;
    if (end > MAX_PAGES * PAGE) {
      throw new Error(`the wasm backend needs more than 4 GiB of memory (at ${what}, ${(end / 2 ** 30).toFixed(2)} GiB); use a smaller model or a smaller maxModelLen, or the wgsl backend`);
    }
    const pages = Math.ceil(end / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (pages > 0) {
      try {
        this.memory.grow(pages);
      } catch (e) {
        throw new Error(`could not grow the wasm backend's memory to ${(end / 2 ** 30).toFixed(2)} GiB (at ${what}): ${(e as Error).message}; use a smaller maxModelLen or model`);
      }
    }
    this.top = end;
    return at;
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }
}

/** Every float16 bit pattern's float32 value, the kernels' lookup table for block scales. */
export function writeF16Table(mem: KernelMemory): number {
  const ptr = mem.alloc(65536 * 4, 'the float16 table');
  const table = mem.f32(ptr, 65536);
  for (let h = 0; h < 65536; h++) table[h] = f16ToF32(h);
  return ptr;
}
