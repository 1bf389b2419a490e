/**
 * The chat demo: a model behind createFetch, used through the official openai SDK exactly as a
 * page would use a remote OpenAI-compatible server. Models: the embedded stories260K, a file or
 * folder from the disk (kept in the cache), a Hub name or URL (downloaded once, then cached).
 */
import OpenAI from 'openai';
// The ort backend (ONNX models from the Hub or a picked folder): the demo offers every backend.
import '../src/ort.js';
import { createFetch, deleteCachedModel, listCachedModels, storeLocalModel, type CreateFetchOptions, type LoadProgress, type ModelInfo, type WebinferFetch } from '../src/index.js';
import modelUrl from '../models/stories260K.gguf?url';
import { renderMarkdown } from './render.js';
import { deleteConversation, listConversations, saveConversation, type Conversation, type Message, type Mode } from './store.js';

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
let generating = false;

const mb = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 2 : 0)} MB`;
function progressText(p: LoadProgress): string {
  const d = p.download;
  if (!d) return `${p.text} (${mb(p.loadedBytes)})`;
  const speed = d.bytesPerSecond > 0 ? ` · ${mb(d.bytesPerSecond)}/s` : '';
  const eta = d.etaSeconds !== undefined && d.etaSeconds > 0 ? ` · ${Math.ceil(d.etaSeconds)} s left` : '';
  return `downloading ${mb(d.loadedBytes)} of ${mb(d.totalBytes)}${speed}${eta}`;
}

function updateSend(): void {
  send.disabled = !client || generating;
}

function describeModel(m: ModelInfo): string {
  return `${m.backend} backend${m.description ? `: ${m.description}` : ''} · context ${m.maxModelLen}${m.fromCache ? ' · from the cache' : ''}`;
}

/**
 * Loads a model beside the one in use, which answers until the new one is ready: a load that
 * fails (a wrong Hub name, no network) leaves the working model, and Send, as they were.
 */
async function loadModel(label: string, model: CreateFetchOptions['model']): Promise<void> {
  const seq = ++loadSeq;
  $('load-error').hidden = true;
  $('model-status').textContent = `loading ${label}…`;
  $('load-text').textContent = '';
  $<HTMLProgressElement>('load-progress').value = 0;
  document.body.dataset.loading = 'true';
  let f: WebinferFetch | undefined;
  try {
    f = createFetch({
      model,
      // The embedded file's built name carries a content hash: name the model after itself.
      modelId: model === modelUrl ? 'stories260K' : undefined,
      backend: value('backend') as CreateFetchOptions['backend'],
      hubUrl: value('hub-url').trim() || undefined,
      maxModelLen: 2048,
      onProgress: (p) => {
        if (seq !== loadSeq || document.body.dataset.loading !== 'true') return; // reports still in flight after `ready`
        if (p.progress !== undefined) $<HTMLProgressElement>('load-progress').value = p.progress;
        $('load-text').textContent = progressText(p);
      },
    });
    const loaded = await f.ready;
    if (seq !== loadSeq) return void f.dispose();
    const previous = engine;
    engine = f;
    info = loaded;
    current = { label, model };
    client = new OpenAI({ baseURL: 'http://webinfer.local/v1', apiKey: 'unused', dangerouslyAllowBrowser: true, fetch: f, maxRetries: 0 });
    void previous?.dispose();
    // An empty conversation takes the new model's mode; one under way keeps its own.
    if (!conversation.messages.length) conversation.mode = undefined;
    showMode();
  } catch (e) {
    void f?.dispose();
    if (seq !== loadSeq) return;
    const message = (e as Error).message;
    $('load-error').textContent = `Could not load ${label}: ${message}${info ? ` · still using ${info.id}` : ''}`;
    $('load-error').hidden = false;
    document.body.dataset.loadFailed = String(Number(document.body.dataset.loadFailed ?? 0) + 1);
  } finally {
    if (seq === loadSeq) {
      document.body.dataset.loading = 'false';
      showModel();
    }
    void refreshCache();
  }
}

function showModel(): void {
  $<HTMLProgressElement>('load-progress').value = info ? 1 : 0;
  $('model-status').textContent = info ? `ready: ${info.id}` : 'no model loaded';
  $('load-text').textContent = info ? describeModel(info) : '';
  $('model-chip').textContent = info ? `${info.id} · ${info.backend}` : 'no model';
  $('model-chip').title = info ? describeModel(info) : '';
  document.body.dataset.ready = String(!!info);
  if (info) document.body.dataset.backend = info.backend;
  updateSend();
}

async function refreshCache(): Promise<void> {
  const list = $('cache-list');
  const models = await listCachedModels().catch(() => []);
  list.replaceChildren(
    ...models.map((m) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'name';
      const id = document.createElement('span');
      id.className = 'id';
      id.textContent = m.id;
      id.title = m.id;
      const sep = document.createElement('span');
      sep.className = 'sep';
      sep.textContent = ' — ';
      const size = document.createElement('span');
      size.className = 'size';
      size.textContent = `${mb(m.size)}${m.complete ? '' : ` (${Math.round((m.storedBytes / m.size) * 100)} % downloaded)`}`;
      name.append(id, sep, size);
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

const NEW_TITLE = 'New chat';
let conversation: Conversation = { id: crypto.randomUUID(), title: NEW_TITLE, messages: [], updatedAt: Date.now() };

/** A conversation's title: its first message's first line, cut at a word. */
function titleFrom(text: string): string {
  const line = text.trim().split('\n')[0]!.replace(/\s+/g, ' ');
  if (line.length <= 48) return line || NEW_TITLE;
  const cut = line.slice(0, 48);
  const space = cut.lastIndexOf(' ');
  return `${(space > 24 ? cut.slice(0, space) : cut).replace(/[\s,.;:!?-]+$/, '')}…`;
}

/** The mode a model suits: chat through its own template, or story (plain completion) when it has none. */
const modelMode = (): Mode => (info && !info.chatTemplate ? 'story' : 'chat');
const modeOf = (c: Conversation): Mode => c.mode ?? modelMode();

function showMode(): void {
  const mode = modeOf(conversation);
  $<HTMLSelectElement>('mode').value = mode;
  document.body.dataset.mode = mode;
  $('prompt').setAttribute('placeholder', mode === 'story' ? 'Begin a story; the model continues it (Enter sends)' : 'Message the model (Enter sends, Shift+Enter for a new line)');
  const empty = document.getElementById('empty-hint');
  if (empty) empty.textContent = emptyHint();
}

function emptyHint(): string {
  const name = info?.id ?? 'The model';
  if (modeOf(conversation) === 'story')
    return `${name} ${info && !info.chatTemplate ? 'has no chat template, so it writes stories: ' : 'is in story mode: '}write the first words and it carries on.`;
  return `${name} runs in this tab. Ask it anything.`;
}

$<HTMLSelectElement>('mode').onchange = () => {
  conversation.mode = value('mode') as Mode;
  showMode();
  if (conversation.messages.length) void saveConversation(conversation).catch(() => {});
};

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
  el.classList.toggle('streaming', streaming);
  el.querySelector('.failure')?.remove();
  el.classList.toggle('failed', !!m.error);
  if (m.error) el.append(failureEl(m.error));
}

/** A failed answer: what went wrong, and what the user can do next. */
function failureEl(error: NonNullable<Message['error']>): HTMLElement {
  const box = document.createElement('div');
  box.className = 'failure';
  box.setAttribute('role', 'alert');
  const text = document.createElement('p');
  text.textContent = error.message;
  const actions = document.createElement('div');
  actions.className = 'actions';
  const action = (label: string, run: () => void, primary = false) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    if (primary) b.className = 'primary';
    b.onclick = run;
    actions.append(b);
  };
  if (error.code === 'context_length_exceeded') action('Edit message', editLast, true);
  action('Retry', () => void retry(), error.code !== 'context_length_exceeded');
  action('New chat', newChat);
  box.append(text, actions);
  return box;
}

function showConversation(): void {
  const start = conversation.contextStart ?? 0;
  const els: HTMLElement[] = [];
  conversation.messages.forEach((m, i) => {
    if (m.role === 'system') return;
    if (i === start && start > 0) els.push(contextNote(start));
    const el = messageEl(m);
    if (i < start) el.classList.add('forgotten');
    els.push(el);
  });
  if (!els.length) {
    const empty = document.createElement('div');
    empty.id = 'empty';
    empty.className = 'empty';
    empty.innerHTML = '<p class="big">What shall we write?</p><p id="empty-hint"></p>';
    els.push(empty);
  }
  messagesEl.replaceChildren(...els);
  // A failure the conversation moved on from keeps its message, not its buttons.
  for (const f of messagesEl.querySelectorAll('.message.failed:not(:last-child) .failure .actions')) f.remove();
  messagesEl.scrollTop = messagesEl.scrollHeight;
  $('chat-title').textContent = conversation.title;
  showMode();
  void refreshConversations();
}

function contextNote(hidden: number): HTMLElement {
  const note = document.createElement('p');
  note.className = 'context-note';
  note.textContent = `The ${hidden} earlier message${hidden === 1 ? '' : 's'} above no longer fit${hidden === 1 ? 's' : ''} ${info ? `${info.id}'s ${info.maxModelLen}-token context` : "the model's context"}: the model did not see ${hidden === 1 ? 'it' : 'them'} for the answers below.`;
  return note;
}

async function refreshConversations(): Promise<void> {
  const list = await listConversations().catch(() => []);
  $('conversations').replaceChildren(
    ...list.map((c) => {
      const li = document.createElement('li');
      if (c.id === conversation.id) li.className = 'current';
      const open = document.createElement('button');
      open.className = 'open';
      open.type = 'button';
      open.textContent = c.title;
      open.title = `${c.title} · ${modeOf(c)}`;
      open.onclick = () => {
        if (generating) return;
        conversation = c;
        closeSidebar();
        showConversation();
      };
      const del = document.createElement('button');
      del.className = 'icon ghost';
      del.type = 'button';
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
  if (generating) abort?.abort();
  conversation = { id: crypto.randomUUID(), title: NEW_TITLE, messages: [], updatedAt: Date.now() };
  closeSidebar();
  showConversation();
}
$('new-chat').onclick = newChat;

// ---- the sidebar on narrow screens --------------------------------------------------------

/** The drawer slides only when opened or closed, not when a resize turns the column into it. */
function slide(): void {
  document.body.classList.add('sidebar-moving');
  setTimeout(() => document.body.classList.remove('sidebar-moving'), 250);
}
function closeSidebar(): void {
  if (document.body.classList.contains('sidebar-open')) slide();
  document.body.classList.remove('sidebar-open');
  $('scrim').hidden = true;
  $('open-sidebar').setAttribute('aria-expanded', 'false');
}
$('open-sidebar').onclick = () => {
  slide();
  document.body.classList.add('sidebar-open');
  $('scrim').hidden = false;
  $('open-sidebar').setAttribute('aria-expanded', 'true');
};
$('close-sidebar').onclick = closeSidebar;
$('scrim').onclick = closeSidebar;

// ---- fitting the history to the context ---------------------------------------------------

class TurnError extends Error {
  constructor(
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** Exact token counts from the engine (its /tokenize), the chat template included. */
async function countTokens(body: { messages: { role: string; content: string }[] } | { prompt: string }): Promise<number> {
  const res = await engine!('http://webinfer.local/tokenize', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new TurnError(json.error?.message ?? `tokenize failed (${res.status})`, json.error?.code);
  return json.count;
}

interface Fitted {
  /** What is sent: the system prompt, then the newest turns that fit. */
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  /** Index in conversation.messages of the first message sent. */
  start: number;
}

/**
 * The newest whole turns whose prompt leaves room for the answer (max tokens, at most half the
 * context): counted by the engine, so the cut is exact for any tokenizer and template. Failed
 * answers (and what they answered) are left out; the oldest turns go first.
 */
async function fitHistory(all: Message[], system: string, maxTokens: number): Promise<Fitted> {
  const maxLen = info!.maxModelLen;
  const budget = maxLen - Math.min(maxTokens, Math.floor(maxLen / 2));
  // Turns are [user, assistant] pairs by index; the last is the new user message alone.
  const starts: number[] = [];
  all.forEach((m, i) => {
    if (m.role === 'user' && !(all[i + 1]?.error)) starts.push(i);
  });
  const sent = (from: number) => [
    ...(system ? [{ role: 'system' as const, content: system }] : []),
    ...all.slice(from).filter((m, i, rest) => !m.error && !(m.role === 'user' && rest[i + 1]?.error) && m.role !== 'system').map((m) => ({ role: m.role, content: m.content })),
  ];
  const last = starts.length - 1;
  if ((await countTokens({ messages: sent(starts[0]!) })) <= budget) return { messages: sent(starts[0]!), start: starts[0]! };
  // Fewer turns never cost more tokens: find the oldest turn the budget keeps by bisection.
  let lo = Math.min(1, last);
  let hi = last;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((await countTokens({ messages: sent(starts[mid]!) })) <= budget) hi = mid;
    else lo = mid + 1;
  }
  const from = starts[lo]!;
  const messages = sent(from);
  if (lo === last) {
    // The new message alone is over the budget: it still goes if the context holds it, with a shorter answer.
    const n = await countTokens({ messages });
    if (n >= maxLen - 1) throw new TurnError(`This message is ${n} tokens with the system prompt, and ${info!.id} reads at most ${maxLen} at once. Shorten it, or load a model with a longer context.`, 'context_length_exceeded');
  }
  return { messages, start: from };
}

// ---- sending ------------------------------------------------------------------------------

let abort: AbortController | undefined;

async function* answer(history: Message[], signal: AbortSignal): AsyncGenerator<{ content?: string; reasoning?: string; tokens?: number }> {
  const maxTokens = Number(value('max-tokens'));
  const common = { model: 'default', temperature: Number(value('temperature')), top_p: Number(value('top-p')), max_tokens: maxTokens, stream: true as const, stream_options: { include_usage: true } };
  if (modeOf(conversation) === 'story') {
    // A story turn continues the text just written; it must leave the answer some room.
    const prompt = history.at(-1)!.content;
    const n = await countTokens({ prompt });
    if (n >= info!.maxModelLen - 1) throw new TurnError(`This text is ${n} tokens, and ${info!.id} reads at most ${info!.maxModelLen} at once. Shorten it to continue it.`, 'context_length_exceeded');
    conversation.contextStart = undefined;
    const stream = await client!.completions.create({ ...common, prompt }, { signal });
    for await (const c of stream) yield { content: c.choices[0]?.text, tokens: c.usage?.completion_tokens };
    return;
  }
  const fitted = await fitHistory(history, value('system-prompt').trim(), maxTokens);
  if (fitted.start !== (conversation.contextStart ?? 0)) {
    conversation.contextStart = fitted.start || undefined;
    showConversation();
  }
  const stream = await client!.chat.completions.create({ ...common, messages: fitted.messages }, { signal });
  for await (const c of stream) {
    const delta = c.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
    yield { content: delta?.content ?? undefined, reasoning: delta?.reasoning_content, tokens: c.usage?.completion_tokens };
  }
}

/** Answers the conversation's last (user) message into a new assistant message. */
async function generate(): Promise<void> {
  if (!client || generating) return;
  const user = conversation.messages.at(-1)!;
  const story = modeOf(conversation) === 'story';
  // The conversation keeps its mode from its first turn on.
  conversation.mode = modeOf(conversation);
  const reply: Message = { role: 'assistant', content: story ? user.content : '' };
  conversation.messages.push(reply);
  const history = conversation.messages.slice(0, -1);
  let el = messageEl(reply);
  messagesEl.append(el);
  messagesEl.scrollTop = messagesEl.scrollHeight;
  abort = new AbortController();
  generating = true;
  updateSend();
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
    for await (const d of answer(history, abort.signal)) {
      // Fitting may have re-rendered the list (a new context note): find this answer's element again.
      if (!el.isConnected) el = (messagesEl.lastElementChild as HTMLElement | null) ?? el;
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
    else {
      const e = err as Error & { code?: string | null; status?: number };
      reply.content = story ? '' : reply.content;
      reply.error = { message: e instanceof TurnError ? e.message : `The model could not answer: ${e.message}`, code: e.code ?? null };
      reply.stats = undefined;
    }
  } finally {
    cancelAnimationFrame(frame);
    if (!el.isConnected) el = (messagesEl.lastElementChild as HTMLElement | null) ?? el;
    paint(el, reply);
    messagesEl.scrollTop = messagesEl.scrollHeight;
    generating = false;
    updateSend();
    stop.disabled = true;
    await saveConversation(conversation).catch(() => {});
    void refreshConversations();
    document.body.dataset.done = String(Number(document.body.dataset.done ?? 0) + 1);
  }
}

/** A failed answer is dropped and asked for again. */
async function retry(): Promise<void> {
  // Only the latest answer can be asked again: a later turn already moved on from an older one.
  if (generating || !client || !conversation.messages.at(-1)?.error) return;
  conversation.messages.pop();
  showConversation();
  await generate();
}

/** The failed message goes back to the composer to be shortened. */
function editLast(): void {
  if (generating || !conversation.messages.at(-1)?.error) return;
  conversation.messages.pop();
  const user = conversation.messages.pop();
  if (user) $<HTMLTextAreaElement>('prompt').value = user.content;
  if (conversation.messages.length) void saveConversation(conversation).catch(() => {});
  else {
    conversation.title = NEW_TITLE;
    void deleteConversation(conversation.id).catch(() => {});
  }
  showConversation();
  $('prompt').focus();
}

$<HTMLFormElement>('composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = value('prompt');
  if (!client || generating || !text.trim()) return;
  if (!conversation.messages.length) {
    conversation.title = titleFrom(text);
    conversation.mode = modeOf(conversation);
    $('chat-title').textContent = conversation.title;
    messagesEl.replaceChildren();
  }
  const user: Message = { role: 'user', content: text };
  conversation.messages.push(user);
  messagesEl.append(messageEl(user));
  $<HTMLTextAreaElement>('prompt').value = '';
  autosize();
  await generate();
});
$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $<HTMLFormElement>('composer').requestSubmit();
  }
});
/** The composer grows with its text, up to a third of the screen. */
function autosize(): void {
  const t = $<HTMLTextAreaElement>('prompt');
  t.style.height = 'auto';
  t.style.height = `${Math.min(t.scrollHeight + 2, window.innerHeight / 3)}px`;
}
$('prompt').addEventListener('input', autosize);
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

// ---- start ----------------------------------------------------------------------------------

(async () => {
  const saved = await listConversations().catch(() => []);
  // A reload reopens the last conversation, in the mode it was in.
  if (saved[0]) conversation = saved[0];
  showConversation();
  const offline = setOffline($<HTMLInputElement>('offline').checked).catch((e: Error) => void ($('offline-status').textContent = `not available: ${e.message}`));
  // The engine's worker fetches its own modules and files: only those fetched through the Service
  // Worker are kept, so on a first visit the model waits (a moment, at most 5 s) for it to take control.
  await Promise.race([offline, new Promise((r) => setTimeout(r, 5000))]);
  await loadModel('stories260K', modelUrl);
})();
