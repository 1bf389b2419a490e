/**
 * Matrix rows split across threads that share one WebAssembly.Memory: Node worker_threads, or Web
 * Workers on a cross-origin isolated page. The caller's thread works too.
 *
 * No message per matmul: the job (kernel index and arguments) is written into a control block in
 * the shared memory and published by bumping a generation counter; each thread spins on it
 * briefly, then sleeps in Atomics.wait; while the caller holds the pool (a forward pass is running:
 * `hold`) it spins longer, since the next job is at most the caller's lone work away. Rows are
 * handed out in chunks from a shared counter, the caller taking chunks like every thread, so a
 * thread the OS has descheduled (another process keeps the core busy) delays the job by at most
 * the chunk it holds instead of a fixed share: with fixed shares, a busy machine made two threads
 * 5x slower than one. Atomics order the plain reads and writes around them, so the arguments are
 * seen before the job and the outputs before the count.
 */

/** Control block layout (int32 slots). */
const GEN = 0, FINISHED = 1, FN = 2, SLEEPERS = 3, FAILED = 4, CLAIM = 5, CHUNK = 6, HOT = 7, ARGS = 8;
export const CONTROL_BYTES = 32 * 4;
/**
 * Spins before sleeping outside a held pass: ~50-100 µs. Longer spins steal the core from the
 * caller when the machine is busy; a thread that sleeps through the start of a job only joins it
 * late (the chunks it would have taken are taken by the others).
 */
const SPINS = 1 << 13;
/**
 * Spins before sleeping while the caller holds the pool: ~2-5 ms, longer than any stretch of lone
 * work inside a forward pass. With only SPINS, a thread slept between most jobs of a one-token
 * step (the chooser runs small matrices alone, and their run outlasts the spin), every pooled job
 * then paid a wake-up (~50-100 µs on a VM) and the chooser, timing those, ran still more alone:
 * two threads decoded no faster than one (measured: ARCHITECTURE.md).
 */
const HOT_SPINS = 1 << 18;
/** Chunks per thread and job: small enough to balance, large enough to keep claims rare. */
const CHUNKS_PER_THREAD = 4;

/**
 * Claims the next chunk of job `gen`, or -1 when none is left. One compare-exchange on CLAIM =
 * (generation mod 2^15) << 16 | next chunk: a thread that read a job's arguments late (the caller
 * already writing the next job's) cannot claim with them, since its generation no longer matches.
 * It runs in the threads too (as source), so it names the slots by number: CLAIM 5, CHUNK 6, rows 16.
 */
function claim(c: Int32Array, gen: number): number {
  for (;;) {
    const v = Atomics.load(c, 5);
    if (v >>> 16 !== (gen & 0x7fff) || (v & 0xffff) * c[6]! >= c[16]!) return -1;
    if (Atomics.compareExchange(c, 5, v, v + 1) === v) return v & 0xffff;
  }
}

/**
 * The thread's program, as source: it must run as a Node eval worker and as a classic Web Worker
 * from a Blob URL, so it is plain JavaScript with no imports.
 */
