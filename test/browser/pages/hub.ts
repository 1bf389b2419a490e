/**
 * Test page: Hub models in a real browser — the download in the engine's Web Worker, the cache in
 * OPFS or the Cache API. The test drives it through `window.hubTest`; the fake Hub's URL comes in
 * the query string.
 */
import { clearCache, createFetch, deleteCachedModel, listCachedModels, type CreateFetchOptions, type LoadProgress } from '../../../src/index.js';

const hubUrl = new URLSearchParams(location.search).get('hub')!;
type Options = Partial<CreateFetchOptions> & { abortAfterBytes?: number; maxTokens?: number };

async function load(model: string, o: Options = {}) {
  const events: LoadProgress[] = [];
  const abort = new AbortController();
  const { abortAfterBytes, maxTokens = 60, ...rest } = o;
  const f = createFetch({
    model,
    hubUrl,
    signal: abort.signal,
    download: { pieceBytes: 128 * 1024, retryDelayMs: 20 },
    ...rest,
    onProgress: (p) => {
      events.push(p);
      if (abortAfterBytes !== undefined && (p.download?.loadedBytes ?? 0) >= abortAfterBytes) abort.abort();
    },
  });
  (window as unknown as { current: typeof f }).current = f;
  try {
    const info = await f.ready;
    const r = await f('http://webinfer.local/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: '', max_tokens: maxTokens, temperature: 0 }) });
    const body = (await r.json()) as { choices: { text: string }[] };
    return { ok: true, info, text: body.choices[0]!.text, events: summary(events) };
  } catch (e) {
    return { ok: false, error: (e as Error).message, name: (e as Error).name, events: summary(events) };
  } finally {
    await f.dispose();
  }
}

function summary(events: LoadProgress[]) {
  const downloads = events.filter((e) => e.download);
  return {
    count: events.length,
    downloads: downloads.length,
    withSpeed: downloads.filter((e) => e.download!.bytesPerSecond > 0 && e.download!.etaSeconds !== undefined).length,
    last: downloads.at(-1)?.download,
    lastText: events.at(-1)?.text,
  };
}

/** Starts a load and leaves it running (the test closes the tab under it). */
function start(model: string, o: Options = {}) {
  const f = createFetch({ model, hubUrl, download: { pieceBytes: 128 * 1024, retryDelayMs: 20 }, ...o, onProgress: (p) => ((window as unknown as { loaded: number }).loaded = p.download?.loadedBytes ?? 0) });
  f.ready.catch(() => {});
}

const api = {
  load,
  start,
  list: (cache?: CreateFetchOptions['cache']) => listCachedModels({ cache }),
  remove: (id: string, cache?: CreateFetchOptions['cache']) => deleteCachedModel(id, { cache }),
  clear: (cache?: CreateFetchOptions['cache']) => clearCache({ cache }),
  estimate: () => navigator.storage.estimate(),
};
(window as unknown as { hubTest: typeof api }).hubTest = api;
