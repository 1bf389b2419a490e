/**
 * Stop strings over streamed text: text that might still turn out to be the start of a stop string
 * is held back, so a client never sees part of a stop sequence that is then taken away.
 */
export class StopMatcher {
  private pending = '';
  private readonly hold: number;

  constructor(
    private readonly stops: string[],
    private readonly includeStop: boolean,
  ) {
    this.hold = Math.max(0, ...stops.map((s) => s.length - 1));
  }

  /**
   * Feeds new text; returns what can be released and whether a stop string was hit. With `active`
   * false (min_tokens not reached yet) stop strings are not looked for and everything is released.
   */
  push(text: string, active = true): { text: string; stopped: boolean } {
    this.pending += text;
    if (this.stops.length === 0 || !active) return this.release(this.pending.length, false);
    let first = -1;
    let which = '';
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i !== -1 && (first === -1 || i < first)) [first, which] = [i, s];
    }
    if (first !== -1) {
      const end = this.includeStop ? first + which.length : first;
      const out = this.pending.slice(0, end);
      this.pending = '';
      return { text: out, stopped: true };
    }
    // Release everything that cannot be the beginning of a stop string.
    let safe = this.pending.length;
    for (let k = Math.min(this.hold, this.pending.length); k > 0; k--) {
      const tail = this.pending.slice(this.pending.length - k);
      if (this.stops.some((s) => s.startsWith(tail))) {
        safe = this.pending.length - k;
        break;
      }
    }
    return this.release(safe, false);
  }

  /** End of generation: nothing can match any more. */
  flush(): string {
    const out = this.pending;
    this.pending = '';
    return out;
  }

  private release(n: number, stopped: boolean): { text: string; stopped: boolean } {
    const out = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    return { text: out, stopped };
  }
}
