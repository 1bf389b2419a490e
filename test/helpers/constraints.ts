/**
 * Constraint kinds for the structured-output tests, each with a judge that is not xgrammar: ajv
 * for JSON schemas, RegExp for regexes, membership for choices, a recursive-descent parser for
 * the grammar.
 */
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type OpenAI from 'openai';
import type { ConstraintSpec } from '../../src/engine/grammar/grammar.js';

// Both packages are CommonJS: under Node's ESM loader the class is the default export's .default.
const AjvClass = ((Ajv2020 as unknown as { default?: typeof Ajv2020 }).default ?? Ajv2020) as typeof Ajv2020;
export const ajv = new AjvClass({ strict: false });
((addFormats as unknown as { default?: typeof addFormats }).default ?? addFormats)(ajv);

export const PERSON_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'integer', minimum: 1, maximum: 999 },
    kind: { enum: ['cat', 'dog', 'fish'] },
    name: { type: 'string', minLength: 1, maxLength: 6 },
    born: { type: 'string', format: 'date' },
    host: { type: 'string', format: 'ipv4' },
    tags: { type: 'array', items: { type: 'string', maxLength: 3 }, minItems: 1, maxItems: 3 },
    owner: { type: 'object', properties: { age: { type: 'integer', minimum: 0, maximum: 99 }, vip: { type: 'boolean' } }, required: ['age', 'vip'], additionalProperties: false },
    score: { anyOf: [{ type: 'integer', minimum: 0, maximum: 9 }, { type: 'null' }] },
  },
  required: ['id', 'kind', 'name', 'born', 'host', 'tags', 'owner', 'score'],
  additionalProperties: false,
};

export const REGEX = '(19|20)\\d{2}-(0[1-9]|1[0-2])-[a-z]{2,5}';
export const CHOICES = ['red', 'green', 'blue', 'light blue', 'ünïcödé ✓'];
export const EBNF = ['root ::= expr', 'expr ::= term (("+" | "-") term)*', 'term ::= factor (("*" | "/") factor)*', 'factor ::= num | "(" expr ")"', 'num ::= [0-9] | [1-9] [0-9]'].join('\n');

/** The grammar above as a recursive-descent parser: true if `s` is a whole expression. */
export function isExpression(s: string): boolean {
  let i = 0;
  const num = () => {
    const m = /^(?:[1-9][0-9]|[0-9])/.exec(s.slice(i));
    if (!m) return false;
    i += m[0].length;
    return true;
  };
  const factor = (): boolean => {
    if (s[i] === '(') {
      i++;
      if (!expr() || s[i] !== ')') return false;
      i++;
      return true;
    }
    return num();
  };
  const term = (): boolean => {
    if (!factor()) return false;
    while (s[i] === '*' || s[i] === '/') {
      i++;
      if (!factor()) return false;
    }
    return true;
  };
  const expr = (): boolean => {
    if (!term()) return false;
    while (s[i] === '+' || s[i] === '-') {
      i++;
      if (!term()) return false;
    }
    return true;
  };
  return expr() && i === s.length;
}

const SMALL = { type: 'object', properties: { ok: { type: 'boolean' }, n: { type: 'integer', minimum: -5, maximum: 5 } }, required: ['ok', 'n'], additionalProperties: false };
const TAG = { type: 'structural_tag', format: { type: 'tags_with_separator', tags: [{ type: 'tag', begin: '<answer>', content: { type: 'json_schema', json_schema: SMALL }, end: '</answer>' }], separator: '\n', at_least_one: true, stop_after_first: true } };

export interface Kind {
  name: string;
  /** Of 100 answers, at least this many end by themselves (the rest are cut by max_tokens). */
  whole: number;
  body: Record<string, unknown>;
  spec: ConstraintSpec;
  valid(text: string): boolean;
}

export const KINDS: Kind[] = [
  {
    name: 'json schema (response_format)',
    whole: 60,
    body: { response_format: { type: 'json_schema', json_schema: { name: 'person', schema: PERSON_SCHEMA, strict: true } } },
    spec: { kind: 'json', schema: JSON.stringify(PERSON_SCHEMA) },
    valid: (t) => {
      try {
        return ajv.validate(PERSON_SCHEMA, JSON.parse(t)) as boolean;
      } catch {
        return false;
      }
    },
  },
  {
    name: 'json object',
    whole: 10, // any object: nothing bounds its size, so noise rarely closes it
    body: { response_format: { type: 'json_object' } },
    spec: { kind: 'json' },
    valid: (t) => {
      try {
        const v = JSON.parse(t);
        return typeof v === 'object' && v !== null && !Array.isArray(v);
      } catch {
        return false;
      }
    },
  },
  { name: 'regex', whole: 95, body: { guided_regex: REGEX }, spec: { kind: 'regex', pattern: REGEX }, valid: (t) => new RegExp(`^(?:${REGEX})$`).test(t) },
  { name: 'choice', whole: 100, body: { guided_choice: CHOICES }, spec: { kind: 'choice', choices: CHOICES }, valid: (t) => CHOICES.includes(t) },
  {
    name: 'structural tag',
    whole: 60,
    body: { structural_tag: TAG },
    spec: { kind: 'structural_tag', tag: JSON.stringify(TAG) },
    valid: (t) => {
      const m = /^<answer>([^]*)<\/answer>$/.exec(t);
      try {
        return !!m && (ajv.validate(SMALL, JSON.parse(m[1]!)) as boolean);
      } catch {
        return false;
      }
    },
  },
  { name: 'grammar (EBNF)', whole: 60, body: { guided_grammar: EBNF }, spec: { kind: 'grammar', ebnf: EBNF }, valid: isExpression },
];

/** `count` answers at temperature 1, ten choices per request, seeded. */
export async function sample(c: OpenAI, kind: Kind, count: number, seed0: number, extra: Record<string, unknown> = {}) {
  const out: { text: string; finish: string | null }[] = [];
  for (let seed = seed0; out.length < count; seed++) {
    const r = await c.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'Write one.' }], temperature: 1, max_tokens: 240, n: 10, seed, ...kind.body, ...extra } as never);
    for (const ch of (r as OpenAI.ChatCompletion).choices) out.push({ text: ch.message.content ?? '', finish: ch.finish_reason });
  }
  return out;
}

