/**
 * The seed's server command as a real process: `webinfer serve` on 127.0.0.1, answering the seed
 * document's curl examples verbatim, streaming chunked SSE, treating a client disconnect as an
 * abort, and exiting cleanly on SIGTERM and SIGINT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, storiesReference } from './helpers/paths.js';

function start(args: string[]): Promise<{ proc: ChildProcess; url: string; output: () => string }> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'webinfer.js'), 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    proc.stdout!.on('data', () => {
      const m = /on (http:\/\/[^\s]+)\/v1/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]!, output: () => out });
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
}

const exited = (proc: ChildProcess) => new Promise<number | null>((r) => (proc.exitCode !== null ? r(proc.exitCode) : proc.on('exit', (c) => r(c))));

describe('webinfer serve', () => {
  let server: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    server = await start(['--model', 'models/stories260K.gguf', '--port', '0', '--max-model-len', '512', '--enable-logprob']);
  });
  afterAll(() => {
    server?.proc.kill('SIGKILL');
  });

  it('announces the model and answers the seed curl example verbatim', async () => {
    expect(server.output()).toMatch(/serving stories260K \(llama, wasm backend, context 512, KV cache \d+ MiB f32 for 4096 positions, 8 requests at once\)/);
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: `{
  "messages": [
    {"role": "user", "content": "Hello!"}
  ]
}`,
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.object).toBe('chat.completion');
    expect(body.usage.total_tokens).toBeLessThanOrEqual(512);
  });

  it("answers the seed's second (malformed) curl example with a 400", async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: `{
  "messages": [
    {"role": "user", "content": "Hello!"}, "logprobs": true, "top_logprobs": 5
  ]
}`,
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('invalid_json');
  });

  it('serves the openai SDK as in the seed Python example (model "null"/"default")', async () => {
    const c = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'null', maxRetries: 0 });
    const stream = await c.chat.completions.create({ model: 'null', messages: [{ role: 'system', content: "I'm a helpful AI assistant." }, { role: 'user', content: '把李白的静夜思改写为现代诗' }], stream: true, max_tokens: 20 });
    let n = 0;
    for await (const chunk of stream) if (chunk.choices[0]?.delta) n++;
    expect(n).toBeGreaterThan(2);
    const r = await c.completions.create({ model: 'default', prompt: '', max_tokens: 64, temperature: 0 });
    expect(storiesReference().startsWith(r.choices[0]!.text)).toBe(true);
  });

  it("POST /tokenize (vLLM's): a conversation's and a prompt's exact token count, with the context length", async () => {
    const post = (path: string, body: unknown) => fetch(`${server.url}${path}`, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const messages = [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Tell me about the dog.' },
      { role: 'assistant', content: 'The dog was happy and ran in the park.' },
      { role: 'user', content: 'And the cat?' },
    ];
    const counted = await post('/tokenize', { messages });
    expect(counted.status).toBe(200);
    expect(counted.body.max_model_len).toBe(512);
    expect(counted.body.tokens).toHaveLength(counted.body.count);
    // The count is what a chat request with these messages is charged.
    const chat = await post('/v1/chat/completions', { messages, max_tokens: 1 });
    expect(chat.body.usage.prompt_tokens).toBe(counted.body.count);
    const prompt = await post('/tokenize', { prompt: 'Once upon a time' });
    const completion = await post('/v1/completions', { prompt: 'Once upon a time', max_tokens: 1 });
    expect(prompt.body.count).toBe(completion.body.usage.prompt_tokens);
    // Past the context: still counted (that is what a client needs to trim), where a chat request fails.
    const long = [{ role: 'user', content: 'the dog ran. '.repeat(200) }];
    const over = await post('/tokenize', { messages: long });
    expect(over.body.count).toBeGreaterThan(512);
    expect((await post('/v1/chat/completions', { messages: long })).body.error.code).toBe('context_length_exceeded');
    expect(await post('/tokenize', {})).toMatchObject({ status: 400, body: { error: { code: 'missing_required_parameter' } } });
    expect(await post('/tokenize', { prompt: 'x', model: 'other' })).toMatchObject({ status: 404, body: { error: { code: 'model_not_found' } } });
  });

  it('streams with chunked transfer encoding', async () => {
    const { headers, body } = await new Promise<{ headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const u = new URL(`${server.url}/v1/completions`);
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve({ headers: res.headers, body: b }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ prompt: 'Once', max_tokens: 8, stream: true }));
    });
    expect(headers['transfer-encoding']).toBe('chunked');
    expect(headers['content-type']).toMatch(/text\/event-stream/);
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('a client that disconnects mid-stream frees the engine at once', async () => {
    const ac = new AbortController();
    const res = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 500, stream: true, temperature: 0 }), signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    const t0 = performance.now();
    const r = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 10, temperature: 0 }) });
    expect(storiesReference().startsWith((await r.json()).choices[0].text)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});

/** VmRSS of a process in MiB (Linux). */
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

