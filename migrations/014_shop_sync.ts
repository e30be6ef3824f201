import type { Kysely } from 'kysely';
import { withId } from './helpers.js';

/**
 * Shop connectors: webhooks are recorded before they are applied (`shop_webhooks`, one row per
 * delivery id, so a duplicate is stored once), a sync resumes from its stored cursor
 * (`shop_sync_state`), the newest `updated_at` applied per shop record keeps an older update
 * from overwriting a newer one (`shop_versions`), and a coupon remembers when the shop has it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await withId(db, db.schema.createTable('shop_webhooks'))
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('processed_at', 'bigint')
    .addColumn('error', 'text')
    .addColumn('result', 'text')
    .addUniqueConstraint('shop_webhooks_delivery', ['provider', 'webhook_id'])
    .execute();
  await db.schema.createIndex('shop_webhooks_pending').on('shop_webhooks').columns(['processed_at', 'id']).execute();
  await db.schema
    .createTable('shop_sync_state')
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('cursor', 'text')
    .addColumn('since', 'bigint')
    .addColumn('records', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('shop_sync_state_pk', ['provider', 'resource'])
    .execute();
  await db.schema
    .createTable('shop_versions')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('shop_versions_pk', ['kind', 'external_id'])
    .execute();
  await db.schema.alterTable('coupons').addColumn('shop_ref', 'text').execute();
  await db.schema.alterTable('coupons').addColumn('shop_created_at', 'bigint').execute();
}

/** Drops the connector tables and columns. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('coupons').dropColumn('shop_created_at').execute();
  await db.schema.alterTable('coupons').dropColumn('shop_ref').execute();
  await db.schema.dropTable('shop_versions').execute();
  await db.schema.dropTable('shop_sync_state').execute();
  await db.schema.dropTable('shop_webhooks').execute();
}
