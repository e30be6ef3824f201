import { expect, it } from 'vitest';
import { sql } from 'kysely';
import { migrateToLatest, openDatabase } from '../../src/db/index.js';
import { scoreCustomers, scoreDb } from '../../src/dormancy/index.js';
import { loadSyntheticShop } from '../../src/dormancy/synthetic-load.js';
import { postgresUrl } from '../helpers/backends.js';

it('PostgreSQL: the run reads and writes on its own client and hands it back with the session settings reset', async () => {
  const db = await openDatabase(await postgresUrl());
  try {
    await migrateToLatest(db);
    const now = Date.UTC(2026, 5, 1);
    await loadSyntheticShop(db, { seed: 9, customers: 300, now });
    const run = await scoreCustomers({ db, clock: { now: () => now } }, { pageSize: 70, writeBatchSize: 64 });
    expect(run.customers).toBe(300);
    expect(run.bgNbd).not.toBeNull();
    const stored = await scoreDb(db.kysely)
      .selectFrom('customer_scores')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBe(300);
    // Every connection in the pool, including the one the run used, commits synchronously again.
    const pool = db.pool!;
    const clients = await Promise.all(Array.from({ length: pool.totalCount }, () => pool.connect()));
    try {
      for (const c of clients) expect((await c.query('show synchronous_commit')).rows[0].synchronous_commit).toBe('on');
    } finally {
      for (const c of clients) c.release();
    }
    expect(
      (await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(db.kysely)).rows[0]!
        .synchronous_commit,
    ).toBe('on');
  } finally {
    await db.close();
  }
});
