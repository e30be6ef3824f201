/**
 * Coalesces single-key lookups into batch lookups: keys asked for while a batch is being fetched,
 * or within `lingerMs` of the first one, go into the next single fetch (like a group commit, but
 * for reads). Concurrent jobs that each need "their" rows thus share one query per table instead
 * of paying one round trip each. The linger is what makes batches form when the askers arrive one
 * at a time (send jobs leave the in-doubt gate one by one); it costs each key at most that delay.
 */
export class Batcher<K, V> {
  private queue: { key: K; resolve: (v: V | undefined) => void; reject: (err: unknown) => void }[] = [];
  private fetching = false;
  /** A linger timer (or immediate) is pending. */
  private scheduled = false;

  /**
   * @param fetch loads the values of many keys at once; a key missing from the result resolves to undefined
   * @param options `maxBatch`: keys per fetch at most, a full batch is fetched at once;
   *   `lingerMs`: how long the first key of a batch waits for others (0: the same turn of the event loop)
   */
  constructor(
    private readonly fetch: (keys: K[]) => Promise<Map<K, V>>,
    private readonly options: { maxBatch: number; lingerMs: number } = { maxBatch: 256, lingerMs: 0 },
  ) {}

  /** The value for `key`, fetched together with the other keys asked for meanwhile. */
  load(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      this.next();
    });
  }

  /** Fetches a full batch at once; otherwise lets the first waiting key linger for company. */
  private next(): void {
    if (this.fetching || this.queue.length === 0) return;
    if (this.queue.length >= this.options.maxBatch) {
      void this.fetchOne();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    const fire = () => {
      this.scheduled = false;
      if (!this.fetching && this.queue.length) void this.fetchOne();
    };
    if (this.options.lingerMs > 0) setTimeout(fire, this.options.lingerMs);
    else setImmediate(fire);
  }

  private async fetchOne(): Promise<void> {
    this.fetching = true;
    const batch = this.queue.splice(0, this.options.maxBatch);
    try {
      const values = await this.fetch(batch.map((b) => b.key));
      for (const b of batch) b.resolve(values.get(b.key));
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.fetching = false;
      this.next();
    }
  }
}
