/**
 * The GPU family's flash attention (shaders/attention_flash.wgsl: decode and prompt steps, split
 * over chunks and merged by attn_combine past the first chunk) against a plain softmax reference,
 * on Dawn/SwiftShader with the GPU kernels forced: grouped-query ratios 1, 4 and 3, head_dim 64,
 * 80, 96 and 256, decode across the 64-position chunk edges, prompt steps of odd lengths from 0
 * and from 200, sliding windows, soft-capping, a custom scale, and the small tiles WebGPU's
 * guaranteed 16 KB of workgroup memory allows.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { attentionOps, attentionPartialBytes, flashTiles } from '../src/engine/wgsl/kernels/attention.js';
import { PipelineCache } from '../src/engine/wgsl/kernels/op.js';
import { gpu, nmse, randoms } from './helpers/gpu.js';

const NMSE = 1e-10;
let g: Awaited<ReturnType<typeof gpu>>;
let cache: PipelineCache;
beforeAll(async () => {
  g = await gpu();
  cache = new PipelineCache(g.device);
});

interface Case { heads: number; kvHeads: number; hd: number; T: number; pos0: number; window?: number; softcap?: number; scale?: number; storage?: number }

function reference(c: Case, q: Float32Array, kc: Float32Array, vc: Float32Array): Float32Array {
  const { heads, kvHeads, hd, T, pos0 } = c;
  const kvw = kvHeads * hd;
  const scale = c.scale ?? 1 / Math.sqrt(hd);
  const want = new Float32Array(T * heads * hd);
  for (let t = 0; t < T; t++) {
    const len = pos0 + t + 1;
    const first = c.window && len > c.window ? len - c.window : 0;
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / (heads / kvHeads));
      const s: number[] = [];
      for (let j = first; j < len; j++) {
        let d = 0;
        for (let i = 0; i < hd; i++) d += q[(t * heads + h) * hd + i]! * kc[j * kvw + kvh * hd + i]!;
        d *= scale;
        if (c.softcap) d = c.softcap * Math.tanh(d / c.softcap);
        s.push(d);
      }
      const mx = Math.max(...s);
      const e = s.map((v) => Math.exp(v - mx));
      const l = e.reduce((x, y) => x + y, 0);
      for (let i = 0; i < hd; i++) {
        let acc = 0;
        for (let j = first; j < len; j++) acc += e[j - first]! * vc[j * kvw + kvh * hd + i]!;
        want[(t * heads + h) * hd + i] = acc / l;
      }
    }
  }
  return want;
}

describe('flash attention (GPU kernels)', () => {
  const cases: [string, Case][] = [
    ['small: GQA 2, head_dim 16, 7-token step from 0', { heads: 4, kvHeads: 2, hd: 16, T: 7, pos0: 0 }],
    ['small: GQA 4, head_dim 8, 40-token step from 0', { heads: 8, kvHeads: 2, hd: 8, T: 40, pos0: 0 }],
    ['small: GQA 2, head_dim 16, decode at 9', { heads: 4, kvHeads: 2, hd: 16, T: 1, pos0: 9 }],
    ['MHA, decode at position 1', { heads: 2, kvHeads: 2, hd: 64, T: 1, pos0: 1 }],
    ['MHA, decode at position 65 (two chunks)', { heads: 2, kvHeads: 2, hd: 64, T: 1, pos0: 65 }],
    ['MHA, 33-token step from 200', { heads: 2, kvHeads: 2, hd: 64, T: 33, pos0: 200 }],
    ['GQA 4, decode at position 63 (one full chunk)', { heads: 8, kvHeads: 2, hd: 64, T: 1, pos0: 63 }],
    ['GQA 4, decode at position 300', { heads: 8, kvHeads: 2, hd: 64, T: 1, pos0: 300 }],
    ['GQA 4, 64-token step from 0', { heads: 8, kvHeads: 2, hd: 64, T: 64, pos0: 0 }],
    ['GQA 4, 7-token step from 200, 16 KB tiles', { heads: 8, kvHeads: 2, hd: 64, T: 7, pos0: 200, storage: 16384 }],
    ['GQA 3, head_dim 80, decode at 65, window 40', { heads: 6, kvHeads: 2, hd: 80, T: 1, pos0: 65, window: 40 }],
    ['GQA 3, head_dim 80, 33-token step from 200, window 50, soft-cap 5', { heads: 6, kvHeads: 2, hd: 80, T: 33, pos0: 200, window: 50, softcap: 5 }],
    ['GQA 3, head_dim 96, 7-token step from 0, scale 0.3, 16 KB tiles', { heads: 6, kvHeads: 2, hd: 96, T: 7, pos0: 0, scale: 0.3, storage: 16384 }],
    ['GQA 2, head_dim 256, decode at 300, soft-cap 2', { heads: 4, kvHeads: 2, hd: 256, T: 1, pos0: 300, softcap: 2 }],
    ['GQA 2, head_dim 256, 7-token step from 260, window 30, 16 KB tiles', { heads: 4, kvHeads: 2, hd: 256, T: 7, pos0: 260, window: 30, storage: 16384 }],
  ];
  it.each(cases)('%s', async (_, c) => {
    const maxSeq = 333;
    const kvw = c.kvHeads * c.hd;
    const q = randoms(c.T * c.heads * c.hd, 51).map((v) => v * 3), kc = randoms(maxSeq * kvw, 52), vc = randoms(maxSeq * kvw, 53);
    const out = g.buffer(c.T * c.heads * c.hd);
    const ops = await attentionOps(cache, {
      label: 'att', heads: c.heads, kvHeads: c.kvHeads, headDim: c.hd, maxSeq, q: g.buffer(q), kCache: g.buffer(kc), vCache: g.buffer(vc),
      partial: g.buffer(attentionPartialBytes(c.heads, c.hd, maxSeq, c.T) / 4), out, step: g.step, cpuBacked: false,
      window: c.window, softcap: c.softcap, scale: c.scale, workgroupStorage: c.storage,
    });
    // the flash kernels serve, not the split fallback
    expect(ops.map((o) => o.label)).toEqual(['att.partial', 'att.flash', 'att.combine']);
    await g.run(ops, c.T, c.pos0);
    expect(nmse(await g.read(out, c.T * c.heads * c.hd), reference(c, q, kc, vc))).toBeLessThan(NMSE);
  }, 120_000);

  it('tiles: rows before key-tile width (16 KB: 11 tokens x 4 heads on 8-position key tiles at head_dim 64; 48 KB: 16 tokens on 32); decode takes one token; too-large shapes fall back', () => {
    expect(flashTiles(64, 4, 16384, false)).toEqual({ tq: 11, g: 4, bk: 8 });
    expect(flashTiles(64, 4, 49152, false)).toEqual({ tq: 16, g: 4, bk: 32 });
    expect(flashTiles(64, 4, 16384, true)).toEqual({ tq: 1, g: 4, bk: 32 });
    expect(flashTiles(512, 8, 16384, true)).toBeUndefined();
    expect(flashTiles(64, 1.5, 49152, false)).toBeUndefined();
  });
});
