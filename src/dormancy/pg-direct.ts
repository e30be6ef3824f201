import type { Pool } from 'pg';
import { PAGE_SQL, type ConsentCells, type CustomerCells, type OrderCells, type PageSource } from './source.js';
import { POSTGRES_UPSERT, postgresUpsertParams, type ScoreWriter } from './write.js';

/** A page source and a score writer on a client of its own, and how to hand the client back. */
export interface PostgresDirect {
  source: PageSource;
  writer: ScoreWriter;
  close(): Promise<void>;
}

/** `?` placeholders as PostgreSQL's `$1, $2, ...`. */
const numbered = (text: string): string => {
  let i = 0;
  return text.replace(/\?/g, () => `$${++i}`);
};

const STATEMENTS = {
  customers: { name: 'comeback_score_customers', text: numbered(PAGE_SQL.customers) },
  orders: { name: 'comeback_score_orders', text: numbered(PAGE_SQL.orders) },
  consents: { name: 'comeback_score_consents', text: numbered(PAGE_SQL.consents) },
  upsert: { name: 'comeback_score_upsert', text: POSTGRES_UPSERT },
} as const;

/**
 * The scoring run on PostgreSQL, on one pooled client for the whole run: the page queries and
 * the batch upsert as named prepared statements (parsed and planned once per connection, not once
 * per page or batch), rows read as arrays (kysely builds an object per row, which for five
 * million orders is mostly garbage to collect). The batches are committed without waiting for
 * the WAL flush (`synchronous_commit = off` for this session only, reset before the client goes
 * back to the pool): scores are derived data, and a crash loses at most the last batches of a
 * run that is then recomputed, never anything else.
 */
export async function openPostgresDirect(pool: Pool): Promise<PostgresDirect> {
  const client = await pool.connect();
  try {
    await client.query('set synchronous_commit = off');
  } catch (err) {
    client.release(err as Error);
    throw err;
  }
  const run = async <T>(s: { name: string; text: string }, values: unknown[]): Promise<T[]> =>
    (await client.query<T extends unknown[] ? T : never>({ name: s.name, text: s.text, values, rowMode: 'array' }))
      .rows as T[];
  let released = false;
  return {
    source: {
      async page(afterId, size, now) {
        const cs = await run<CustomerCells>(STATEMENTS.customers, [afterId, size]);
        if (cs.length === 0) return null;
        const lo = cs[0]![0];
        const hi = cs[cs.length - 1]![0];
        // One client runs its queries in order; the next page is still fetched while this one is summarised.
        const [orders, consents] = await Promise.all([
          run<OrderCells>(STATEMENTS.orders, [lo, hi]),
          run<ConsentCells>(STATEMENTS.consents, [lo, hi, now]),
        ]);
        return { customers: cs, orders, consents };
      },
      async totals() {
        const r = await client.query<{ customers: string | number; orders_max_id: string | number | null }>(
          PAGE_SQL.totals,
        );
        return { customers: Number(r.rows[0]?.customers ?? 0), ordersMaxId: Number(r.rows[0]?.orders_max_id ?? 0) };
      },
    },
    writer: {
      async write(rows) {
        if (rows.length > 0)
          await client.query({
            name: STATEMENTS.upsert.name,
            text: STATEMENTS.upsert.text,
            values: postgresUpsertParams(rows),
          });
      },
      async close() {},
    },
    async close() {
      if (released) return;
      released = true;
      try {
        await client.query('reset synchronous_commit');
        client.release();
      } catch (err) {
        client.release(err as Error); // a broken connection is discarded, not reused
      }
    },
  };
}
