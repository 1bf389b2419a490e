import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const STORIES_GGUF = join(ROOT, 'models', 'stories260K.gguf');
/** Copies of ../shared's files, kept in the repository so a plain clone tests itself (test/fixtures/README.md). */
export const STORIES_DIR = join(ROOT, 'test', 'fixtures', 'stories260K');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'real');
export const GENERATED = join(ROOT, 'test', '.generated');

/** The published greedy output of stories260K, read from the model's README (as published with it, not retyped). */
export function storiesReference(): string {
  const readme = readFileSync(join(STORIES_DIR, 'README.md'), 'utf8');
  const m = /prints:\n\n```\n([\s\S]*?)\n```/.exec(readme);
  if (!m) throw new Error('reference text not found in the stories260K README');
  return m[1]!;
}
