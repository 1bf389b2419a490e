/**
 * The chat demo: a model behind createFetch, used through the official openai SDK exactly as a
 * page would use a remote OpenAI-compatible server. Models: the embedded stories260K, a file or
 * folder from the disk (kept in the cache), a Hub name or URL (downloaded once, then cached).
 */
import OpenAI from 'openai';
import { createFetch, deleteCachedModel, listCachedModels, storeLocalModel, type CreateFetchOptions, type LoadProgress, type ModelInfo, type WebinferFetch } from '../src/index.js';
import modelUrl from '../models/stories260K.gguf?url';
import { renderMarkdown } from './render.js';
import { deleteConversation, listConversations, saveConversation, type Conversation, type Message } from './store.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const value = (id: string) => $<HTMLInputElement>(id).value;
const send = $<HTMLButtonElement>('send');
const stop = $<HTMLButtonElement>('stop');
const messagesEl = $('messages');

// ---- the model ----------------------------------------------------------------------------

let engine: WebinferFetch | undefined;
let client: OpenAI | undefined;
let info: ModelInfo | undefined;
let current: { label: string; model: CreateFetchOptions['model'] } = { label: 'stories260K', model: modelUrl };
let loadSeq = 0;

const mb = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 2 : 0)} MB`;
function progressText(p: LoadProgress): string {
  const d = p.download;
  if (!d) return `${p.text} (${mb(p.loadedBytes)})`;
  const speed = d.bytesPerSecond > 0 ? ` · ${mb(d.bytesPerSecond)}/s` : '';
  const eta = d.etaSeconds !== undefined && d.etaSeconds > 0 ? ` · ${Math.ceil(d.etaSeconds)} s left` : '';
  return `downloading ${mb(d.loadedBytes)} of ${mb(d.totalBytes)}${speed}${eta}`;
}

async function loadModel(label: string, model: CreateFetchOptions['model']): Promise<void> {
  const seq = ++loadSeq;
  current = { label, model };
  send.disabled = true;
  document.body.dataset.ready = 'false';
  const previous = engine;
  engine = undefined;
  await previous?.dispose();
  $('model-status').textContent = `loading ${label}…`;
  $<HTMLProgressElement>('load-progress').value = 0;
  const f = createFetch({
    model,
    // The embedded file's built name carries a content hash: name the model after itself.
    modelId: model === modelUrl ? 'stories260K' : undefined,
    backend: value('backend') as CreateFetchOptions['backend'],
    hubUrl: value('hub-url').trim() || undefined,
    maxModelLen: 2048,
    onProgress: (p) => {
      if (seq !== loadSeq || info?.id === label) return; // reports still in flight after `ready`
      if (p.progress !== undefined) $<HTMLProgressElement>('load-progress').value = p.progress;
      $('load-text').textContent = progressText(p);
    },
  });
  engine = f;
  try {
    info = await f.ready;
    if (seq !== loadSeq) return;
    client = new OpenAI({ baseURL: 'http://webinfer.local/v1', apiKey: 'unused', dangerouslyAllowBrowser: true, fetch: f, maxRetries: 0 });
    $<HTMLProgressElement>('load-progress').value = 1;
    $('model-status').textContent = `ready: ${info.id}`;
    $('load-text').textContent = `${info.backend} backend${info.description ? `: ${info.description}` : ''} · context ${info.maxModelLen}${info.fromCache ? ' · from the cache' : ''}`;
    send.disabled = false;
    document.body.dataset.ready = 'true';
    document.body.dataset.backend = info.backend;
  } catch (e) {
    if (seq !== loadSeq) return;
    $('model-status').textContent = `failed to load ${label}`;
    $('load-text').textContent = (e as Error).message;
    $('load-text').classList.add('error');
    document.body.dataset.ready = 'failed';
    return;
  } finally {
    void refreshCache();
  }
  $('load-text').classList.remove('error');
}

async function refreshCache(): Promise<void> {
  const list = $('cache-list');
  const models = await listCachedModels().catch(() => []);
  list.replaceChildren(
    ...models.map((m) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = `${m.id} — ${mb(m.size)}${m.complete ? '' : ` (${Math.round((m.storedBytes / m.size) * 100)} % downloaded)`}`;
      const load = document.createElement('button');
      load.textContent = m.complete ? 'Load' : 'Resume';
      load.onclick = () => void loadModel(m.id, m.id);
      const del = document.createElement('button');
      del.textContent = 'Delete';
      del.setAttribute('aria-label', `Delete ${m.id}`);
      del.onclick = async () => {
        await deleteCachedModel(m.id);
        await refreshCache();
      };
      li.append(name, load, del);
      return li;
    }),
  );
  if (!models.length) list.innerHTML = '<li class="hint">none yet</li>';
  document.body.dataset.cached = String(models.length);
}

/** A picked or dropped file set: one GGUF (or a split one's parts), or a model folder. Kept in the cache, then loaded from it. */
async function loadLocal(files: Record<string, File>, folder?: string): Promise<void> {
  const names = Object.keys(files);
  if (!names.length) return;
  const label = folder ?? (names.length === 1 ? names[0]! : files[names[0]!]!.webkitRelativePath.split('/')[0] || 'model folder');
  $('model-status').textContent = `keeping ${label} in the cache…`;
  try {
    const id = await storeLocalModel(label, files);
    await loadModel(id, id);
  } catch (e) {
    // Storage refused (private mode, full): run it from the picked files directly.
    $('load-text').textContent = `not kept in the cache: ${(e as Error).message}`;
    await loadModel(label, files);
  }
}

function fileMap(list: FileList | File[]): Record<string, File> {
  const out: Record<string, File> = {};
  for (const f of Array.from(list)) out[f.webkitRelativePath ? f.webkitRelativePath.split('/').slice(1).join('/') : f.name] = f;
  return out;
}

/** The files of a dropped folder, by their paths inside it. */
async function entryFiles(entry: FileSystemEntry, path = ''): Promise<[string, File][]> {
  if (entry.isFile) return [[path + entry.name, await new Promise<File>((r, j) => (entry as FileSystemFileEntry).file(r, j))]];
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const out: [string, File][] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((r, j) => reader.readEntries(r, j));
    if (!batch.length) return out;
    for (const e of batch) out.push(...(await entryFiles(e, `${path}${entry.name}/`)));
  }
}

$('load-embedded').onclick = () => void loadModel('stories260K', modelUrl);
$<HTMLFormElement>('hub-form').onsubmit = (e) => {
  e.preventDefault();
  const id = value('hub-id').trim();
  if (id) void loadModel(id, /^(hf:|https?:)/.test(id) ? id : `hf:${id}`);
};
$<HTMLInputElement>('file-input').onchange = (e) => void loadLocal(fileMap((e.target as HTMLInputElement).files!));
$<HTMLInputElement>('folder-input').onchange = (e) => void loadLocal(fileMap((e.target as HTMLInputElement).files!));
$('backend').onchange = () => void loadModel(current.label, current.model);

const overlay = $('drop-overlay');
document.addEventListener('dragover', (e) => {
  e.preventDefault();
  overlay.hidden = false;
});
document.addEventListener('dragleave', (e) => {
  if (!e.relatedTarget) overlay.hidden = true;
});
document.addEventListener('drop', async (e) => {
  e.preventDefault();
  overlay.hidden = true;
  const items = Array.from(e.dataTransfer?.items ?? []);
  const dir = items.map((i) => i.webkitGetAsEntry?.()).find((en) => en?.isDirectory);
  if (dir) {
    const files = Object.fromEntries((await entryFiles(dir)).map(([p, f]) => [p.replace(/^[^/]+\//, ''), f]));
    return loadLocal(files, dir.name);
  }
  if (e.dataTransfer?.files.length) await loadLocal(fileMap(e.dataTransfer.files));
});

// ---- conversations ------------------------------------------------------------------------

let conversation: Conversation = { id: crypto.randomUUID(), title: 'New chat', messages: [], updatedAt: Date.now() };

function messageEl(m: Message): HTMLElement {
  const el = document.createElement('div');
  el.className = `message ${m.role}`;
  if (m.role === 'user') el.textContent = m.content;
  else {
    const thinking = document.createElement('details');
    thinking.className = 'thinking';
    thinking.innerHTML = '<summary>Thinking</summary>';
    const reasoning = document.createElement('div');
    thinking.append(reasoning);
    const content = document.createElement('div');
    content.className = 'content';
    const stats = document.createElement('div');
    stats.className = 'stats';
    el.append(thinking, content, stats);
    paint(el, m);
  }
  return el;
}

/** Re-renders an assistant message from its text so far (markdown needs the whole text). */
function paint(el: HTMLElement, m: Message, streaming = false): void {
  const thinking = el.querySelector<HTMLDetailsElement>('.thinking')!;
  thinking.hidden = !m.reasoning;
  thinking.querySelector('div')!.textContent = m.reasoning ?? '';
  if (streaming && m.reasoning && !m.content) thinking.open = true;
  el.querySelector('.content')!.innerHTML = renderMarkdown(m.content);
  el.querySelector('.stats')!.textContent = m.stats ?? '';
}

function showConversation(): void {
  messagesEl.replaceChildren(...conversation.messages.filter((m) => m.role !== 'system').map(messageEl));
  messagesEl.scrollTop = messagesEl.scrollHeight;
  void refreshConversations();
}

async function refreshConversations(): Promise<void> {
  const list = await listConversations().catch(() => []);
  $('conversations').replaceChildren(
    ...list.map((c) => {
      const li = document.createElement('li');
      if (c.id === conversation.id) li.className = 'current';
      const open = document.createElement('button');
      open.className = 'open';
      open.textContent = c.title;
      open.onclick = () => {
        conversation = c;
        showConversation();
      };
      const del = document.createElement('button');
      del.textContent = '×';
      del.setAttribute('aria-label', `Delete conversation ${c.title}`);
      del.onclick = async () => {
        await deleteConversation(c.id);
        if (c.id === conversation.id) newChat();
        else void refreshConversations();
      };
      li.append(open, del);
      return li;
    }),
  );
}

function newChat(): void {
  conversation = { id: crypto.randomUUID(), title: 'New chat', messages: [], updatedAt: Date.now() };
  showConversation();
}
$('new-chat').onclick = newChat;

// ---- sending ------------------------------------------------------------------------------

let abort: AbortController | undefined;

async function* answer(history: Message[], signal: AbortSignal): AsyncGenerator<{ content?: string; reasoning?: string; tokens?: number }> {
  const common = { model: 'default', temperature: Number(value('temperature')), top_p: Number(value('top-p')), max_tokens: Number(value('max-tokens')), stream: true as const, stream_options: { include_usage: true } };
  if (value('mode') === 'story') {
    const stream = await client!.completions.create({ ...common, prompt: history.at(-1)!.content }, { signal });
    for await (const c of stream) yield { content: c.choices[0]?.text, tokens: c.usage?.completion_tokens };
    return;
  }
  const system = value('system-prompt').trim();
  const messages = [...(system ? [{ role: 'system' as const, content: system }] : []), ...history.map((m) => ({ role: m.role, content: m.content }))];
  const stream = await client!.chat.completions.create({ ...common, messages }, { signal });
  for await (const c of stream) {
    const delta = c.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
    yield { content: delta?.content ?? undefined, reasoning: delta?.reasoning_content, tokens: c.usage?.completion_tokens };
  }
}

$<HTMLFormElement>('composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = value('prompt');
  if (!client || !text.trim()) return;
  const user: Message = { role: 'user', content: text };
  const reply: Message = { role: 'assistant', content: value('mode') === 'story' ? text : '' };
  conversation.messages.push(user, reply);
  if (conversation.title === 'New chat') conversation.title = text.slice(0, 40);
  messagesEl.append(messageEl(user));
  const el = messageEl(reply);
  messagesEl.append(el);
  $<HTMLTextAreaElement>('prompt').value = '';
  abort = new AbortController();
  send.disabled = true;
  stop.disabled = false;
  const t0 = performance.now();
  let tFirst = 0;
  let pieces = 0;
  let tokens: number | undefined;
  let frame = 0;
  const stats = (note = '') => {
    const n = tokens ?? pieces;
    const seconds = (performance.now() - tFirst) / 1000;
    reply.stats = `${n} tokens · ${n > 1 && seconds > 0 ? ((n - 1) / seconds).toFixed(1) : '–'} tokens/s · first token ${tFirst ? (tFirst - t0).toFixed(0) : '–'} ms${note}`;
  };
  try {
    for await (const d of answer(conversation.messages.slice(0, -1), abort.signal)) {
      if (d.tokens !== undefined) tokens = d.tokens;
      if (!d.content && !d.reasoning) continue;
      if (!tFirst) tFirst = performance.now();
      pieces++;
      reply.content += d.content ?? '';
      if (d.reasoning) reply.reasoning = (reply.reasoning ?? '') + d.reasoning;
      stats();
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        paint(el, reply, true);
        messagesEl.scrollTop = messagesEl.scrollHeight;
      });
    }
    // The SDK ends a stream quietly when its signal aborts.
    stats(abort.signal.aborted ? ' · stopped' : '');
  } catch (err) {
    if (abort.signal.aborted) stats(' · stopped');
    else reply.stats = `error: ${(err as Error).message}`;
  } finally {
    cancelAnimationFrame(frame);
    paint(el, reply);
    send.disabled = false;
    stop.disabled = true;
    await saveConversation(conversation).catch(() => {});
    void refreshConversations();
    document.body.dataset.done = String(Number(document.body.dataset.done ?? 0) + 1);
  }
});
$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    $<HTMLFormElement>('composer').requestSubmit();
  }
});
stop.addEventListener('click', () => abort?.abort());

// ---- offline mode -------------------------------------------------------------------------

async function setOffline(on: boolean): Promise<void> {
  const status = $('offline-status');
  if (!('serviceWorker' in navigator)) return void (status.textContent = 'Service Workers are not available here (https or localhost needed).');
  if (!on) {
    for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
    status.textContent = 'off: the app needs the network to open';
    return;
  }
  await navigator.serviceWorker.register(new URL('./sw.js', location.href));
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
  const urls = [location.href, ...performance.getEntriesByType('resource').map((r) => r.name).filter((u) => new URL(u).origin === location.origin)];
  navigator.serviceWorker.controller!.postMessage({ type: 'keep', urls });
  status.textContent = 'on: this app opens without a network';
  document.body.dataset.offlineReady = 'true';
}
$<HTMLInputElement>('offline').onchange = (e) => void setOffline((e.target as HTMLInputElement).checked);

// ---- start --------------------------------------------------------------------------------

(async () => {
  const saved = await listConversations().catch(() => []);
  if (saved[0]) conversation = saved[0];
  showConversation();
  void setOffline($<HTMLInputElement>('offline').checked).catch((e: Error) => ($('offline-status').textContent = `not available: ${e.message}`));
  await loadModel('stories260K', modelUrl);
})();
