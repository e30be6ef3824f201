import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../db/connect.js';
import type { Outage } from '../db/outage.js';
import type { Database } from '../db/schema.js';
import { kyselySink, sqliteSink, type EventRow, type EventSink, type Reflag, type TrackingHooks } from './sinks.js';
import { workerSink } from './worker-sink.js';

export type { EventRow } from './sinks.js';

/** Options of the buffered event writer. */
export interface EventWriterOptions {
  /** Rows per INSERT statement (and the pending count that triggers a flush at once). */
  batchSize?: number;
  /** A pending row waits at most this long before it is written. */
  flushMs?: number;
  /** Pending rows above which `push` waits for a flush (back-pressure when the database is slow). */
  maxPending?: number;
  /** Where rows go that cannot be written when the writer closes (replayed by `replaySpilled`). */
  spillDir?: string;
  log?: Pick<Logger, 'error' | 'warn'>;
  /** Called after each successful flush with the rows written, duplicates skipped and milliseconds taken. */
  onFlush?: (written: number, duplicates: number, ms: number) => void;
  /** Called when a flush fails (it is retried). */
  onError?: (err: unknown) => void;
  /** The database's outage state: a lost connection is logged once per outage, not per retry. */
  outage?: Outage;
}

/**
 * The sink for a database (with `hooks`, human opens and clicks also go into the webhook outbox,
 * in the same transaction): a SQLite file is written from a worker thread (off the event loop), an
 * in-memory SQLite database through its own handle, PostgreSQL with multi-row INSERTs.
 */
export function sinkFor(db: Db, hooks: TrackingHooks = {}): EventSink {
  if (!db.sqlite) return kyselySink(db.kysely, hooks);
  return db.sqlite.memory ? sqliteSink(db.sqlite, undefined, hooks) : workerSink(db.sqlite.name, { hooks });
}

/**
 * Writes tracking events in small batches: a row is written when `batchSize` rows are pending or
 * `flushMs` after it arrived, one transaction per batch (see `sinks.ts`). Rows with a
 * `provider_event_id` already stored are skipped (webhook deduplication). A failed flush keeps its
 * rows and retries with backoff; `close()` writes everything accepted, and if the database stays
 * unreachable it writes the rows to a spill file and throws, naming it: nothing accepted is
 * dropped silently.
 */
export class EventWriter {
  private pending: EventRow[] = [];
  /** Rows handed to the sink whose write has not finished yet. */
  private writing = 0;
  /** Flags for rows already handed to the database, merged per message, applied in the next flush. */
  private reflags = new Map<number, Reflag>();
  /** The newest `occurred_at` handed to the database so far. */
  private handedOffThrough = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private retryDelay = 0;
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly maxPending: number;
  /** Rows accepted, written, skipped as duplicates; failed flush attempts. */
  readonly counts = { accepted: 0, written: 0, duplicates: 0, failures: 0 };

  constructor(
    private readonly sink: EventSink,
    private readonly options: EventWriterOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.flushMs = options.flushMs ?? 50;
    this.maxPending = options.maxPending ?? this.batchSize * 40;
  }

  /** Rows accepted but not yet written: waiting, and handed to the sink but not yet committed. */
  get pendingCount(): number {
    return this.pending.length + this.writing;
  }

  /**
   * Accepts a row. Returns nothing normally; returns a promise to await when too many rows are
   * pending (the database is behind). Throws once the writer is closed.
   */
  push(row: EventRow): void | Promise<void> {
    if (this.closed) throw new Error('the event writer is closed');
    this.pending.push(row);
    this.counts.accepted++;
    if (this.pending.length >= this.maxPending) return this.flush().catch(() => undefined);
    this.kick(this.pending.length >= this.batchSize ? this.retryDelay : Math.max(this.flushMs, this.retryDelay));
  }

