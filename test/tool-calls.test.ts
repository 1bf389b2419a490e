/**
 * Tool-call parsing per model family, from recorded answers (test/fixtures/tool-calls, written
 * from each family's documentation): whole, streamed in random pieces, and with arguments streamed
 * as the grammar-constrained path does; and the family chosen from real chat templates.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectToolFamily, parseToolCalls, toolFormat, type ToolFamily } from '../src/chat/tools.js';
import { FIXTURES, ROOT } from './helpers/paths.js';

const DIR = join(ROOT, 'test', 'fixtures', 'tool-calls');
const EXPECT = JSON.parse(readFileSync(join(DIR, 'expect.json'), 'utf8')) as Record<string, Record<string, { content: string; calls: [string, unknown][]; malformed?: boolean }>>;
const NAMES = ['get_weather', 'get_time'];

function cases(family: string): Map<string, string> {
  const out = new Map<string, string>();
  const text = readFileSync(join(DIR, `${family}.txt`), 'utf8');
  for (const part of text.split(/^=== /m).slice(1)) {
    const nl = part.indexOf('\n');
    out.set(part.slice(0, nl), part.slice(nl + 1).replace(/\n$/, ''));
  }
  return out;
}

/** Splits text at random points (seeded), as tokens arrive. */
function pieces(text: string, seed: number): string[] {
  const out: string[] = [];
  let s = seed;
  for (let i = 0; i < text.length; ) {
    s = (s * 1103515245 + 12345) >>> 0;
    const n = 1 + (s % 5);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

describe('tool-call formats', () => {
  for (const family of Object.keys(EXPECT) as ToolFamily[]) {
    for (const [name, text] of cases(family)) {
      const want = EXPECT[family]![name]!;
      it(`${family}: ${name}`, () => {
        const format = toolFormat(family);
        const check = (got: ReturnType<typeof parseToolCalls>) => {
          expect(got.content.trim()).toBe(want.content);
          expect(got.calls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual(want.calls);
          for (const c of got.calls) expect(c.id).toMatch(family === 'mistral' ? /^[a-zA-Z0-9]{9}$/ : /^call_[a-zA-Z0-9]{24}$/);
        };
        check(parseToolCalls(format, NAMES, text));
        for (const seed of [1, 2, 3]) check(parseToolCalls(format, NAMES, text, pieces(text, seed)));
        // Arguments streamed as generated (the path of grammar-constrained answers): same calls.
        if (!want.malformed) for (const seed of [4, 5]) check(parseToolCalls(format, NAMES, text, pieces(text, seed), true));
      });
    }
  }

  it('the family comes from the chat template', () => {
    const t = (f: string) => readFileSync(join(FIXTURES, 'chat-templates', f), 'utf8');
    expect(detectToolFamily(t('qwen2.5-0.5b-instruct.jinja'))).toBe('hermes');
    expect(detectToolFamily(t('qwen3-0.6b.jinja'))).toBe('hermes');
    expect(detectToolFamily(t('llama-3.2-3b-instruct.jinja'))).toBe('llama3');
    expect(detectToolFamily(t('gemma-3-1b-it.jinja'))).toBe('json');
    expect(detectToolFamily("{{ '[TOOL_CALLS]' }}")).toBe('mistral');
    expect(detectToolFamily("{{ '<|tool_call|>' }}")).toBe('phi4');
    expect(detectToolFamily(undefined)).toBe('json');
  });
});
