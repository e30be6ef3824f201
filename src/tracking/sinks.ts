import type BetterSqlite3 from 'better-sqlite3';
import type { Insertable, Kysely } from 'kysely';
import type { Database, EventsTable } from '../db/schema.js';
import { TRACKING_TYPES } from '../webhooks/catalogue.js';

/** One row of the `events` table as the writer takes it. */
export type EventRow = Insertable<EventsTable>;

/** Stored clicks of one message from `since` on, to be flagged as machine clicks. */
export interface Reflag {
  since: number;
  reason: string;
}

/** Where the event writer puts a batch: one transaction per call. */
export interface EventSink {
  /**
   * Inserts the rows (a row whose `provider_event_id` is already stored is skipped) and applies
   * the flags, in one transaction. Returns the number of rows inserted.
   */
  write(rows: EventRow[], flags: [number, Reflag][]): Promise<number>;
  /** Releases what the sink holds (a worker thread); called once, after the last write. */
  close?(): Promise<void>;
}

/**
 * Tracking event types to report as webhooks (`open` → `message.opened`, ...), of those the
 * endpoints receive (src/webhooks/emit.ts `webhookTypes`). Empty: the sinks write no outbox rows.
 */
export type TrackingHooks = Record<string, string>;

/** The tracking hooks for the webhook event types some endpoint receives. */
export function trackingHooks(subscribed: ReadonlySet<string>): TrackingHooks {
  return Object.fromEntries(Object.entries(TRACKING_TYPES).filter(([, type]) => subscribed.has(type)));
}

/**
 * The webhook outbox row (`SQLITE_SQL.outbox` parameter order) of an inserted event row given as
 * `rowValues`, or null when it reports nothing (a machine's open or click, an unsubscribed type).
 * Plain JavaScript without outside references: the SQLite worker thread runs its source too.
 */
export function outboxValues(v: unknown[], eventId: number | bigint, hooks: Record<string, string>): unknown[] | null {
  const type = hooks[v[3] as string];
  if (!type || v[5]) return null;
  const data = v[3] === 'click' ? { source: v[7], link_index: v[4] } : { source: v[7] };
  return [type, v[1], v[2], v[0], eventId, JSON.stringify(data), v[11]];
}

/**
 * Any database kysely speaks: one multi-row INSERT per batch, one UPDATE for the flags. Rows of
 * erased people are left out (their old links record nothing), found by one query per batch.
 */
export function kyselySink(k: Kysely<Database>, hooks: TrackingHooks = {}): EventSink {
  const reports = Object.keys(hooks).length > 0;
  return {
    write: (batch, flags) =>
      k.transaction().execute(async (trx) => {
        let n = 0;
        const ids = [...new Set(batch.map((r) => r.customer_id).filter((id): id is number => typeof id === 'number'))];
        const erased = new Set(
          ids.length
            ? (
                await trx
                  .selectFrom('customers')
                  .select('id')
                  .where('id', 'in', ids)
                  .where('erased_at', 'is not', null)
                  .execute()
              ).map((c) => c.id)
            : [],
        );
        const rows = erased.size ? batch.filter((r) => !erased.has(r.customer_id as number)) : batch;
        if (rows.length > 0) {
          const insert = trx
            .insertInto('events')
            .values(rows)
            .onConflict((oc) => oc.column('provider_event_id').where('provider_event_id', 'is not', null).doNothing());
          if (reports) {
            // The opens and clicks go into the webhook outbox in the transaction that stores them.
            const got = await insert.returning(OUTBOX_SOURCE).execute();
            n = got.length;
            const outbox = got.flatMap((r) => {
              const v = outboxValues(rowValues(r), r.id, hooks);
              return v ? [Object.fromEntries(OUTBOX_COLUMNS.map((c, i) => [c, v[i]]))] : [];
            });
            if (outbox.length)
              await trx
                .insertInto('webhook_outbox')
                .values(outbox as never)
                .execute();
          } else {
            const r = await insert.executeTakeFirst();
            n = Number(r.numInsertedOrUpdatedRows ?? rows.length);
          }
        }
        for (let i = 0; i < flags.length; i += 100) {
          const chunk = flags.slice(i, i + 100);
          for (const reason of new Set(chunk.map(([, f]) => f.reason))) {
            const mine = chunk.filter(([, f]) => f.reason === reason);
            await trx
              .updateTable('events')
              .set({ machine: 1, machine_reason: reason })
              .where('type', '=', 'click')
              .where('machine', '=', 0)
              .where((eb) =>
                eb.or(mine.map(([id, f]) => eb.and([eb('message_id', '=', id), eb('occurred_at', '>=', f.since)]))),
              )
              .execute();
          }
        }
        return n;
      }),
  };
}