  /**
   * Flags the clicks of a message from `since` on as machine clicks (a burst or a honeypot hit
   * showed the clicker was a scanner). Pending rows are changed at once (scanning back from the
   * newest, rows arrive in time order); rows already handed to the database are updated in the
   * next flush, one statement for all messages flagged meanwhile.
   */
  reflag(messageId: number, since: number, reason: string): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const r = this.pending[i]!;
      if (r.provider_event_id) continue; // provider events carry the provider's time, out of order
      if (r.occurred_at < since) break;
      if (r.message_id === messageId && r.type === 'click' && !r.machine) {
        r.machine = 1;
        r.machine_reason = reason;
      }
    }
    if (since > this.handedOffThrough) return;
    const known = this.reflags.get(messageId);
    if (!known || since < known.since) this.reflags.set(messageId, { since, reason: known?.reason ?? reason });
    this.kick(this.flushMs);
  }

  /** Schedules a flush in `delay` ms unless one is already due sooner. */
  private kick(delay: number): void {
    const due = Date.now() + delay;
    if (this.timer) {
      if (this.timerDue <= due) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => undefined); // logged and retried inside
    }, delay);
    this.timer.unref?.();
  }

  /** Writes everything pending now. Rejects if the database refused (the rows stay pending). */
  flush(): Promise<void> {
    const run = () => this.drain();
    this.chain = this.chain.then(run, run);
    return this.chain;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 || this.reflags.size > 0) {
      const rows = this.pending.splice(0, this.batchSize);
      for (const r of rows)
        if (!r.provider_event_id && r.occurred_at > this.handedOffThrough) this.handedOffThrough = r.occurred_at;
      const reflags = this.reflags;
      this.reflags = new Map();
      const started = performance.now();
      this.writing = rows.length;
      try {
        const written = await this.sink.write(rows, [...reflags]);
        this.counts.written += written;
        this.counts.duplicates += rows.length - written;
        this.retryDelay = 0;
        this.options.outage?.ok();
        this.options.onFlush?.(written, rows.length - written, performance.now() - started);
      } catch (err) {
        this.pending = rows.concat(this.pending);
        for (const [id, f] of reflags) {
          const known = this.reflags.get(id);
          if (!known || f.since < known.since) this.reflags.set(id, f);
        }
        this.counts.failures++;
        this.retryDelay = Math.min(Math.max(this.retryDelay * 2, 100), 5_000);
        if (!this.options.outage?.failed(err))
          this.options.log?.error(
            { err: (err as Error).message, pending: this.pending.length },
            'writing tracking events failed; will retry',
          );
        this.options.onError?.(err);
        if (!this.closed) this.kick(this.retryDelay);
        throw err;
      } finally {
        this.writing = 0;
      }
      // A batch is one synchronous transaction on SQLite: let requests in between batches.
      if (this.pending.length > 0) await new Promise((r) => setImmediate(r));
    }
  }

  /**
   * Stops accepting rows and writes everything pending (three attempts). If the database still
   * refuses, the rows go to a spill file and the error names it.
   */
  async close(): Promise<void> {
    if (this.closed) return this.chain;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let last: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.flush();
        await this.sink.close?.();
        return;
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
    await this.sink.close?.().catch(() => undefined);
    if (this.pending.length === 0) return;
    const dir = this.options.spillDir ?? '.comeback/spilled-events';
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `events-${Date.now()}-${process.pid}.jsonl`);
    writeFileSync(file, this.pending.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const n = this.pending.length;
    this.pending = [];
    throw new Error(
      `could not write ${n} tracking events (${(last as Error)?.message}); kept in ${file}, written on the next start`,
    );
  }
}

/**
 * Writes rows left in spill files by a writer that could not reach the database on shutdown,
 * then removes the files. Returns the number of rows written.
 */
export async function replaySpilled(
  k: Kysely<Database>,
  dir = '.comeback/spilled-events',
  hooks: TrackingHooks = {},
): Promise<number> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  } catch {
    return 0;
  }
  let n = 0;
  for (const f of files) {
    const path = join(dir, f);
    const rows = readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as EventRow);
    const sink = kyselySink(k, hooks);
    for (let i = 0; i < rows.length; i += 500) await sink.write(rows.slice(i, i + 500), []);
    rmSync(path);
    n += rows.length;
  }
  return n;
}
