import { CompiledQuery, PostgresAdapter, type Kysely, type QueryResult } from 'kysely';
import type { Database } from './schema.js';

interface Pending {
  write: (k: Kysely<Database>) => Promise<unknown>;
  /** Set for a plain `UPDATE` (no RETURNING) that may be merged into one statement with others. */
  update?: { query: CompiledQuery; row: string };
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for small independent writes (the send ledger's state changes): writes issued
 * while a commit is in flight, or in the same turn of the event loop, go into the next single
 * transaction, so many messages share one commit (one WAL append on SQLite, one WAL flush on
 * PostgreSQL) instead of paying one each.
 *
 * On PostgreSQL, a batch made only of updates (`update()`) touching distinct rows is sent as one
 * statement, the updates as data-modifying CTEs: one round trip instead of BEGIN, one per update
 * and COMMIT. A statement is atomic like the transaction it replaces.
 *
 * Guarantees: a write's promise resolves only after its transaction committed; transactions
 * commit in the order their writes were issued, and a write issued after another one is never
 * committed before it (it lands in the same transaction or a later one). A failing transaction
 * fails every write in it.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private flushing = false;
  /** Updates can be merged into one statement (PostgreSQL's data-modifying CTEs). */
  private readonly merges: boolean;

  constructor(private readonly k: Kysely<Database>) {
    this.merges = k.getExecutor().adapter instanceof PostgresAdapter;
  }

  /** Queues `write` (one or a few statements on the given connection) for the next commit. */
  run<T>(write: (k: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.enqueue({ write } as Pending) as Promise<T>;
  }

  /**
   * Queues one compiled `UPDATE` without RETURNING for the next commit; `row` names the row it
   * changes (two updates of one row are never merged into one statement). Resolves with the
   * number of rows it changed.
   */
  update(query: CompiledQuery, row: string): Promise<number> {
    const write = async (k: Kysely<Database>) => Number((await k.executeQuery(query)).numAffectedRows ?? 0);
    return this.enqueue({ write, update: { query, row } } as Pending) as Promise<number>;
  }

  private enqueue(p: Omit<Pending, 'resolve' | 'reject'>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...p, resolve, reject });
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
      let results: unknown[] = [];
      try {
        if (batch.length === 1) results.push(await batch[0]!.write(this.k));
        else if (this.merges && mergeable(batch)) results = await this.oneStatement(batch.map((p) => p.update!.query));
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

  /** PostgreSQL: the updates as CTEs of one statement; returns the rows each changed. */
  private async oneStatement(queries: CompiledQuery[]): Promise<number[]> {
    const parameters: unknown[] = [];
    const ctes = queries.map((q, i) => {
      const offset = parameters.length;
      parameters.push(...q.parameters);
      // Kysely numbers PostgreSQL parameters $1..$n per query; shift them into one list.
      return `w${i} as (${q.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)} returning 1)`;
    });
    const counts = queries.map((_, i) => `(select count(*) from w${i})::int as n${i}`);
    const r: QueryResult<Record<string, number>> = await this.k.executeQuery(
      CompiledQuery.raw(`with ${ctes.join(', ')} select ${counts.join(', ')}`, parameters),
    );
    const row = r.rows[0]!;
    return queries.map((_, i) => Number(row[`n${i}`]));
  }
}

/** Every write is a mergeable update, each of a different row. */
function mergeable(batch: Pending[]): boolean {
  const rows = new Set<string>();
  for (const p of batch) {
    if (!p.update || rows.has(p.update.row)) return false;
    rows.add(p.update.row);
  }
  return true;
}
