/**
 * The wasm matmul kernels alone, per weight type (random blocks, 1 thread): SmolLM2-135M's FFN
 * down projection (576 × 1536, in L2) and a matrix 28 times taller (16128 × 1536, beyond L2, as
 * its vocabulary head is), effective GB/s of weights read and GMAC/s. Runs in Node and in the
 * bench page.
 */
import { DTYPES, byteSize, type DType } from '../src/formats/dtypes.js';
import { Kernels, takesIntInputs } from '../src/engine/wasm/kernels.js';
import { randomBlocks } from '../test/helpers/blocks.js';

export interface KernelResult {
  dtype: DType;
  shape: string;
  ms: number;
  gbPerS: number;
  gmacPerS: number;
}

export async function measureKernels(simd?: 'simd' | 'relaxed'): Promise<{ simd: string; results: KernelResult[] }> {
  const k = await Kernels.create({ threads: 1, simd });
  const cols = 1536; // a multiple of every block size
  k.reserveInputs(cols);
  const x = k.mem.alloc(cols * 4, 'x');
  k.mem.f32(x, cols).set(Array.from({ length: cols }, (_, i) => Math.sin(i)));
  const results: KernelResult[] = [];
  const small = 576;
  for (const dtype of DTYPES) {
    const block = randomBlocks(dtype, small * cols, 3);
    const rowBytes = byteSize(dtype, cols);
    for (const rows of [small, 28 * small]) {
      const bytes = new Uint8Array(rows * rowBytes);
      for (let r = 0; r < rows; r += small) bytes.set(block, r * rowBytes);
      // stored as a model's matrix is (Kernels.store: some types with their rows in fours)
      const m = k.store('w', dtype, rows, cols, bytes);
      const out = k.mem.alloc(rows * 4, 'out');
      const input = k.input(x, cols, 1, takesIntInputs(dtype));
      const run = () => k.matmul(dtype, m.ptr, rows, input, out, m.layout);
      for (let i = 0; i < 3; i++) run();
      const reps = Math.max(3, Math.round(2e8 / (rows * cols)));
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) run();
      const ms = (performance.now() - t0) / reps;
      const round2 = (v: number) => Math.round(v * 100) / 100;
      results.push({ dtype, shape: `${rows}×${cols}`, ms: round2(ms), gbPerS: round2((rows * rowBytes) / ms / 1e6), gmacPerS: round2((rows * cols) / ms / 1e6) });
    }
  }
  const level = k.simd;
  k.dispose();
  return { simd: level, results };
}
