/** models/stories260K.gguf is a standard GGUF: llama.cpp (wllama) loads it and prints the reference text. */
import { expect, it } from 'vitest';
import { storiesReference } from '../helpers/paths.js';
import { useTestPage } from '../helpers/browser.js';

const t = useTestPage('/test/browser/pages/wllama.html', 'wllamaTest');


it('llama.cpp decodes the stories260K reference text greedily from our GGUF', async () => {
  const text = await t.page.evaluate(() => (window as any).wllamaTest.greedy(256));
  if (text !== storiesReference()) console.log(t.log.join('\n'));
  // llama.cpp keeps the leading space of the first SentencePiece word; webinfer strips it after BOS, as llama2.c does.
  expect(text.replace(/^ /, '')).toBe(storiesReference());
}, 180_000);