describe('webinfer serve under load', () => {
  it('100 concurrent clients, a fifth of them disconnecting mid-stream: every other stream completes, nothing errs, memory stays flat', async () => {
    const s = await start(['--model', 'models/stories260K.gguf', '--port', '0', '--max-model-len', '512', '--max-num-seqs', '16']);
    try {
      const client = (i: number) =>
        new Promise<{ done: boolean; finish?: string; error?: string; dropped: boolean }>((resolve, reject) => {
          const chat = i % 2 === 0;
          const body = JSON.stringify(
            chat
              ? { messages: [{ role: 'user', content: `Tell story number ${i}.` }], max_tokens: 24 + (i % 7), stream: true, temperature: i % 3 === 0 ? 0 : 0.8, seed: i }
              : { prompt: `Once upon a time ${i}`, max_tokens: 24 + (i % 5), stream: true, temperature: 0 },
          );
          const drop = i % 5 === 4;
          const req = request(`${s.url}/v1/${chat ? 'chat/completions' : 'completions'}`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
            let text = '';
            let events = 0;
            res.setEncoding('utf8');
            res.on('data', (d: string) => {
              text += d;
              events += (d.match(/^data: /gm) ?? []).length;
              // Disconnect after a few events: the server must end that sequence cleanly.
              if (drop && events >= 3) {
                req.destroy();
                resolve({ done: false, dropped: true });
              }
            });
            res.on('end', () => {
              const finish = /"finish_reason":"(\w+)"/.exec(text)?.[1];
              resolve({ done: text.trimEnd().endsWith('data: [DONE]'), finish, error: /"error"/.test(text) ? text : undefined, dropped: false });
            });
            res.on('error', (e) => (drop ? resolve({ done: false, dropped: true }) : reject(e)));
          });
          req.on('error', (e) => (drop ? resolve({ done: false, dropped: true }) : reject(e)));
          req.end(body);
        });
      const wave = async () => {
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => client(i)));
        for (const [i, r] of results.entries()) {
          if (r.dropped) continue;
          expect(r.error, `client ${i}`).toBeUndefined();
          expect(r.done, `client ${i}`).toBe(true);
          expect(['stop', 'length'], `client ${i}`).toContain(r.finish);
        }
        expect(results.filter((r) => !r.dropped).length).toBe(80);
      };
      await wave();
      const after1 = rssMiB(s.proc.pid!);
      await wave();
      await wave();
      const after3 = rssMiB(s.proc.pid!);
      // Two more waves of 100 clients add (almost) nothing: no sequence, block or buffer is left behind.
      expect(after3 - after1).toBeLessThan(40);
      // And the engine answers exactly as before.
      const r = await fetch(`${s.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 10, temperature: 0 }) });
      expect(storiesReference().startsWith((await r.json()).choices[0].text)).toBe(true);
    } finally {
      s.proc.kill('SIGKILL');
    }
  }, 300_000);
});

describe('shutdown and arguments', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s stops the server cleanly with exit code 0, even mid-stream', async (signal) => {
    const s = await start(['--model', 'models/stories260K.gguf', '--port', '0']);
    const res = await fetch(`${s.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: 400, stream: true }) });
    await res.body!.getReader().read();
    s.proc.kill(signal);
    expect(await exited(s.proc)).toBe(0);
    expect(s.output()).toMatch(new RegExp(`${signal}, shutting down`));
  });

  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((r) => {
      const p = spawn(process.execPath, [join(ROOT, 'bin', 'webinfer.js'), ...args], { cwd: ROOT });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (code) => r({ code, out, err }));
    });

  it('bad arguments exit with 2 and the help on stderr; a missing model with 1', async () => {
    expect(await run(['serve'])).toMatchObject({ code: 2, err: expect.stringMatching(/--model is required[\s\S]*usage: webinfer serve/) });
    expect(await run(['serve', '--model', 'x.gguf', '--port', 'abc'])).toMatchObject({ code: 2, err: expect.stringMatching(/--port must be an integer/) });
    expect(await run(['serve', '--model', 'nope.gguf', '--port', '0'])).toMatchObject({ code: 1, err: expect.stringMatching(/does not exist/) });
    expect(await run(['serve', '--model', 'x.gguf', '--max-num-seqs', '0'])).toMatchObject({ code: 2, err: expect.stringMatching(/--max-num-seqs must be an integer from 1/) });
    expect(await run(['serve', '--model', 'x.gguf', '--kv-cache-bytes', '12Q'])).toMatchObject({ code: 2, err: expect.stringMatching(/--kv-cache-bytes must be a size in bytes/) });
    expect(await run(['serve', '--model', 'x.gguf', '--kv-cache-dtype', 'q8'])).toMatchObject({ code: 2, err: expect.stringMatching(/--kv-cache-dtype must be f16 or f32/) });
    // A cache too small for one request at full context: the load fails with the sizes, exit 1.
    expect(await run(['serve', '--model', 'models/stories260K.gguf', '--port', '0', '--max-model-len', '512', '--kv-cache-bytes', '1K'])).toMatchObject({ code: 1, err: expect.stringMatching(/could not start: .*kvCacheBytes 1024 holds 0 positions, fewer than maxModelLen \(512\)/) });
    const unknownFlag = await run(['serve', '--model', 'models/stories260K.gguf', '--prot', '0']);
    expect(unknownFlag).toMatchObject({ code: 2, out: '' });
    expect(unknownFlag.err).toMatch(/^webinfer: Unknown option '--prot'\n\nusage: webinfer serve/);
    expect(unknownFlag.err).toContain('--port N');
    expect(await run(['launch'])).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command 'launch'[\s\S]*commands:\n  serve/) });
    expect(await run(['--verbose'])).toMatchObject({ code: 2, err: expect.stringMatching(/unknown flag '--verbose'/) });
  });

  it('--help and -h: a line per flag with what it does and its default, on stdout, exit 0', async () => {
    for (const args of [['serve', '--help'], ['serve', '-h'], ['help', 'serve'], ['serve', '--model', 'x.gguf', '--help']]) {
      const r = await run(args);
      expect(r, args.join(' ')).toMatchObject({ code: 0, err: '' });
      expect(r.out).toMatch(/^usage: webinfer serve --model MODEL/);
      // Every flag the parser accepts is described, each on its own line.
      for (const flag of ['model', 'port', 'host', 'max-model-len', 'served-model-name', 'backend', 'threads', 'max-num-seqs', 'kv-cache-bytes', 'kv-cache-dtype', 'enable-logprob', 'no-jump-forward', 'hub-url', 'cache-dir', 'help'])
        expect(r.out, flag).toMatch(new RegExp(`^ +(-\\w, )?--${flag}\\b.* \\w+`, 'm'));
      expect(r.out).toMatch(/--port N +port to listen on; 0 picks a free one \(default: 8188\)$/m);
      expect(r.out).toMatch(/--host HOST +.*\(default: 127\.0\.0\.1\)$/m);
    }
    for (const args of [[], ['--help'], ['-h']]) {
      const r = await run(args);
      expect(r, args.join(' ')).toMatchObject({ code: 0, err: '' });
      expect(r.out).toMatch(/^webinfer \d+\.\d+\.\d+: /);
      expect(r.out).toMatch(/^ +serve +serve a model over HTTP/m);
      expect(r.out).toMatch(/^ +-v, --version +print the version/m);
    }
  });

  it('--version prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-v']) expect(await run([flag])).toEqual({ code: 0, out: `${version}\n`, err: '' });
  });
});

