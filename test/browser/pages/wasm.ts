/**
 * Test page: the wasm kernels run in the page against the CPU reference (the cases of
 * test/helpers/wasm-cases.ts), and the wasm backend in the engine's Web Worker.
 */
import { createFetch } from '../../../src/index.js';
import { Kernels } from '../../../src/engine/wasm/kernels.js';
import { hasRelaxedSimd } from '../../../src/engine/wasm/module.js';
import { ATTENTION_CASES, BATCH_CASES, checkAttention, checkAttentionRows, checkMatmul, checkTokenIndependence, INPUT_ELEMENTS, MATMUL_CASES, TOL } from '../../helpers/wasm-cases.js';

(window as unknown as { wasmTest: unknown }).wasmTest = {
  isolated: () => crossOriginIsolated,
  hasRelaxed: () => hasRelaxedSimd(),
  /** Every kernel case in one build; returns the build that ran and the cases over tolerance. */
  async kernels(simd: 'simd' | 'relaxed', threads: number, fourWay?: boolean) {
    const k = await Kernels.create({ simd, threads, fourWay });
    try {
      k.reserveInputs(INPUT_ELEMENTS);
      const failures: string[] = [];
      for (const [dtype, rows, cols, T] of MATMUL_CASES) {
        const e = checkMatmul(k, dtype, rows, cols, T);
        if (!(e < TOL.matmulNMSE)) failures.push(`matmul ${dtype} ${rows}x${cols} T=${T}: NMSE ${e}`);
      }
      for (const [dtype, rows, cols] of BATCH_CASES) failures.push(...checkTokenIndependence(k, dtype, rows, cols));
      for (const c of ATTENTION_CASES) {
        const e = checkAttention(k, ...c);
        if (!(e < TOL.attentionNMSE)) failures.push(`attention ${c}: NMSE ${e}`);
      }
      for (const half of [0, 1]) for (const r of checkAttentionRows(k, 9, 3, 64, half)) failures.push(`attention row ${r} (float16 ${half}): batched differs from alone`);
      return { simd: k.simd, threads: k.threads, fourWay: k.fourWay, note: k.threadNote, cases: MATMUL_CASES.length + BATCH_CASES.length + ATTENTION_CASES.length + 2, failures };
    } finally {
      k.dispose();
    }
  },
  /** Greedy text from BOS through the engine in its worker. */
  async greedy(options: Record<string, unknown>, maxTokens: number) {
    const f = createFetch({ model: '/models/stories260K.gguf', maxModelLen: 512, ...options });
    const info = await f.ready;
    const res = await f('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: maxTokens, temperature: 0 }) });
    const text = (await res.json()).choices[0].text as string;
    await f.dispose();
    return { info, text };
  },
};
