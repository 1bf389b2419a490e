/**
 * Sequential reader over a byte stream. Model files are read front to back exactly once, so a
 * multi-gigabyte file never has to sit in memory as one ArrayBuffer: only the current tensor does.
 */
export class ByteStream {
  private buffer: Uint8Array = new Uint8Array(0);
  private start = 0; // read position inside `buffer`
  private consumed = 0; // bytes dropped from the front of `buffer` so far
  private done = false;

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  static fromBytes(bytes: Uint8Array): ByteStream {
    return new ByteStream(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes);
          c.close();
        },
      }).getReader(),
    );
  }

  /** Absolute offset of the next byte to be read. */
  get position(): number {
    return this.consumed + this.start;
  }

  get available(): number {
    return this.buffer.length - this.start;
  }

  /** Buffers until at least `n` unread bytes are available or the stream ends; returns what is available. */
  async fill(n: number): Promise<number> {
    // The chunks are gathered first and joined once: joining each as it came copied a tensor's
    // bytes again for every chunk, quadratic in its size (an 82 MB tensor in 64 KB chunks meant
    // ~50 GB of copying; a 1B model took 16 s to load, 10 of them here).
    const chunks: Uint8Array[] = [];
    let have = this.available;
    while (have < n && !this.done) {
      const { value, done } = await this.reader.read();
      if (done) {
        this.done = true;
        break;
      }
      chunks.push(value);
      have += value.length;
    }
    this.append(chunks, have);
    return this.available;
  }

  /** The unread bytes currently buffered, without consuming them. */
  peek(): Uint8Array {
    return this.buffer.subarray(this.start);
  }

  /** Reads exactly `n` bytes (a copy the caller owns). */
  async read(n: number): Promise<Uint8Array> {
    if (this.available >= n) {
      const out = this.buffer.slice(this.start, this.start + n);
      this.start += n;
      this.compact();
      return out;
    }
    // A tensor spans many chunks: they are copied straight into the result, once. Fresh memory
    // is slow to touch (~4 µs a page on the test machine), so every buffer in between counts.
    const end = this.position + n;
    const out = new Uint8Array(n);
    out.set(this.buffer.subarray(this.start));
    let at = this.available;
    this.buffer = new Uint8Array(0);
    this.start = 0;
    while (at < n) {
      const { value, done } = await this.reader.read();
      if (done) {
        this.done = true;
        this.consumed = end - n + at;
        throw new RangeError(`unexpected end of file at byte ${this.consumed}`);
      }
      const take = Math.min(n - at, value.length);
      out.set(take === value.length ? value : value.subarray(0, take), at);
      at += take;
      if (take < value.length) {
        this.buffer = value;
        this.start = take;
      }
    }
    this.consumed = end - this.start;
    return out;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) {
      if ((await this.fill(1)) === 0) throw new RangeError('unexpected end of file while skipping');
      const step = Math.min(n, this.available);
      this.start += step;
      n -= step;
      this.compact();
    }
  }

  async skipTo(offset: number): Promise<void> {
    if (offset < this.position) throw new RangeError(`cannot seek backwards to ${offset} from ${this.position}`);
    await this.skip(offset - this.position);
  }

  cancel(): void {
    void this.reader.cancel().catch(() => {});
  }

  /** Adds `chunks` after the unread bytes (`total` bytes in all), dropping what was read. */
  private append(chunks: Uint8Array[], total: number): void {
    if (chunks.length === 0) return;
    let merged: Uint8Array;
    if (this.available === 0 && chunks.length === 1) merged = chunks[0]!;
    else {
      merged = new Uint8Array(total);
      merged.set(this.buffer.subarray(this.start));
      let at = this.available;
      for (const c of chunks) {
        merged.set(c, at);
        at += c.length;
      }
    }
    this.consumed += this.start;
    this.buffer = merged;
    this.start = 0;
  }

  private compact(): void {
    if (this.start === this.buffer.length) {
      this.consumed += this.buffer.length;
      this.buffer = new Uint8Array(0);
      this.start = 0;
    }
  }
}
