/**
 * The GPU kernel harness (bench/gpu-kernels.ts) as a smoke test on SwiftShader: tiny shapes, one
 * sample, both kernel families. Every (family, type, shape, variant) row must be there with finite
 * positive timings, and each kernel's output must match the float64 reference on its checked rows
 * (the harness checks after timing), so the harness cannot pass on a kernel that writes garbage.
 */
import { describe, expect, it } from 'vitest';
import { GPU_KERNEL_TYPES, gpuKernelTable, measureGpuKernels } from '../bench/gpu-kernels.js';

describe('GPU kernel harness', () => {
  it('times every type and shape beside the copy and read-only references, and checks each result', { timeout: 600_000 }, async () => {
    const r = await measureGpuKernels({ tiny: true });
    for (const b of [r.copy, r.read]) {
      expect(b.bytes).toBeGreaterThan(0);
      expect(Number.isFinite(b.gbPerS) && b.gbPerS > 0).toBe(true);
    }
    const shapes = new Set(r.rows.map((x) => x.shape));
    expect(shapes.size).toBe(3);
    for (const family of ['gpu', 'cpu-backed'] as const)
      for (const type of GPU_KERNEL_TYPES)
        for (const shape of shapes) {
          const rows = r.rows.filter((x) => x.family === family && x.type === type && x.shape === shape);
          expect(rows.map((x) => x.variant)).toContain('matvec');
          for (const x of rows) {
            for (const v of [x.us, x.gbPerS, x.pctOfCopy, x.pctOfRead, x.weightBytes]) expect(Number.isFinite(v) && v > 0, `${family} ${type} ${shape} ${x.variant}: ${v}`).toBe(true);
            expect(x.err, `${family} ${type} ${shape} ${x.variant}`).toBeLessThan(1e-2);
            expect(x.ok).toBe(true);
          }
        }
    // the GPU family also times the transformer's decode form (RMSNorm folded into gate|up), and
    // an eight-token step of every type and shape
    expect(r.rows.some((x) => x.family === 'gpu' && x.variant === 'folded' && x.shape.includes('gate|up'))).toBe(true);
    expect(r.rows.filter((x) => x.family === 'gpu' && x.variant === 'eight tokens')).toHaveLength(GPU_KERNEL_TYPES.length * 3);
    expect(r.rows.filter((x) => x.family === 'gpu' && x.variant === 'eight tokens, 8 per workgroup')).toHaveLength(GPU_KERNEL_TYPES.length * 3);
    const table = gpuKernelTable(r);
    expect(table.split('\n').filter((l) => /^\| (gpu|cpu-backed) \|/.test(l))).toHaveLength(r.rows.length);
    expect(table).toContain('GB/s read + written');
  });
});
