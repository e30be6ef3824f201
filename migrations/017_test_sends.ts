import type { Kysely } from 'kysely';
import { withId } from './helpers.js';

/**
 * Test sends from the studio and `comeback send-test`: a ledger of their own, apart from
 * `messages`, so no funnel, uplift, bandit, guard or webhook ever counts them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await withId(db, db.schema.createTable('test_sends'))
    .addColumn('sequence_id', 'text', (c) => c.notNull())
    .addColumn('step_id', 'text', (c) => c.notNull())
    .addColumn('variant_id', 'text')
    .addColumn('customer_id', 'bigint')
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('to_address', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('provider_id', 'text')
    .addColumn('error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

/** Drops the test-send ledger. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('test_sends').execute();
}