const COLUMNS = [
  'message_id',
  'customer_id',
  'enrollment_id',
  'type',
  'link_index',
  'machine',
  'machine_reason',
  'source',
  'provider_event_id',
  'user_agent',
  'detail',
  'occurred_at',
] as const;

const OUTBOX_SOURCE = ['id', ...COLUMNS] as const;
const OUTBOX_COLUMNS = ['type', 'customer_id', 'enrollment_id', 'message_id', 'ref_id', 'data', 'occurred_at'] as const;

/**
 * SQLite's statements for a batch: one row's INSERT (anonymous parameters in `rowValues` order),
 * one message's flags. The INSERT leaves out a row of an erased person: their old links record
 * nothing (one primary-key lookup per row).
 */
export const SQLITE_SQL = {
  insert:
    `INSERT INTO events (${COLUMNS.join(', ')}) SELECT ${COLUMNS.map(() => '?').join(', ')} ` +
    'WHERE NOT EXISTS (SELECT 1 FROM customers WHERE id = ? AND erased_at IS NOT NULL) ' +
    'ON CONFLICT (provider_event_id) WHERE provider_event_id IS NOT NULL DO NOTHING',
  outbox: `INSERT INTO webhook_outbox (${OUTBOX_COLUMNS.join(', ')}) VALUES (${OUTBOX_COLUMNS.map(() => '?').join(', ')})`,
  flag: "UPDATE events SET machine = 1, machine_reason = ? WHERE message_id = ? AND type = 'click' AND machine = 0 AND occurred_at >= ?",
};

/** A row as the anonymous parameters of `SQLITE_SQL.insert`. */
export function rowValues(r: EventRow): unknown[] {
  const customer = r.customer_id ?? null;
  return [
    r.message_id ?? null,
    customer,
    r.enrollment_id ?? null,
    r.type,
    r.link_index ?? null,
    r.machine ?? 0,
    r.machine_reason ?? null,
    r.source,
    r.provider_event_id ?? null,
    r.user_agent ?? null,
    r.detail ?? '{}',
    r.occurred_at,
    customer,
  ];
}

/**
 * SQLite through its own better-sqlite3 handle: one prepared single-row INSERT run per row inside
 * a synchronous transaction. SQLite runs this several times faster than a multi-row INSERT with
 * thousands of parameters, and kysely would prepare the statement anew for every call. The
 * transaction is synchronous, so nothing else runs on the connection meanwhile; while kysely has a
 * transaction open on it (between its awaits), the sink waits for it to end. Used for in-memory
 * databases; a database file gets `workerSink`, which writes off the event loop.
 */
export function sqliteSink(db: BetterSqlite3.Database, maxWaitMs = 10_000, hooks: TrackingHooks = {}): EventSink {
  const insert = db.prepare(SQLITE_SQL.insert);
  const flag = db.prepare(SQLITE_SQL.flag);
  const outbox = Object.keys(hooks).length ? db.prepare(SQLITE_SQL.outbox) : undefined;
  const run = db.transaction((rows: EventRow[], flags: [number, Reflag][]) => {
    let n = 0;
    for (const r of rows) {
      const v = rowValues(r);
      const info = insert.run(v);
      n += info.changes;
      const o = outbox && info.changes ? outboxValues(v, info.lastInsertRowid, hooks) : null;
      if (o) outbox!.run(o);
    }
    for (const [id, f] of flags) flag.run(f.reason, id, f.since);
    return n;
  });
  return {
    async write(rows, flags) {
      const started = Date.now();
      while (db.inTransaction) {
        if (Date.now() - started > maxWaitMs)
          throw new Error(`the database connection stayed in a transaction for ${maxWaitMs} ms`);
        await new Promise((r) => setTimeout(r, 1));
      }
      return run(rows, flags);
    },
  };
}
