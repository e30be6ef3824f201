import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { CustomerScoresTable } from './schema.js';
import { PAGE_SQL, type ConsentCells, type CustomerCells, type OrderCells, type PageSource } from './source.js';
import { SCORE_NAMES, SCORE_UPDATE_SET, scoreRowValues, type ScoreWriter } from './write.js';

/** A direct connection to the SQLite file: a page source and a score writer on prepared statements. */
export interface SqliteDirect {
  source: PageSource;
  writer: ScoreWriter;
  close(): void;
}

/** Score rows per upsert statement (32 columns each: 2,048 parameters, well below SQLite's limit). */
const GROUP = 64;

/**
 * For a SQLite file, opens a second connection of its own for the scoring run. Kysely's driver
 * prepares every statement anew and returns objects; here the page queries and the upserts
 * (64 rows per statement, plus a single-row one for the rest) are prepared once, rows come back
 * as arrays, and each batch of upserts is one transaction. In WAL mode this connection reads
 * while others write, and writes its short batches between theirs. Returns null for an in-memory database (only the engine's own
 * connection sees it); scoring then goes through kysely.
 */
export async function openSqliteDirect(k: Kysely<Database>): Promise<SqliteDirect | null> {
  const list = await sql<{ name: string; file: string }>`pragma database_list`.execute(k);
  const file = list.rows.find((r) => r.name === 'main')?.file;
  if (!file) return null;
  const { default: SQLite } = await import('better-sqlite3');
  const conn = new SQLite(file);
  conn.pragma('busy_timeout = 5000');
  conn.pragma('synchronous = NORMAL');
  const customers = conn.prepare(PAGE_SQL.customers).raw();
  const orders = conn.prepare(PAGE_SQL.orders).raw();
  const consents = conn.prepare(PAGE_SQL.consents).raw();
  const totals = conn.prepare(PAGE_SQL.totals);
  // Rows go in groups of GROUP per statement run: one native call per group instead of per row.
  const upsertSql = (n: number) =>
    `insert into customer_scores (${SCORE_NAMES.join(', ')}) values ${Array.from({ length: n }, () => `(${SCORE_NAMES.map(() => '?').join(',')})`).join(',')} on conflict (customer_id) do update set ${SCORE_UPDATE_SET}`;
  const upsertGroup = conn.prepare(upsertSql(GROUP));
  const upsertOne = conn.prepare(upsertSql(1));
  const params: unknown[] = [];
  const writeAll = conn.transaction((rows: CustomerScoresTable[]) => {
    let i = 0;
    for (; i + GROUP <= rows.length; i += GROUP) {
      params.length = 0;
      for (let k = i; k < i + GROUP; k++) for (const v of scoreRowValues(rows[k]!)) params.push(v);
      upsertGroup.run(params);
    }
    for (; i < rows.length; i++) upsertOne.run(scoreRowValues(rows[i]!));
  });
  return {
    source: {
      async page(afterId, size, now) {
        const cs = customers.all(afterId, size) as CustomerCells[];
        if (cs.length === 0) return null;
        const lo = cs[0]![0];
        const hi = cs[cs.length - 1]![0];
        // Read both in one snapshot, so a customer's orders and consents agree.
        const read = conn.transaction(() => ({
          orders: orders.all(lo, hi) as OrderCells[],
          consents: consents.all(lo, hi, now) as ConsentCells[],
        }));
        return { customers: cs, ...read() };
      },
      async totals() {
        const r = totals.get() as { customers: number; orders_max_id: number | null };
        return { customers: Number(r.customers), ordersMaxId: Number(r.orders_max_id ?? 0) };
      },
    },
    writer: {
      async write(rows) {
        writeAll(rows);
      },
      async close() {},
    },
    close: () => conn.close(),
  };
}
