import type { Kysely } from 'kysely';
import { withId } from './helpers.js';

/**
 * Outbound webhooks (docs/WEBHOOKS.md). `webhook_outbox` holds each event, written in the
 * transaction of the state change it reports; the dispatcher moves it into one
 * `webhook_deliveries` row per subscribed endpoint (its frozen body, attempts, next try, and
 * `dead` for the dead-letter list). `webhook_endpoints` holds what every worker must know about
 * an endpoint: failing and paused, or gone (HTTP 410).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await withId(db, db.schema.createTable('webhook_outbox'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'bigint')
    .addColumn('enrollment_id', 'bigint')
    .addColumn('message_id', 'bigint')
    .addColumn('sequence_id', 'text')
    .addColumn('ref_id', 'bigint')
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('occurred_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_outbox_customer').on('webhook_outbox').column('customer_id').execute();
  await withId(db, db.schema.createTable('webhook_deliveries'))
    .addColumn('event_id', 'bigint', (c) => c.notNull())
    .addColumn('endpoint', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'bigint')
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('lease_until', 'bigint')
    .addColumn('first_attempt_at', 'bigint')
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('delivered_at', 'bigint')
    .addUniqueConstraint('webhook_deliveries_event_endpoint', ['event_id', 'endpoint'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_pending')
    .on('webhook_deliveries')
    .columns(['status', 'endpoint', 'id'])
    .execute();
  await db.schema.createIndex('webhook_deliveries_customer').on('webhook_deliveries').column('customer_id').execute();
  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('endpoint', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('paused_until', 'bigint')
    .addColumn('gone_at', 'bigint')
    .addColumn('reason', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

/** Drops the webhook tables. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhook_endpoints').ifExists().execute();
  await db.schema.dropTable('webhook_deliveries').ifExists().execute();
  await db.schema.dropTable('webhook_outbox').ifExists().execute();
}
