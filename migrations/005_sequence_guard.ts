import type { Kysely } from 'kysely';

/**
 * The deliverability guard's memory per sequence: when it was paused, and since when the guard
 * counts again after `comeback resume` (the complaints that caused the pause stay in the rolling
 * window, and must not pause the resumed sequence at once).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sequences').addColumn('paused_at', 'bigint').execute();
  await db.schema.alterTable('sequences').addColumn('guard_since', 'bigint').execute();
}

/** Drops the guard columns. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sequences').dropColumn('guard_since').execute();
  await db.schema.alterTable('sequences').dropColumn('paused_at').execute();
}