describe('webinfer serve --model hf:…', () => {
  it('downloads a Hub model into --cache-dir with progress on stderr, then serves it from the cache with the Hub gone', async () => {
    const { startFakeHub } = await import('./helpers/hub-repos.js');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const hub = await startFakeHub();
    const cache = mkdtempSync(join(tmpdir(), 'webinfer-cli-cache-'));
    const args = ['--model', 'hf:webinfer/stories260K-GGUF', '--hub-url', hub.url, '--cache-dir', cache, '--port', '0', '--max-model-len', '256'];
    try {
      const first = await start(args);
      expect(first.output()).toMatch(/webinfer: downloading: 1\.1 of 1\.1 MB/);
      expect(first.output()).toMatch(/serving webinfer\/stories260K-GGUF \(llama, wasm backend, context 256, KV cache \d+ MiB f32 for \d+ positions, 8 requests at once\)/);
      first.proc.kill('SIGTERM');
      await exited(first.proc);
      hub.down = true;
      const again = await start(args);
      expect(again.output()).not.toMatch(/downloading/);
      const body = await (await fetch(`${again.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'hf:webinfer/stories260K-GGUF', prompt: '', max_tokens: 40, temperature: 0 }) })).json();
      expect(storiesReference().startsWith(body.choices[0].text)).toBe(true);
      again.proc.kill('SIGTERM');
      await exited(again.proc);
    } finally {
      await hub.close();
      rmSync(cache, { recursive: true, force: true });
    }
  }, 90_000);
});
