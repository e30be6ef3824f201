import type { Kysely } from 'kysely';

/**
 * Delivery bookkeeping: when a reserved message was last handed to the job queue (so a queue
 * that lost it, e.g. Redis restarted without its data, gets it again after a while), and the
 * state of each transport (paused after a policy block, with the reason, for every worker).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('dispatched_at', 'bigint').execute();
  await db.schema
    .createTable('delivery_state')
    .addColumn('transport', 'text', (c) => c.primaryKey())
    .addColumn('paused_until', 'bigint')
    .addColumn('reason', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

/** Drops the delivery bookkeeping. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('delivery_state').ifExists().execute();
  await db.schema.alterTable('messages').dropColumn('dispatched_at').execute();
}
