/**
 * Bad input gets an OpenAI-shaped error with the right status, never a crash or a hang, and the
 * engine keeps serving correct answers afterwards; aborting a stream frees the engine at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetch, type WebinferFetch } from '../src/index.js';
import { STORIES_GGUF, storiesReference } from './helpers/paths.js';

let f: WebinferFetch;
const URL_BASE = 'http://webinfer.local';

beforeAll(async () => {
  f = createFetch({ model: STORIES_GGUF, maxModelLen: 256 });
  await f.ready;
});
afterAll(() => f.dispose());

async function expectError(res: Response, status: number, param?: string | null, code?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = await res.json();
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(5);
  expect(typeof body.error.type).toBe('string');
  if (param !== undefined) expect(body.error.param).toBe(param);
  if (code !== undefined) expect(body.error.code).toBe(code);
  return body.error;
}

const post = (path: string, body: unknown) => f(URL_BASE + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

/** After any bad request, the engine must still give the reference answer. */
async function stillServes() {
  const res = await post('/v1/completions', { prompt: '', max_tokens: 24, temperature: 0 });
  expect(res.status).toBe(200);
  expect(storiesReference().startsWith((await res.json()).choices[0].text)).toBe(true);
}

describe('routes and methods', () => {
  it('unknown route → 404', async () => {
    await expectError(await f(URL_BASE + '/v1/embeddingz'), 404, null, 'not_found');
  });
  it('wrong method → 405 with Allow', async () => {
    const res = await f(URL_BASE + '/v1/chat/completions');
    expect(res.headers.get('allow')).toBe('POST');
    await expectError(res, 405, null, 'method_not_allowed');
    await expectError(await post('/v1/models', {}), 405);
  });
  it('unknown model → 404 model_not_found', async () => {
    await expectError(await post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), 404, 'model', 'model_not_found');
    await expectError(await f(URL_BASE + '/v1/models/gpt-4o'), 404, 'model', 'model_not_found');
  });
});

describe('malformed bodies → 400', () => {
  const cases: [string, string, unknown, string | null][] = [
    ['invalid JSON', '/v1/completions', '{"prompt": "x",', null],
    ['truncated JSON', '/v1/chat/completions', '{"messages": [{"role": "user", "content": "hi"}', null],
    ['not an object', '/v1/completions', '[1, 2, 3]', null],
    ['empty body', '/v1/completions', '', null],
    ['missing prompt', '/v1/completions', { max_tokens: 3 }, 'prompt'],
    ['missing messages', '/v1/chat/completions', { model: 'stories260K' }, 'messages'],
    ['messages not a list', '/v1/chat/completions', { messages: 'hi' }, 'messages'],
    ['empty messages', '/v1/chat/completions', { messages: [] }, 'messages'],
    ['bad role', '/v1/chat/completions', { messages: [{ role: 'wizard', content: 'hi' }] }, 'messages[0].role'],
    ['content wrong type', '/v1/chat/completions', { messages: [{ role: 'user', content: 42 }] }, 'messages[0].content'],
    ['image part', '/v1/chat/completions', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages[0].content[0]'],
    ['max_tokens string', '/v1/completions', { prompt: 'a', max_tokens: '5' }, 'max_tokens'],
    ['max_tokens zero', '/v1/completions', { prompt: 'a', max_tokens: 0 }, 'max_tokens'],
    ['max_tokens float', '/v1/completions', { prompt: 'a', max_tokens: 2.5 }, 'max_tokens'],
    ['temperature too high', '/v1/completions', { prompt: 'a', temperature: 7 }, 'temperature'],
    ['temperature negative', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], temperature: -1 }, 'temperature'],
    ['top_p zero', '/v1/completions', { prompt: 'a', top_p: 0 }, 'top_p'],
    ['n zero', '/v1/completions', { prompt: 'a', n: 0 }, 'n'],
    ['stream not boolean', '/v1/completions', { prompt: 'a', stream: 'yes' }, 'stream'],
    ['stop list of numbers', '/v1/completions', { prompt: 'a', stop: [1, 2] }, 'stop'],
    ['prompt of mixed types', '/v1/completions', { prompt: ['a', 1] }, 'prompt'],
    ['token id out of vocabulary', '/v1/completions', { prompt: [1, 99999] }, 'prompt'],
    ['negative token id', '/v1/completions', { prompt: [1, -5] }, 'prompt'],
    ['model not a string', '/v1/completions', { prompt: 'a', model: 5 }, 'model'],
    ['suffix without FIM', '/v1/completions', { prompt: 'a', suffix: 'b' }, 'suffix'],
    ['prompt longer than the context', '/v1/completions', { prompt: Array(300).fill(300) }, 'prompt'],
    ['schema of an unknown type', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'foo' } } } }, 'response_format'],
    ['schema minimum above maximum', '/v1/completions', { prompt: 'a', guided_json: { type: 'integer', minimum: 5, maximum: 1 } }, 'guided_json'],
    ['guided_json not JSON', '/v1/completions', { prompt: 'a', guided_json: '{"type": ' }, 'guided_json'],
    ['response_format of an unknown type', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], response_format: { type: 'yaml' } }, 'response_format.type'],
    ['json_schema without its object', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], response_format: { type: 'json_schema' } }, 'response_format.json_schema'],
    ['unbalanced regex', '/v1/completions', { prompt: 'a', guided_regex: '(ab' }, 'guided_regex'],
    ['grammar with an undefined rule', '/v1/completions', { prompt: 'a', guided_grammar: 'root ::= item\nitem ::= other' }, 'guided_grammar'],
    ['empty choice list', '/v1/completions', { prompt: 'a', guided_choice: [] }, 'guided_choice'],
    ['structural tag that is not JSON', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], structural_tag: '{"format": ' }, 'structural_tag'],
    ['structural tag of an unknown format', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], structural_tag: { type: 'structural_tag', format: { type: 'teleport' } } }, 'structural_tag'],
    ['two constraints', '/v1/completions', { prompt: 'a', guided_regex: 'a+', guided_choice: ['a'] }, 'guided_choice'],
    ['a constraint and tools', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], guided_regex: 'a+', tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools'],
    ['tool without a function', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], tools: [{ type: 'function' }] }, 'tools[0]'],
    ['tool name with spaces', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], tools: [{ type: 'function', function: { name: 'get weather' } }] }, 'tools[0].function.name'],
    ['two tools of one name', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], tools: [{ type: 'function', function: { name: 'f' } }, { type: 'function', function: { name: 'f' } }] }, 'tools[1].function.name'],
    ['tool parameters not a schema', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], tools: [{ type: 'function', function: { name: 'f', parameters: 'x' } }] }, 'tools[0].function.parameters'],
    ['tool_choice naming no tool', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } }, 'tool_choice'],
    ['tool_choice without tools', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], tool_choice: 'required' }, 'tool_choice'],
    ['tool_choice of an unknown mode', '/v1/chat/completions', { messages: [{ role: 'user', content: 'a' }], tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'always' }, 'tool_choice'],
    ['tool call without arguments', '/v1/chat/completions', { messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f' } }] }] }, 'messages[0].tool_calls[0]'],
  ];
  it.each(cases)('%s', async (_, path, body, param) => {
    await expectError(await post(path, body), 400, param);
  });
  it('context overflow is context_length_exceeded', async () => {
    await expectError(await post('/v1/completions', { prompt: 'Once upon a time '.repeat(200) }), 400, 'prompt', 'context_length_exceeded');
  });
  it('the engine still serves afterwards', stillServes);
  it('a hundred rejected grammars in a row: each a 400 with its own message, then constraints still work', async () => {
    // xgrammar's WebAssembly cannot recover from many rejections (it leaks its stack on each): the instance is replaced.
    for (let i = 0; i < 100; i++) {
      const res = await post('/v1/completions', { prompt: 'a', guided_grammar: `root ::= rule${i}` });
      const error = await expectError(res, 400, 'guided_grammar', 'invalid_grammar');
      expect(error.message).toContain(`rule${i}`);
    }
    const ok = await post('/v1/completions', { prompt: 'Once', guided_regex: '[0-9]{3}', max_tokens: 10 });
    expect(ok.status).toBe(200);
    expect((await ok.json()).choices[0].text).toMatch(/^[0-9]{3}$/);
  }, 120_000);
});

