/**
 * Structured output as a property: random-weight models at temperature 1 (noise, so adversaries)
 * write >= 100 samples per constraint kind through the openai SDK and createFetch, and every
 * answer is checked by a judge that is not xgrammar (helpers/constraints.ts). Answers cut by
 * max_tokens must be valid prefixes (checked character by character by a fresh matcher).
 */
import { join } from 'node:path';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetch, type WebinferFetch } from '../src/index.js';
import { loadCpu } from '../src/engine/cpu/backend.js';
import { GrammarCompiler } from '../src/engine/grammar/grammar.js';
import { CHOICES, EBNF, isExpression, KINDS, sample, type Kind } from './helpers/constraints.js';
import { client } from './helpers/openai.js';
import { GENERATED } from './helpers/paths.js';

const MODEL = join(GENERATED, 'llama-f32.gguf');
let cpu: WebinferFetch;
let grammars: GrammarCompiler;

beforeAll(async () => {
  cpu = createFetch({ model: MODEL, backend: 'cpu' });
  await cpu.ready;
  const { model } = await loadCpu(MODEL, {});
  grammars = new GrammarCompiler(model.tokenizer, model.config.vocabSize);
});
afterAll(async () => {
  await cpu.dispose();
});

async function judge(kind: Kind, answers: { text: string; finish: string | null }[]) {
  const compiled = await grammars.compile(kind.spec);
  let whole = 0;
  for (const a of answers) {
    if (a.finish === 'stop') {
      expect(kind.valid(a.text), `${kind.name}: ${JSON.stringify(a.text)}`).toBe(true);
      whole++;
    } else {
      expect(a.finish).toBe('length');
      const m = await compiled.matcher([]);
      // A cut answer may end inside a character, which shows as U+FFFD.
      expect(m.acceptText(a.text.replace(/\uFFFD+$/, '')), `${kind.name} (cut): ${JSON.stringify(a.text)} is not a valid prefix`).toBe(true);
      m.dispose();
    }
  }
  return whole;
}

describe('structured output on cpu: every answer satisfies its constraint', () => {
  for (const kind of KINDS)
    it(`${kind.name}: 100 samples`, async () => {
      const answers = await sample(client(cpu), kind, 100, 1);
      const whole = await judge(kind, answers);
      // Most answers end by themselves: the constraint lets EOS through once the text is complete.
      expect(whole).toBeGreaterThanOrEqual(kind.whole);
    });

  it('a compiled constraint evicted from the cache (32 kept) still gives matchers: it is compiled again', async () => {
    const first = await grammars.compile({ kind: 'regex', pattern: 'evicted[0-9]' });
    for (let i = 0; i < 40; i++) await grammars.compile({ kind: 'regex', pattern: `other${i}` });
    expect((first as unknown as { disposed: boolean }).disposed).toBe(true); // its WebAssembly object was freed
    const m = await first.matcher([]);
    expect(m.acceptText('evicted7')).toBe(true);
    m.dispose();
    const n = await first.matcher([]);
    expect(n.acceptText('other1')).toBe(false);
    n.dispose();
  });

  it("llama.cpp's GBNF dialect (comments, repetition counts, escapes) is accepted as guided_grammar", async () => {
    const gbnf = ['# a shopping list, as llama.cpp grammars are written', 'root ::= item{1,4}', 'item ::= "- " [a-z]{1,8} qty? "\\n"', 'qty   ::= " x" [1-9]', ''].join('\n');
    for (const a of await sample(client(cpu), { name: 'gbnf', whole: 0, body: { guided_grammar: gbnf }, spec: { kind: 'grammar', ebnf: gbnf }, valid: () => true }, 20, 3))
      if (a.finish === 'stop') expect(a.text).toMatch(/^(- [a-z]{1,8}( x[1-9])?\n){1,4}$/);
  });

  it('a cut answer is a valid prefix with finish_reason length', async () => {
    const kind = KINDS[0]!;
    const answers = await sample(client(cpu), kind, 10, 50, { max_tokens: 9 });
    expect(answers.every((a) => a.finish === 'length')).toBe(true);
    await judge(kind, answers);
  });
});

describe('constraints with the other fields', () => {
  const ask = (body: Record<string, unknown>) =>
    client(cpu).chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'Write one.' }], temperature: 1, max_tokens: 60, ...body } as never) as Promise<OpenAI.ChatCompletion>;

  it('stop strings cut a constrained answer; seeds repeat it; n gives distinct answers', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = await ask({ guided_regex: '[a-z]{8,30}', stop: ['e'], seed });
      const text = r.choices[0]!.message.content!;
      expect(text).not.toContain('e');
      expect(text).toMatch(/^[a-z]*$/);
      expect((await ask({ guided_regex: '[a-z]{8,30}', stop: ['e'], seed })).choices[0]!.message.content).toBe(text);
    }
    const many = await ask({ guided_regex: '[a-z]{8,12}', n: 6, seed: 3 });
    expect(new Set(many.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);
  });

  it('logit_bias steers within the grammar; min_tokens gives way when only EOS is left', async () => {
    const { model } = await loadCpu(MODEL, {});
    const t = model.tokenizer;
    const ban = Object.fromEntries(['x', '<0x78>', '▁x'].flatMap((p) => (t.tokenToId(p) !== undefined ? [[String(t.tokenToId(p)), -100]] : [])));
    for (let seed = 1; seed <= 8; seed++) expect((await ask({ guided_choice: ['x', 'y'], logit_bias: ban, seed })).choices[0]!.message.content).toBe('y');
    const r = await ask({ guided_choice: ['yes', 'no'], min_tokens: 20, seed: 1 });
    expect(['yes', 'no']).toContain(r.choices[0]!.message.content);
    expect(r.choices[0]!.finish_reason).toBe('stop');
  });

  it('a prefilled assistant message is continued within the constraint, or refused if it cannot start it', async () => {
    const schema = { type: 'object', properties: { answer: { enum: ['yes', 'no'] }, why: { type: 'string', maxLength: 10 } }, required: ['answer', 'why'], additionalProperties: false };
    const body = (prefix: string) => ({ messages: [{ role: 'user', content: 'Well?' }, { role: 'assistant', content: prefix }], guided_json: schema, seed: 2 });
    for (let seed = 1; seed <= 5; seed++) {
      const r = await ask({ ...body('{"answer": "'), seed });
      const c = r.choices[0]!;
      if (c.finish_reason === 'stop') expect(JSON.parse('{"answer": "' + c.message.content!)).toMatchObject({ answer: expect.stringMatching(/^(yes|no)$/) });
    }
    await expect(ask(body('[1, 2'))).rejects.toMatchObject({ status: 400, param: 'messages' });
  });

  it('penalties, bad_words and best_of run under a constraint', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const r = await ask({ guided_grammar: EBNF, frequency_penalty: 1.5, presence_penalty: 1, repetition_penalty: 1.3, bad_words: ['1'], seed });
      const c = r.choices[0]!;
      if (c.finish_reason === 'stop') expect(isExpression(c.message.content!)).toBe(true);
    }
    const best = await cpu('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: 'Once', guided_choice: CHOICES, best_of: 3, n: 2, temperature: 1, seed: 4 }) });
    const body = (await best.json()) as OpenAI.Completion;
    expect(body.choices).toHaveLength(2);
    for (const c of body.choices) expect(CHOICES).toContain(c.text);
  });
});
