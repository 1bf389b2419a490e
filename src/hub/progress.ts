/** Download progress: bytes, speed over the last few seconds, and the time left, per file and overall. */
export interface FileProgress {
  path: string;
  loadedBytes: number;
  totalBytes: number;
  bytesPerSecond: number;
  /** Seconds left at the current speed (undefined until there is a speed). */
  etaSeconds?: number;
  state: 'cached' | 'waiting' | 'downloading' | 'verifying' | 'done';
}

export interface DownloadProgress {
  loadedBytes: number;
  totalBytes: number;
  /** Bytes fetched from the network in this session (what resuming saved is loaded − fetched). */
  fetchedBytes: number;
  bytesPerSecond: number;
  etaSeconds?: number;
  files: FileProgress[];
}

const WINDOW_MS = 3000;

/** Speed over a sliding window, so a stall shows as a falling speed rather than a frozen one. */
export class RateMeter {
  private samples: { t: number; bytes: number }[] = [];
  private total = 0;
  add(bytes: number, now = performance.now()): void {
    this.total += bytes;
    this.samples.push({ t: now, bytes: this.total });
    while (this.samples.length > 2 && now - this.samples[0]!.t > WINDOW_MS) this.samples.shift();
  }
  rate(now = performance.now()): number {
    const first = this.samples[0];
    if (!first) return 0;
    const span = Math.max(now - first.t, 250);
    return ((this.total - first.bytes) * 1000) / span;
  }
}

export function eta(left: number, rate: number): number | undefined {
  if (left <= 0) return 0;
  return rate > 0 ? left / rate : undefined;
}
