/**
 * Matrix rows split across threads that share one WebAssembly.Memory: Node worker_threads, or Web
 * Workers on a cross-origin isolated page. The caller's thread computes the first share itself.
 *
 * No message per matmul: the job (kernel index and arguments) is written into a control block in
 * the shared memory and published by bumping a generation counter; each thread spins on it for a
 * while (a decode step issues a matmul every ~50 µs), then sleeps in Atomics.wait, and counts
 * itself done with Atomics.add. Atomics order the plain reads and writes around them, so the
 * arguments are seen before the job and the outputs before the count.
 */

/** Control block layout (int32 slots). */
const GEN = 0, DONE = 1, FN = 2, SLEEPERS = 3, FAILED = 4, ARGS = 8;
export const CONTROL_BYTES = 32 * 4;
/** Spins before sleeping: ~1 ms, longer than the gap between two matmuls of a step. */
const SPINS = 1 << 18;

/**
 * The thread's program, as source: it must run as a Node eval worker and as a classic Web Worker
 * from a Blob URL, so it is plain JavaScript with no imports.
 */
const THREAD_SOURCE = `
const node = typeof self === 'undefined';
const port = node ? require('node:worker_threads').parentPort : self;
const onMessage = (f) => (node ? port.once('message', f) : (self.onmessage = (e) => f(e.data)));
onMessage(async ({ module, memory, control, names, setup, index, count }) => {
  const { exports } = await WebAssembly.instantiate(module, { env: { memory } });
  for (const [name, ...args] of setup) exports[name](...args); // an instance's globals are its own
  const fns = names.map((n) => exports[n]);
  const c = new Int32Array(memory.buffer, control, 32);
  // Read before saying ready: the first job may be published as soon as the caller hears it.
  let seen = Atomics.load(c, ${GEN});
  port.postMessage('ready');
  for (;;) {
    for (let spins = 0; Atomics.load(c, ${GEN}) === seen; ) {
      if (++spins > ${SPINS}) {
        Atomics.add(c, ${SLEEPERS}, 1);
        Atomics.wait(c, ${GEN}, seen);
        Atomics.sub(c, ${SLEEPERS}, 1);
        spins = 0;
      }
    }
    seen = Atomics.load(c, ${GEN});
    const f = c[${FN}];
    if (f < 0) return;
    try {
      const a = ${ARGS}, rows = c[a + 8];
      const r0 = Math.floor((rows * index) / count), r1 = Math.floor((rows * (index + 1)) / count);
      if (r1 > r0) fns[f](c[a], c[a + 1], c[a + 2], c[a + 3], c[a + 4], c[a + 5], c[a + 6], c[a + 7], rows, r0, r1);
    } catch (e) {
      Atomics.store(c, ${FAILED}, 1);
    }
    Atomics.add(c, ${DONE}, 1);
  }
});
`;

interface Thread {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

async function startThread(): Promise<{ thread: Thread; ready: Promise<void> }> {
  if (typeof process !== 'undefined' && process.versions?.node) {
    const name = 'node:worker_threads';
    const { Worker }: typeof import('node:worker_threads') = await import(/* @vite-ignore */ /* webpackIgnore: true */ name);
    const w = new Worker(THREAD_SOURCE, { eval: true });
    w.unref(); // idle threads must not keep Node running
    const ready = new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    });
    return { thread: w, ready };
  }
  const url = URL.createObjectURL(new Blob([THREAD_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url, { name: 'webinfer-wasm-thread' });
  URL.revokeObjectURL(url);
  const ready = new Promise<void>((resolve, reject) => {
    w.onmessage = () => resolve();
    w.onerror = (e) => reject(new Error(`a wasm thread failed to start: ${e.message}`));
  });
  return { thread: w, ready };
}

export class ThreadPool {
  private readonly c: Int32Array;
  private disposed = false;

  private constructor(
    memory: WebAssembly.Memory,
    control: number,
    private readonly threads: Thread[],
    private readonly fns: ((...args: number[]) => void)[],
  ) {
    this.c = new Int32Array(memory.buffer, control, 32);
  }

  /**
   * `count` threads in all, the caller's included; `names` are the kernels' exports, called by
   * index; `setup` the calls each new instance makes first (export name and arguments).
   */
  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, control: number, exports: Record<string, unknown>, names: string[], setup: [string, ...number[]][], count: number): Promise<ThreadPool> {
    const started = await Promise.all(Array.from({ length: count - 1 }, () => startThread()));
    started.forEach(({ thread }, i) => thread.postMessage({ module, memory, control, names, setup, index: i + 1, count }));
    try {
      await Promise.all(started.map((s) => s.ready));
    } catch (e) {
      started.forEach((s) => void s.thread.terminate());
      throw e;
    }
    return new ThreadPool(memory, control, started.map((s) => s.thread), names.map((n) => exports[n] as (...args: number[]) => void));
  }

  get count(): number {
    return this.threads.length + 1;
  }

  /** Runs kernel `fn` over `rows` rows on every thread: args are its first eight parameters (rows, r0, r1 follow). */
  run(fn: number, args: readonly number[], rows: number): void {
    const c = this.c;
    const count = this.count;
    for (let i = 0; i < 8; i++) c[ARGS + i] = args[i]!;
    c[ARGS + 8] = rows;
    c[FN] = fn;
    c[DONE] = 0;
    c[FAILED] = 0;
    Atomics.add(c, GEN, 1);
    if (Atomics.load(c, SLEEPERS) > 0) Atomics.notify(c, GEN);
    const r1 = Math.floor(rows / count);
    if (r1 > 0) this.fns[fn]!(args[0]!, args[1]!, args[2]!, args[3]!, args[4]!, args[5]!, args[6]!, args[7]!, rows, 0, r1);
    const start = performance.now();
    for (let spins = 0; Atomics.load(c, DONE) < count - 1; spins++) {
      // A thread that died (its worker terminated) never counts itself done: fail rather than hang.
      if ((spins & 0xffff) === 0 && performance.now() - start > 30_000) throw new Error('a wasm thread stopped responding');
    }
    if (c[FAILED]) throw new Error('a wasm kernel failed on a worker thread');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.c[FN] = -1;
    Atomics.add(this.c, GEN, 1);
    Atomics.notify(this.c, GEN);
    for (const t of this.threads) void t.terminate();
  }
}