const THREAD_SOURCE = `
const node = typeof self === 'undefined';
const port = node ? require('node:worker_threads').parentPort : self;
const onMessage = (f) => (node ? port.once('message', f) : (self.onmessage = (e) => f(e.data)));
const claim = ${claim.toString()};
onMessage(async ({ module, memory, control, names, setup }) => {
  const { exports } = await WebAssembly.instantiate(module, { env: { memory } });
  for (const [name, ...args] of setup) exports[name](...args); // an instance's globals are its own
  const fns = names.map((n) => exports[n]);
  const c = new Int32Array(memory.buffer, control, 32);
  // Read before saying ready: the first job may be published as soon as the caller hears it.
  let seen = Atomics.load(c, ${GEN});
  port.postMessage('ready');
  for (;;) {
    for (let spins = 0; Atomics.load(c, ${GEN}) === seen; ) {
      if (++spins > ${SPINS} && !(spins < ${HOT_SPINS} && Atomics.load(c, ${HOT}) === 1)) {
        Atomics.add(c, ${SLEEPERS}, 1);
        Atomics.wait(c, ${GEN}, seen);
        Atomics.sub(c, ${SLEEPERS}, 1);
        spins = 0;
      }
    }
    seen = Atomics.load(c, ${GEN});
    const f = c[${FN}];
    if (f < 0) return;
    const a = ${ARGS}, rows = c[a + 8], chunk = c[${CHUNK}];
    const args = [c[a], c[a + 1], c[a + 2], c[a + 3], c[a + 4], c[a + 5], c[a + 6], c[a + 7]];
    for (let i = claim(c, seen); i >= 0; i = claim(c, seen)) {
      try {
        fns[f](...args, rows, i * chunk, Math.min(rows, (i + 1) * chunk));
      } catch (e) {
        Atomics.store(c, ${FAILED}, 1);
      }
      Atomics.add(c, ${FINISHED}, 1);
    }
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
   * index; `setup(i)` the calls the instance of thread i (1 .. count - 1; 0 is the caller's) makes
   * first (export name and arguments).
   */
  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, control: number, exports: Record<string, unknown>, names: string[], setup: (thread: number) => [string, ...number[]][], count: number): Promise<ThreadPool> {
    const started = await Promise.all(Array.from({ length: count - 1 }, () => startThread()));
    started.forEach(({ thread }, i) => thread.postMessage({ module, memory, control, names, setup: setup(i + 1) }));
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
    // Chunks of whole 4-row groups: every row is computed as by one thread alone, bit for bit.
    const chunk = Math.max(4, Math.ceil(rows / (this.count * CHUNKS_PER_THREAD) / 4) * 4);
    const chunks = Math.ceil(rows / chunk);
    for (let i = 0; i < 8; i++) c[ARGS + i] = args[i]!;
    c[ARGS + 8] = rows;
    c[CHUNK] = chunk;
    c[FN] = fn;
    c[FINISHED] = 0;
    c[FAILED] = 0;
    const gen = (Atomics.load(c, GEN) + 1) | 0;
    Atomics.store(c, CLAIM, (gen & 0x7fff) << 16);
    Atomics.store(c, GEN, gen);
    if (Atomics.load(c, SLEEPERS) > 0) Atomics.notify(c, GEN);
    const f = this.fns[fn]!;
    for (let i = claim(c, gen); i >= 0; i = claim(c, gen)) {
      f(args[0]!, args[1]!, args[2]!, args[3]!, args[4]!, args[5]!, args[6]!, args[7]!, rows, i * chunk, Math.min(rows, (i + 1) * chunk));
      Atomics.add(c, FINISHED, 1);
    }
    // Every chunk is claimed; wait for those other threads still hold.
    const start = performance.now();
    for (let spins = 0; Atomics.load(c, FINISHED) < chunks; spins++) {
      // A thread that died (its worker terminated) never finishes its chunk: fail rather than hang.
      if ((spins & 0xffff) === 0 && performance.now() - start > 30_000) throw new Error('a wasm thread stopped responding');
    }
    if (c[FAILED]) throw new Error('a wasm kernel failed on a worker thread');
  }

  /**
   * Holds the pool for a forward pass (on) or lets it go (off): while held, idle threads spin
   * HOT_SPINS instead of SPINS. Sleeping threads are left asleep until a job wakes them: waking
   * them at every hold cost a small model whose work never goes to the pool a system call and a
   * wake-up per step (stories260K: one stream 5,340-5,850 -> 2,130 tok/s).
   */
  hold(on: boolean): void {
    Atomics.store(this.c, HOT, on ? 1 : 0);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.c[FN] = -1;
    Atomics.store(this.c, CLAIM, -1); // no generation matches: nothing more is claimed
    Atomics.add(this.c, GEN, 1);
    Atomics.notify(this.c, GEN);
    for (const t of this.threads) void t.terminate();
  }
}

/**
 * Picks, per kind of work (a matrix shape and type with its tokens in powers of two, a size of
 * attention), the pool or the caller alone, from the times it measures: on a machine other
 * processes keep busy the other threads may get no core, and then one thread is faster. The first
 * 2 × WARM calls alternate; then mostly the side whose recent times (the last KEPT of each) are
 * lower by their second fastest, and one call in EXPLORE the other, so a change in load is
 * noticed within a few dozen calls. The second fastest, because a pooled call's times are two
 * populations: most find the threads spinning, some must wake them from Atomics.wait (~50-100 µs)
 * or find a core taken by V8's own background work. A running average (tried first) let such
 * calls tip 20-50 µs matrices to one thread until the next exploration, and a shape run alone
 * lets the threads fall asleep, so the explorations paid the wake-up and confirmed it: an
 * 8-stream decode ran 15-40 % of its pooled calls alone, at 1.5-2x their pooled time. Both sides
 * give the same numbers (whole 4-row groups).
 */
export class ThreadChooser {
  private readonly typical: (sorted: number[]) => number;
  private readonly maxExplore: number;
  private readonly warm: number;

  /**
   * typical: how a side's kept times (sorted) are summed up; by default their second fastest (see
   * above). warm: calls per side alternated first (0: the pool until the first exploration).
   * maxExplore: explorations that confirm the choice double the calls until the next one,
   * up to this many (by default none do), and an exploration then starts its side's times
   * afresh (those kept from before the back-off are stale). A whole forward pass (Kernels.pass)
   * takes the median and backs off: there a slow run is not noise but the cost that decides, and
   * each exploration of the losing side costs a whole pass (beside a busy process, held threads'
   * passes took several times a lone one's, and one in 32 of them made two threads 1.1x slower
   * than one). Afresh, because the first pooled passes run while V8 optimises the kernels and
   * the matrices' chooser warms up: kept, their slow times held a quiet machine's 8-row decode
   * steps on lone passes (29.7 ms against 22.1 pooled) for most of a hundred steps.
   */
  constructor(options: { typical?: (sorted: number[]) => number; maxExplore?: number; warm?: number } = {}) {
    this.typical = options.typical ?? ((t) => t[Math.min(1, t.length - 1)]!);
    this.maxExplore = options.maxExplore ?? EXPLORE;
    this.warm = options.warm ?? WARM;
  }

  /** Per key: each side's last KEPT times and their typical one (kept up to date by record, read by every call), and when to explore next. */
  private readonly seen = new Map<string, { pool: number[]; alone: number[]; poolTime: number; aloneTime: number; calls: number; interval: number; next: number; exploring?: boolean }>();

  /** True: run the work `key` names on the pool this time. */
  pool(key: string): boolean {
    let s = this.seen.get(key);
    if (!s) this.seen.set(key, (s = { pool: [], alone: [], poolTime: Infinity, aloneTime: Infinity, calls: 0, interval: EXPLORE, next: 2 * this.warm + EXPLORE }));
    s.calls++;
    if (s.calls <= 2 * this.warm) return s.calls % 2 === 1;
    const better = s.poolTime <= s.aloneTime;
    if (s.calls < s.next) return better;
    s.exploring = true;
    return !better;
  }

  record(key: string, pooled: boolean, ms: number): void {
    const s = this.seen.get(key)!;
    const before = s.poolTime <= s.aloneTime;
    const times = pooled ? s.pool : s.alone;
    // After a back-off, the explored side's kept times are stale: start them afresh.
    if (s.exploring && this.maxExplore > EXPLORE) times.length = 0;
    times.push(ms);
    if (times.length > KEPT) times.shift();
    const typical = this.typical([...times].sort((a, b) => a - b));
    if (pooled) s.poolTime = typical;
    else s.aloneTime = typical;
    if (s.exploring) {
      s.exploring = false;
      s.interval = (s.poolTime <= s.aloneTime) === before ? Math.min(2 * s.interval, this.maxExplore) : EXPLORE;
      s.next = s.calls + s.interval;
    }
  }
}

const WARM = 3;
const EXPLORE = 32;
const KEPT = 5;
