/**
 * The wasm matmuls as a prompt runs them, alone: T tokens at once (a prefill chunk) against
 * SmolLM2-135M's FFN down projection (576 × 1536, the one matrix of the 135M Q4_K_M file wide
 * enough for K-quants) and a Llama-3.2-1B-like square (2048 × 2048), per weight type, one thread.
 * Prints the median and the fastest ms of `--reps` runs (machines are noisy), and GMAC/s of the median.
 *   npx tsx bench/wasm-prefill.ts [--tokens=120] [--reps=7] [--types=Q4_K,Q6_K] [--simd]
 */
import { byteSize, type DType } from '../src/formats/dtypes.js';
import { Kernels, takesIntInputs } from '../src/engine/wasm/kernels.js';
import { randomBlocks } from '../test/helpers/blocks.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const T = Number(arg('tokens') ?? 120);
const reps = Number(arg('reps') ?? 7);
const types = (arg('types')?.split(',') ?? ['Q4_K', 'Q5_K', 'Q6_K', 'Q8_0', 'Q5_0', 'Q4_0']) as DType[];
const shapes: [number, number][] = [
  [576, 1536],
  [2048, 2048],
];

const k = await Kernels.create({ threads: 1, simd: process.argv.includes('--simd') ? 'simd' : undefined });
const maxCols = Math.max(...shapes.map(([, c]) => c));
k.reserveInputs(T * maxCols);
console.log(`| type | rows × cols | tokens | ms (median of ${reps}) | fastest ms | GMAC/s | (${k.simd}) |`);
console.log('| --- | --- | ---: | ---: | ---: | ---: | --- |');
for (const dtype of types) {
  for (const [rows, cols] of shapes) {
    const bytes = randomBlocks(dtype, rows * cols, 7);
    const m = k.store('w', dtype, rows, cols, bytes);
    const x = k.mem.alloc(T * cols * 4, 'x');
    k.mem.f32(x, T * cols).set(Array.from({ length: T * cols }, (_, i) => Math.sin(i * 0.37)));
    const out = k.mem.alloc(T * rows * 4, 'out');
    const input = k.input(x, cols, T, takesIntInputs(dtype));
    k.matmul(dtype, m.ptr, rows, input, out, m.layout);
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      k.matmul(dtype, m.ptr, rows, input, out, m.layout);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const ms = times[reps >> 1]!;
    console.log(`| ${dtype} | ${rows}×${cols} (${(byteSize(dtype, rows * cols) / 1e6).toFixed(2)} MB) | ${T} | ${ms.toFixed(2)} | ${times[0]!.toFixed(2)} | ${((rows * cols * T) / ms / 1e6).toFixed(2)} | |`);
  }
}
k.dispose();
