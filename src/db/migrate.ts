import {
  Migrator,
  sql,
  type DatabaseIntrospector,
  type Kysely,
  type MigrationResultSet,
  type TableMetadata,
} from 'kysely';
import { migrations } from '../../migrations/index.js';
import type { Db } from './connect.js';
import type { Database } from './schema.js';

/** Brings the schema to the newest migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({
    db: db.dialect === 'postgres' ? withSchemaScopedIntrospection(db.kysely) : db.kysely,
    provider: { getMigrations: async () => migrations },
    // Keep kysely's bookkeeping tables in the same PostgreSQL schema as the data.
    ...(db.schema ? { migrationTableSchema: db.schema } : {}),
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${(result.error as Error).message}`, {
      cause: result.error,
    });
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * kysely's migrator looks for its bookkeeping tables by listing the columns of every table in every
 * schema of the database, which fails ("schema ... does not exist") when another tenant of the same
 * database drops its schema at that moment. The migrator only needs table names of the schemas on
 * the search path, so it gets an introspector that lists just those.
 */
function withSchemaScopedIntrospection(kysely: Kysely<Database>): Kysely<Database> {
  const introspection: DatabaseIntrospector = {
    getSchemas: () => kysely.introspection.getSchemas(),
    getMetadata: async () => ({ tables: await getTables() }),
    getTables: () => getTables(),
  };
  async function getTables(): Promise<TableMetadata[]> {
    const rows = await sql<{ name: string; schema: string }>`
      select table_name as name, table_schema as schema from information_schema.tables
      where table_schema = any (current_schemas(false))`.execute(kysely);
    return rows.rows.map((r) => ({ name: r.name, schema: r.schema, isView: false, columns: [] }));
  }
  return new Proxy(kysely, {
    get(target, property) {
      if (property === 'introspection') return introspection;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
