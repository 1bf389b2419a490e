/**
 * `npm run bench -- --node --profile`: where a wgsl step spends its GPU time, per op (timestamp
 * queries, one pass per op, summed over layers), for a prefill step and for decode steps, beside
 * the wall-clock time of the same decode steps run normally (one submission each).
 */
import { loadWgsl } from '../src/engine/wgsl/backend.js';

const PROMPT = 15;
const STEPS = 16;
const LATE = 480;

export async function profileModel(path: string, name: string): Promise<string> {
  const { runner } = await loadWgsl(path, { maxModelLen: 512, gpuSampling: true });
  try {
    if (!runner.profile || !runner.sampler) return `${name}: the adapter has no timestamp-query feature\n`;
    const vocab = runner.config.vocabSize;
    const prompt = Array.from({ length: PROMPT }, (_, i) => (i * 7919 + 3) % vocab);
    const greedy = { sampling: { temperature: 0, topP: 1, topK: 0, minP: 0 }, r: 0, bias: [] };
    runner.sampler.reset(prompt);
    // Warm-up compiles every pipeline; then wall-clock decode with normal submissions.
    let { token } = await runner.sampler.step(prompt, 0, greedy);
    for (let i = 0; i < 4; i++) ({ token } = await runner.sampler.step([token], PROMPT + i, greedy));
    const t0 = performance.now();
    for (let i = 0; i < STEPS; i++) ({ token } = await runner.sampler.step([token], PROMPT + 4 + i, greedy));
    const wallMs = (performance.now() - t0) / STEPS;

    // A long prompt (gemm steps of 64 tokens), then decode after it: wall clock.
    const longPrompt = Array.from({ length: LATE }, (_, i) => (i * 7919 + 3) % vocab);
    const p0 = performance.now();
    runner.sampler.reset(longPrompt);
    ({ token } = await runner.sampler.step(longPrompt, 0, greedy));
    const longPrefillMs = performance.now() - p0;
    const l0 = performance.now();
    for (let i = 0; i < STEPS; i++) ({ token } = await runner.sampler.step([token], LATE + i, greedy));
    const lateWallMs = (performance.now() - l0) / STEPS;

    const prefill = await runner.profile(prompt, 0);
    // The last 64-token step of the long prompt (gemm kernels, attention over 480 positions).
    const step64 = await runner.profile(longPrompt.slice(LATE - 64), LATE - 64);
    // Decode early in the context and late in it (the cache there holds whatever was left: only times count).
    const decodeAt = async (pos0: number) => {
      const m = new Map<string, number>();
      for (let i = 0; i < STEPS; i++) for (const [k, v] of await runner.profile!([token], pos0 + i)) m.set(k, (m.get(k) ?? 0) + v / STEPS);
      return m;
    };
    const decode = await decodeAt(PROMPT);
    const late = await decodeAt(LATE);
    const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    const rows = [...decode.keys()].sort((a, b) => decode.get(b)! - decode.get(a)!);
    return [
      `### ${name}: GPU time per op (ms per step)`,
      '',
      `Decode wall clock (normal submission, GPU sampling): ${wallMs.toFixed(3)} ms/token = ${(1000 / wallMs).toFixed(1)} tok/s. ` +
        `Prompt of ${LATE} tokens: ${longPrefillMs.toFixed(1)} ms (${((LATE / longPrefillMs) * 1000).toFixed(0)} tok/s); decode after it: ${lateWallMs.toFixed(3)} ms/token = ${(1000 / lateWallMs).toFixed(1)} tok/s. ` +
        `Profiled sums: decode at position ${PROMPT} ${total(decode).toFixed(3)} ms, at ${LATE} ${total(late).toFixed(3)} ms; prefill of ${PROMPT} tokens ${total(prefill).toFixed(3)} ms.`,
      '',
      `| op | decode ms | decode % | decode at ${LATE} ms | prefill ms | prefill % | 64-token step at ${LATE - 64} ms |`,
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...[...new Set([...rows, ...late.keys(), ...step64.keys()])].map((k) => {
        const d = decode.get(k) ?? 0;
        const p = prefill.get(k) ?? 0;
        return `| ${k} | ${d.toFixed(4)} | ${((100 * d) / total(decode)).toFixed(1)} | ${(late.get(k) ?? 0).toFixed(4)} | ${p.toFixed(4)} | ${((100 * p) / total(prefill)).toFixed(1)} | ${(step64.get(k) ?? 0).toFixed(4)} |`;
      }),
      '',
    ].join('\n');
  } finally {
    runner.dispose();
  }
}
