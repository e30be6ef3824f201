import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

interface Pending {
  write: (k: Kysely<Database>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for small independent writes (the send ledger's state changes): writes issued
 * while a commit is in flight, or in the same turn of the event loop, go into the next single
 * transaction, so many messages share one commit (one WAL append on SQLite, one WAL flush on
 * PostgreSQL) instead of paying one each.
 *
 * Guarantees: a write's promise resolves only after its transaction committed; transactions
 * commit in the order their writes were issued, and a write issued after another one is never
 * committed before it (it lands in the same transaction or a later one). A failing transaction
 * fails every write in it.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private flushing = false;

  constructor(private readonly k: Kysely<Database>) {}

  /** Queues `write` (one or a few statements on the given connection) for the next commit. */
  run<T>(write: (k: Kysely<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      const results: unknown[] = [];
      try {
        if (batch.length === 1) results.push(await batch[0]!.write(this.k));
        else {
          await this.k.transaction().execute(async (trx) => {
            for (const p of batch) results.push(await p.write(trx));
          });
        }
      } catch (err) {
        for (const p of batch) p.reject(err);
        continue;
      }
      batch.forEach((p, i) => p.resolve(results[i]));
    }
    this.flushing = false;
  }
}
