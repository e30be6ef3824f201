import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import { Outage } from './outage.js';
import type { Database } from './schema.js';

/** Which SQL dialect a connection speaks. */
export type DialectName = 'sqlite' | 'postgres';

/** An open database: the kysely instance plus what callers need to know about it. */
export interface Db {
  kysely: Kysely<Database>;
  dialect: DialectName;
  /** The PostgreSQL schema in use, if any. */
  schema?: string;
  /**
   * The better-sqlite3 handle kysely runs on (SQLite only), for hot paths that run one prepared
   * statement many times in a synchronous transaction (the tracking event writer). Never start a
   * transaction on it while `inTransaction` is true: that is kysely's.
   */
  sqlite?: import('better-sqlite3').Database;
  /**
   * The pg pool kysely runs on (PostgreSQL only), for bulk reads that want rows as arrays and
   * named prepared statements (the scoring run). Release every client taken from it.
   */
  pool?: import('pg').Pool;
  /** Whether the database answers, as this process last saw it (outages are logged once each). */
  outage: Outage;
  close(): Promise<void>;
}

/** True for `postgres://` and `postgresql://` URLs. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * Opens a database from a SQLite file path (WAL mode) or a `postgres://` URL.
 * A `?schema=NAME` parameter on a PostgreSQL URL selects (and creates) a schema, so several
 * installations or test runs share one database without colliding.
 */
export async function openDatabase(url: string, options: { log?: Logger } = {}): Promise<Db> {
  const outage = new Outage('database', options.log);
  if (isPostgresUrl(url)) return openPostgres(url, outage);
  return openSqlite(url, outage);
}

/**
 * Kysely's SQLite driver prepares every statement anew; preparing costs about as much as running
 * a small statement. Keep the last 512 distinct statements prepared (a statement still being
 * iterated by a stream is never handed out twice).
 */
function withStatementCache(db: import('better-sqlite3').Database) {
  const cache = new Map<string, import('better-sqlite3').Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (!stmt || stmt.busy) {
        stmt = db.prepare(sql);
        if (cache.size >= 512) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

async function openSqlite(file: string, outage: Outage): Promise<Db> {
  const { default: SQLite } = await import('better-sqlite3');
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  let sqlite: import('better-sqlite3').Database;
  try {
    sqlite = new SQLite(file);
  } catch (err) {
    const what =
      file !== ':memory:' && existsSync(file) && statSync(file).isDirectory()
        ? 'it is a folder; name a file in it, e.g. comeback.db'
        : (err as Error).message;
    throw new ConfigError(`cannot open the SQLite database ${file}: ${what}`);
  }
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Deleted and overwritten content is zeroed on disk, so an erased person's data does not
  // linger in free pages (GDPR Art. 17); the import cost is measured in docs/PERFORMANCE.md.
  sqlite.pragma('secure_delete = ON');
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { kysely, dialect: 'sqlite', sqlite, outage, close: () => kysely.destroy() };
}

async function openPostgres(url: string, outage: Outage): Promise<Db> {
  const pg = await import('pg');
  const { Pool, types } = pg.default;
  // bigint columns hold epoch milliseconds and minor units, all far below 2^53.
  types.setTypeParser(20, (v: string) => Number(v));
  types.setTypeParser(1700, (v: string) => Number(v));
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  if (schema && !/^[a-z_][a-z0-9_]*$/i.test(schema)) {
    throw new ConfigError(`config.database: schema "${schema}" must be a plain identifier (letters, digits, _)`);
  }
  if (schema) {
    const admin = new Pool({ connectionString: parsed.toString(), max: 1 });
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } catch (err) {
      throw new ConfigError(`cannot connect to PostgreSQL at ${parsed.host}: ${(err as Error).message}`);
    } finally {
      await admin.end();
    }
  }
  const pool = new Pool({
    connectionString: parsed.toString(),
    max: 10,
    // A server that accepts but never answers (a failover in progress) fails the query instead of hanging it.
    connectionTimeoutMillis: 10_000,
    ...(schema ? { options: `-c search_path="${schema}"` } : {}),
  });
  // A restart, failover or pg_terminate_backend ends connections with an 'error' event; unheard,
  // it would end the process. The pool drops a broken client; its query (if any) fails and is
  // retried by its caller, and the outage is logged once.
  const onError = (err: Error) => void outage.failed(err);
  pool.on('error', onError);
  // A client checked out between two statements has no pool listener: give each one its own.
  pool.on('connect', (client) => client.on('error', onError));
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { kysely, dialect: 'postgres', schema, pool, outage, close: () => kysely.destroy() };
}
