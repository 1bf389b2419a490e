import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SHARED = join(ROOT, '..', 'shared');
export const STORIES_GGUF = join(ROOT, 'models', 'stories260K.gguf');
export const STORIES_DIR = join(SHARED, 'models', 'stories260K');
export const FIXTURES = join(SHARED, 'fixtures');
export const GENERATED = join(ROOT, 'test', '.generated');

/** The published greedy output of stories260K, read from the shared README (the truth, not a copy). */
export function storiesReference(): string {
  const readme = readFileSync(join(STORIES_DIR, 'README.md'), 'utf8');
  const m = /prints:\n\n```\n([\s\S]*?)\n```/.exec(readme);
  if (!m) throw new Error('reference text not found in the stories260K README');
  return m[1]!;
}
