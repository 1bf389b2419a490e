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
    while (this.available < n && !this.done) {
      const { value, done } = await this.reader.read();
      if (done) {
        this.done = true;
        break;
      }
      this.append(value);
    }
    return this.available;
  }

  /** The unread bytes currently buffered, without consuming them. */
  peek(): Uint8Array {
    return this.buffer.subarray(this.start);
  }

  /** Reads exactly `n` bytes (a copy the caller owns). */
  async read(n: number): Promise<Uint8Array> {
    if ((await this.fill(n)) < n) throw new RangeError(`unexpected end of file at byte ${this.position + this.available}`);
    const out = this.buffer.slice(this.start, this.start + n);
    this.start += n;
    this.compact();
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

  private append(chunk: Uint8Array): void {
    if (this.available === 0) {
      this.consumed += this.buffer.length;
      this.buffer = chunk;
      this.start = 0;
      return;
    }
    const merged = new Uint8Array(this.available + chunk.length);
    merged.set(this.buffer.subarray(this.start));
    merged.set(chunk, this.available);
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
