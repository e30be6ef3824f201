import pg from 'pg';
import { PG_URL } from './backends.js';

/**
 * Drops PostgreSQL test schemas left behind by runs that ended more than an hour ago (schema
 * names carry their creation time), so the shared `test` database does not grow forever.
 * Recent schemas are kept: another test run may be using them right now.
 */
export default async function setup(): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch {
    return; // the tests that need PostgreSQL fail with a clear message of their own
  }
  try {
    const { rows } = await client.query<{ nspname: string }>(
      "select nspname from pg_namespace where nspname like 't\\_%'",
    );
    const cutoff = Date.now() - 3_600_000;
    for (const { nspname } of rows) {
      const created = parseInt(nspname.split('_')[2] ?? '', 36);
      if (Number.isFinite(created) && created < cutoff)
        await client.query(`drop schema if exists "${nspname}" cascade`);
    }
  } finally {
    await client.end();
  }
}
