import { sql, type Kysely } from 'kysely';
import { isPostgres, withId } from './helpers.js';

/**
 * The operator console: `operators` are the people who may log in to the dashboard (a role, a
 * scrypt password hash, failed attempts and a lock-out), `operator_log` is the append-only trail
 * of what operators did (pause, resume, settle, erase...). The trail names operators and customer
 * ids only, so it stays when people are erased; triggers refuse any update or delete of it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await withId(db, db.schema.createTable('operators'))
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'bigint')
    .addColumn('last_login_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await withId(db, db.schema.createTable('operator_log'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('via', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('counts', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema.createIndex('operator_log_at').on('operator_log').columns(['at', 'id']).execute();
  if (isPostgres(db)) {
    await sql`create function operator_log_append_only() returns trigger language plpgsql as $$
      begin raise exception 'operator_log is append-only'; end $$`.execute(db);
    await sql`create trigger operator_log_append_only before update or delete on operator_log
      for each row execute function operator_log_append_only()`.execute(db);
  } else {
    for (const op of ['update', 'delete']) {
      await sql`create trigger ${sql.raw(`operator_log_no_${op}`)} before ${sql.raw(op)} on operator_log
        begin select raise(abort, 'operator_log is append-only'); end`.execute(db);
    }
  }
}

/** Drops the operator tables (and the trail's triggers with them). */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('operator_log').ifExists().execute();
  if (isPostgres(db)) await sql`drop function if exists operator_log_append_only()`.execute(db);
  await db.schema.dropTable('operators').ifExists().execute();
}
