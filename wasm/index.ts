// The WebAssembly kernels of the wasm backend (src/engine/wasm/): one module, built twice by
// scripts/build-wasm.ts (plain SIMD128, and with relaxed SIMD), each with a private or a shared
// memory. The host owns the memory layout: every pointer is an offset it allocated.
export { setF16Table, setThreadScratch } from './simd';
export { quantize, quantizeRows } from './quantize';
export * from './matmul';
export { pack_q4_0, pack_q4_k, pack_q5_0, pack_q6_k, pack_q8_0 } from './pack';
export { attention, setKvTile, storeKvRows } from './attention';
export { rmsnormRows, ropeRows } from './norm';
export { gatedAct, gatedActRows } from './activation';

/** The first byte after the module's own data (AssemblyScript's math tables): the host allocates from here. */
export function heapBase(): usize {
  return __heap_base;
}
