/** Conversations kept in IndexedDB, so a reload (or an offline visit) finds them again. */
export interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
  reasoning?: string;
  stats?: string;
  /** The request failed: shown where the answer would be, with a way on. */
  error?: { message: string; code?: string | null };
}

export type Mode = 'chat' | 'story';

export interface Conversation {
  id: string;
  title: string;
  messages: Message[];
  updatedAt: number;
  /** Chat (the model's chat template) or story (plain completion); chosen by the model when the conversation starts, kept with it. */
  mode?: Mode;
  /** Index of the first message the model saw in the last turn: the ones before it no longer fit its context. */
  contextStart?: number;
}

const DB = 'webinfer-demo';
const STORE = 'conversations';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = fn(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
  });
}

export async function listConversations(): Promise<Conversation[]> {
  const all = await run('readonly', (s) => s.getAll() as IDBRequest<Conversation[]>);
  return all.sort((a, b) => b.updatedAt - a.updatedAt);
}

export function saveConversation(c: Conversation): Promise<unknown> {
  return run('readwrite', (s) => s.put({ ...c, updatedAt: Date.now() }));
}

export function deleteConversation(id: string): Promise<unknown> {
  return run('readwrite', (s) => s.delete(id));
}
