import type { Pool } from 'pg';
import { PAGE_SQL, type ConsentCells, type CustomerCells, type OrderCells, type PageSource } from './source.js';

/** A page source on a client of its own, and how to hand the client back. */
export interface PostgresDirect {
  source: PageSource;
  close(): void;
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
} as const;

/**
 * The scoring run's reads on PostgreSQL, on one pooled client for the whole pass: the page
 * queries as named prepared statements (parsed and planned once per connection, not once per
 * page) returning rows as arrays (kysely builds an object per row, which for five million orders
 * is mostly garbage to collect). Writes still go through kysely on the pool's other connections.
 */
export async function openPostgresDirect(pool: Pool): Promise<PostgresDirect> {
  const client = await pool.connect();
  const run = async <T>(s: { name: string; text: string }, values: unknown[]): Promise<T[]> =>
    (await client.query<T extends unknown[] ? T : never>({ name: s.name, text: s.text, values, rowMode: 'array' })).rows as T[];
  let released = false;
  return {
    source: {
      async page(afterId, size, now) {
        const cs = await run<CustomerCells>(STATEMENTS.customers, [afterId, size]);
        if (cs.length === 0) return null;
        const lo = cs[0]![0];
        const hi = cs[cs.length - 1]![0];
        // One client runs its queries in order; the next page is still fetched while this one is summarised.
        const [orders, consents] = await Promise.all([run<OrderCells>(STATEMENTS.orders, [lo, hi]), run<ConsentCells>(STATEMENTS.consents, [lo, hi, now])]);
        return { customers: cs, orders, consents };
      },
      async totals() {
        const r = await client.query<{ customers: string | number; orders_max_id: string | number | null }>(PAGE_SQL.totals);
        return { customers: Number(r.rows[0]?.customers ?? 0), ordersMaxId: Number(r.rows[0]?.orders_max_id ?? 0) };
      },
    },
    close() {
      if (!released) client.release();
      released = true;
    },
  };
}
