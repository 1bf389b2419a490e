/**
 * llama2.c's own encoder (run.c `encode`), transcribed to read tok512.bin directly: BOS, a " "
 * dummy prefix for non-empty text, one piece per UTF-8 character (byte tokens + 3 otherwise), then
 * repeated merging of the adjacent pair whose merge has the highest score. Independent of src/.
 */
import { readFileSync } from 'node:fs';

export function llama2cEncoder(path: string): (text: string) => number[] {
  const buf = readFileSync(path);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const vocab: string[] = [];
  const scores: number[] = [];
  let o = 4;
  for (let i = 0; i < 512; i++) {
    scores.push(dv.getFloat32(o, true));
    const len = dv.getInt32(o + 4, true);
    vocab.push(buf.subarray(o + 8, o + 8 + len).toString('utf8'));
    o += 8 + len;
  }
  const lookup = new Map<string, number>();
  vocab.forEach((v, i) => {
    if (!lookup.has(v)) lookup.set(v, i);
  });
  return (text: string) => {
    const tokens: number[] = [1];
    if (text !== '') tokens.push(lookup.get(' ')!);
    for (const ch of text) {
      const id = lookup.get(ch);
      if (id !== undefined) tokens.push(id);
      else for (const b of Buffer.from(ch, 'utf8')) tokens.push(b + 3);
    }
    for (;;) {
      let best = -1e10, bestId = -1, bestIdx = -1;
      for (let i = 1; i < tokens.length - 1; i++) {
        const id = lookup.get(vocab[tokens[i]!]! + vocab[tokens[i + 1]!]!);
        if (id !== undefined && scores[id]! > best) [best, bestId, bestIdx] = [scores[id]!, id, i];
      }
      if (bestIdx === -1) break;
      tokens.splice(bestIdx, 2, bestId);
    }
    return tokens;
  };
}
