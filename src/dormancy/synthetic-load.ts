import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { Db } from '../db/connect.js';
import type { Database } from '../db/schema.js';
import { syntheticHistories, type SyntheticHistoryOptions } from './synthetic.js';

/** Counts of what was loaded. */
export interface LoadResult {
  customers: number;
  orders: number;
  consents: number;
  seconds: number;
}

type Value = string | number | null;

/** Inserts rows column-wise: SQLite in multi-row statements, PostgreSQL from arrays (`unnest`). */
async function bulkInsert(
  k: Kysely<Database>,
  dialect: Db['dialect'],
  table: string,
  columns: [string, string][],
  rows: Value[][],
): Promise<void> {
  if (rows.length === 0) return;
  const names = columns.map(([c]) => c).join(', ');
  if (dialect === 'postgres') {
    const arrays = columns.map((_, j) => rows.map((r) => r[j]));
    const unnest = columns.map(([, t], j) => `$${j + 1}::${t}[]`).join(', ');
    await k.executeQuery(CompiledQuery.raw(`insert into ${table} (${names}) select * from unnest(${unnest})`, arrays));
    return;
  }
  const per = Math.floor(32_000 / columns.length);
  const tuple = `(${columns.map(() => '?').join(',')})`;
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    await k.executeQuery(
      CompiledQuery.raw(`insert into ${table} (${names}) values ${chunk.map(() => tuple).join(',')}`, chunk.flat()),
    );
  }
}

/**
 * Streams a synthetic shop (see `syntheticHistories`) into the database: customers with explicit
 * ids after the current maximum, their orders and consent entries, one transaction per chunk.
 * Meant for benchmarks, tests and demos on an empty or throwaway database.
 */
export async function loadSyntheticShop(
  db: Db,
  options: SyntheticHistoryOptions,
  onProgress?: (customers: number) => void,
): Promise<LoadResult> {
  const t0 = performance.now();
  const k = db.kysely;
  const max = await k
    .selectFrom('customers')
    .select(sql<number | null>`max(id)`.as('m'))
    .executeTakeFirst();
  const offset = Number(max?.m ?? 0) + 1;
  const stamp = options.now;
  const out: LoadResult = { customers: 0, orders: 0, consents: 0, seconds: 0 };
  let orderNo = 0;
  for (const chunk of syntheticHistories(options)) {
    const customers: Value[][] = chunk.customers.map((c) => [
      offset + c.index,
      c.externalId,
      `${c.externalId.toLowerCase()}@example.com`,
      'de',
      'Europe/Berlin',
      'sale',
      c.latePayments,
      stamp,
      stamp,
    ]);
    const orders: Value[][] = chunk.orders.map((o) => [
      `${options.seed}-O${orderNo++}`,
      offset + o.customer,
      o.orderedAt,
      o.totalMinor,
      o.discountMinor,
      'EUR',
      o.status,
      o.paidLate,
      o.returnedMinor,
      stamp,
    ]);
    const consents: Value[][] = [];
    for (const c of chunk.customers) {
      if (c.consent >= 1)
        consents.push([offset + c.index, 'email', 'grant', 'double_opt_in', 'import', '{}', stamp - 400 * 86_400_000]);
      if (c.consent === 2)
        consents.push([offset + c.index, 'email', 'withdraw', null, 'objection', '{}', stamp - 30 * 86_400_000]);
    }
    await k.transaction().execute(async (trx) => {
      await bulkInsert(
        trx,
        db.dialect,
        'customers',
        [
          ['id', 'bigint'],
          ['external_id', 'text'],
          ['email', 'text'],
          ['locale', 'text'],
          ['time_zone', 'text'],
          ['acquired_via', 'text'],
          ['late_payments', 'integer'],
          ['created_at', 'bigint'],
          ['updated_at', 'bigint'],
        ],
        customers,
      );
      await bulkInsert(
        trx,
        db.dialect,
        'orders',
        [
          ['external_id', 'text'],
          ['customer_id', 'bigint'],
          ['ordered_at', 'bigint'],
          ['total_minor', 'bigint'],
          ['discount_minor', 'bigint'],
          ['currency', 'text'],
          ['status', 'text'],
          ['paid_late', 'integer'],
          ['returned_minor', 'bigint'],
          ['created_at', 'bigint'],
        ],
        orders,
      );
      await bulkInsert(
        trx,
        db.dialect,
        'consents',
        [
          ['customer_id', 'bigint'],
          ['channel', 'text'],
          ['action', 'text'],
          ['basis', 'text'],
          ['source', 'text'],
          ['evidence', 'text'],
          ['recorded_at', 'bigint'],
        ],
        consents,
      );
    });
    out.customers += customers.length;
    out.orders += orders.length;
    out.consents += consents.length;
    onProgress?.(out.customers);
  }
  if (db.dialect === 'postgres') {
    // Explicit ids do not advance the serial sequence; move it past them.
    await sql`select setval(pg_get_serial_sequence('customers', 'id'), (select max(id) from customers))`.execute(k);
  }
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}
