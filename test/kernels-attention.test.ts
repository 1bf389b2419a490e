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
import { f16ToF32, f32ToF16, fromFloat32 } from '../src/formats/dtypes.js';
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
      partial: g.buffer(attentionPartialBytes(c.heads, c.hd, maxSeq, c.T) / 4), out, step: g.step, meta: g.meta({ T: c.T, pos0: c.pos0, maxSeq }), cpuBacked: false,
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

/**
 * The paged cache (shaders/paged.wgsl): several sequences packed in one step, each row reading its
 * own sequence's positions through a block table whose blocks are out of order and partly shared
 * (a prefix block of two sequences), against the reference on each sequence's logical cache.
 * Every attention family: the GPU's flash kernels (one-row tiles for several sequences), the
 * CPU-backed barrier-free kernels (head_dim a multiple of 4) and the split kernel (head_dim 10),
 * each over a float32 cache and a float16 one.
 */
describe('paged attention: several sequences per step through block tables', () => {
  interface Seq { pos: number; rows: number; blocks: number[] }
  interface PagedCase { heads: number; kvHeads: number; hd: number; seqs: Seq[]; cpuBacked: boolean; window?: number; softcap?: number; storage?: number }
  const NB = 48;
  const cases: [string, PagedCase][] = [
    ['GPU, three decode rows at 5, 70 and 300 (both sides of chunk edges), GQA 4', { heads: 8, kvHeads: 2, hd: 64, cpuBacked: false, seqs: [{ pos: 5, rows: 1, blocks: [7] }, { pos: 70, rows: 1, blocks: [3, 40, 9, 1, 30] }, { pos: 300, rows: 1, blocks: [2, 44, 6, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24] }] }],
    ['GPU, a 7-row chunk from 200, a decode row at 65 and 3 rows from 0 sharing its first block, GQA 3, head_dim 80, window 40, soft-cap 5', { heads: 6, kvHeads: 2, hd: 80, cpuBacked: false, window: 40, softcap: 5, seqs: [{ pos: 200, rows: 7, blocks: [47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35] }, { pos: 65, rows: 1, blocks: [5, 0, 33, 4, 29] }, { pos: 0, rows: 3, blocks: [5] }] }],
    ['GPU split kernel (flash tiles do not fit 2 KB), a 4-row chunk from 254 and a decode row at 64, GQA 2', { heads: 4, kvHeads: 2, hd: 64, cpuBacked: false, storage: 2048, seqs: [{ pos: 254, rows: 4, blocks: [16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0] }, { pos: 64, rows: 1, blocks: [20, 21, 22, 23, 24] }] }],
    ['CPU-backed, decode rows at 9 and 130 sharing a block, head_dim 12', { heads: 6, kvHeads: 2, hd: 12, cpuBacked: true, seqs: [{ pos: 9, rows: 1, blocks: [20] }, { pos: 130, rows: 1, blocks: [20, 3, 7, 1, 0, 11, 40, 41, 2] }] }],
    ['CPU-backed, a 5-row chunk from 250 and a decode row at 70, head_dim 12', { heads: 6, kvHeads: 2, hd: 12, cpuBacked: true, seqs: [{ pos: 250, rows: 5, blocks: [30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14] }, { pos: 70, rows: 1, blocks: [1, 3, 5, 7, 9] }] }],
    ['CPU-backed split kernel (head_dim 10), a 3-row chunk from 60 and decode rows at 300 and 2', { heads: 6, kvHeads: 2, hd: 10, cpuBacked: true, seqs: [{ pos: 60, rows: 3, blocks: [9, 8, 7, 6] }, { pos: 300, rows: 1, blocks: [2, 44, 6, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24] }, { pos: 2, rows: 1, blocks: [9] }] }],
  ];
  // Each case with a float32 cache, then with float16 pairs (paged.wgsl's KV_HALF) against the
  // reference on the same values rounded to float16.
  it.each(cases.flatMap(([name, c]) => [[name, c, false], [`${name}, float16 cache`, c, true]] as [string, PagedCase, boolean][]))('%s', async (_, c, half) => {
    const kvw = c.kvHeads * c.hd;
    const T = c.seqs.reduce((n, s) => n + s.rows, 0);
    const maxSeq = 320;
    const round = (x: Float32Array) => (half ? x.map((v) => f16ToF32(f32ToF16(v))) : x);
    const q = randoms(T * c.heads * c.hd, 61).map((v) => v * 3), kc = round(randoms(NB * 16 * kvw, 62)), vc = round(randoms(NB * 16 * kvw, 63));
    const stored = (x: Float32Array) => g.buffer(half ? fromFloat32('F16', x) : x);
    const out = g.buffer(T * c.heads * c.hd);
    const ops = await attentionOps(cache, {
      label: 'att', heads: c.heads, kvHeads: c.kvHeads, headDim: c.hd, maxSeq, q: g.buffer(q), kCache: stored(kc), vCache: stored(vc),
      partial: g.buffer(attentionPartialBytes(c.heads, c.hd, maxSeq, T, T) / 4), out, step: g.step, meta: g.meta(c.seqs), cpuBacked: c.cpuBacked,
      window: c.window, softcap: c.softcap, workgroupStorage: c.storage, kvHalf: half,
    });
    if (c.storage) expect(ops.map((o) => o.label)).toEqual(['att.partial', 'att.combine']);
    const span = Math.max(...c.seqs.map((s) => s.pos + s.rows));
    await g.run(ops, T, 0, { span, decode: c.seqs.every((s) => s.rows === 1), multi: true });
    const got = await g.read(out, T * c.heads * c.hd);
    // Each sequence's logical cache, read through its table, and its rows' reference.
    let r = 0;
    for (const s of c.seqs) {
      const len = s.pos + s.rows;
      const logical = (phys: Float32Array) => {
        const l = new Float32Array(len * kvw);
        for (let j = 0; j < len; j++) l.set(phys.subarray((s.blocks[j >> 4]! * 16 + (j & 15)) * kvw, (s.blocks[j >> 4]! * 16 + (j & 15) + 1) * kvw), j * kvw);
        return l;
      };
      const w = c.heads * c.hd;
      const want = reference({ heads: c.heads, kvHeads: c.kvHeads, hd: c.hd, T: s.rows, pos0: s.pos, window: c.window, softcap: c.softcap }, q.subarray(r * w, (r + s.rows) * w), logical(kc), logical(vc));
      expect(nmse(got.subarray(r * w, (r + s.rows) * w), want), `rows from ${s.pos}`).toBeLessThan(NMSE);
      r += s.rows;
    }
  }, 120_000);
});
