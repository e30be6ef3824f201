/**
 * Bounds how many messages of one process are past the point of no return at once (handed to the
 * provider, outcome not yet recorded). A crash can leave at most this many `uncertain`; everything
 * before the point of no return (rendering, connecting, the SMTP envelope and body) overlaps freely.
 */
export class InDoubtGate {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    this.free = limit;
  }

  /** Waits for a slot; call the returned function (once) when the outcome is recorded. */
  async enter(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }

  /** Slots in use. */
  get inUse(): number {
    return this.limit - this.free;
  }
}