describe('limits', () => {
  it('max_tokens beyond the context is clipped, ending with finish_reason length', async () => {
    const res = await post('/v1/completions', { prompt: [1], max_tokens: 100000, temperature: 0 });
    const body = await res.json();
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage.completion_tokens).toBe(255);
  });
});

describe('abort', () => {
  it('aborting mid-stream stops generation and frees the engine for the next request', async () => {
    const ac = new AbortController();
    const res = await f(URL_BASE + '/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 250, stream: true, temperature: 0 }), signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await expect(reader.read()).rejects.toThrow(/abort/i);
    const t0 = performance.now();
    await stillServes();
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('an already-aborted signal rejects at once', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(f(URL_BASE + '/v1/models', { signal: ac.signal })).rejects.toThrow(/abort/i);
  });

  it('concurrent requests do not interleave their tokens', async () => {
    const reqs = [0, 1, 2].map(() => post('/v1/completions', { prompt: '', max_tokens: 40, temperature: 0, stream: true }).then((r) => r.text()));
    const bodies = await Promise.all(reqs);
    const texts = bodies.map((b) =>
      b
        .split('\n\n')
        .filter((e) => e.startsWith('data: {'))
        .map((e) => JSON.parse(e.slice(6)).choices[0].text)
        .join(''),
    );
    for (const t of texts) expect(storiesReference().startsWith(t) && t.length > 50).toBe(true);
  });
});

describe('engine sizes', () => {
  it.each([
    [{ maxBatch: 0 }, /maxBatch must be an integer from 1 to 1024, got 0/],
    [{ maxBatch: 2.5 }, /maxBatch must be an integer/],
    [{ kvCacheBytes: -1 }, /kvCacheBytes must be an integer from 1/],
    [{ kvDtype: 'q8' }, /kvDtype must be 'f16' or 'f32', got "q8"/],
    [{ maxModelLen: 1 }, /maxModelLen must be an integer from 2/],
    // Too small for one request at full context: the message gives the bytes it needs.
    [{ kvCacheBytes: 4096 }, /kvCacheBytes 4096 holds \d+ positions, fewer than maxModelLen \(256\); it needs at least \d+ bytes/],
  ])('%o: ready rejects with what is wrong', async (sizes, message) => {
    const g = createFetch({ model: STORIES_GGUF, maxModelLen: 256, ...(sizes as object) });
    await expect(g.ready).rejects.toThrow(message);
    await g.dispose();
  });
});
