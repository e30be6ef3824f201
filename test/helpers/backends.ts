import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** PostgreSQL every machine and CI provides (trust auth). Override with COMEBACK_TEST_PG. */
export const PG_URL = process.env.COMEBACK_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Redis every machine and CI provides. Override with COMEBACK_TEST_REDIS. */
export const REDIS_URL = process.env.COMEBACK_TEST_REDIS ?? 'redis://127.0.0.1:6379';

let counter = 0;

/** A fresh SQLite file in a temporary folder. */
export function sqliteUrl(): string {
  return join(mkdtempSync(join(tmpdir(), 'comeback-test-')), 'test.db');
}

/**
 * A fresh PostgreSQL schema URL for one test. Fails loudly, naming the service, when
 * PostgreSQL is not reachable: a missing service is a failure, never a silent skip.
 */
export async function postgresUrl(): Promise<string> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
  } catch (err) {
    throw new Error(
      `PostgreSQL is required for this test but is not reachable at ${PG_URL} (${(err as Error).message}). ` +
        'Start it (trust auth, user postgres, database test) or set COMEBACK_TEST_PG.',
    );
  }
  const schema = `t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  return `${PG_URL}?schema=${schema}`;
}

/** The two storage backends every repository-level test runs against. */
export const dialects = [
  { name: 'sqlite', url: async () => sqliteUrl() },
  { name: 'postgres', url: postgresUrl },
] as const;
