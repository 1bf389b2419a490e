/** The repositories the fake Hub serves in the tests: the fixture models under Hub-like names. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FakeHub } from './fake-hub.js';
import { GENERATED, STORIES_GGUF } from './paths.js';

function dirFiles(dir: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p).split('\\').join('/')] = readFileSync(p);
    }
  };
  walk(dir);
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);
export const PRIVATE_TOKEN = 'hf_testtoken_only_for_the_fake_hub';

export async function startFakeHub(): Promise<FakeHub> {
  const hub = await new FakeHub().start();
  const g = (f: string) => readFileSync(join(GENERATED, f));
  hub.addRepo('webinfer/stories260K-GGUF', { 'README.md': text('# stories260K\n'), '.gitattributes': text('*.gguf filter=lfs\n'), 'stories260K.gguf': readFileSync(STORIES_GGUF) });
  hub.addRepo('webinfer/tiny-llama-GGUF', {
    'README.md': text('# tiny llama, random weights\n'),
    'tiny-llama-F32.gguf': g('llama-f32.gguf'),
    'tiny-llama-Q8_0.gguf': g('llama-q8_0.gguf'),
    'tiny-llama-Q4_0.gguf': g('llama-q4_0.gguf'),
  });
  hub.addRepo('webinfer/tiny-llama', dirFiles(join(GENERATED, 'llama-hf-sharded-f16')));
  hub.addRepo('webinfer/tiny-llama-ONNX', dirFiles(join(GENERATED, 'onnx', 'llama-external-data')));
  hub.addRepo('webinfer/private-GGUF', { 'stories260K.gguf': readFileSync(STORIES_GGUF) }, { token: PRIVATE_TOKEN });
  return hub;
}
