import { sql, type Kysely } from 'kysely';
import { notNullDefault, withId } from './helpers.js';

/** The initial schema: shop data, consent ledger, suppressions, sequences and the send ledger. */
export async function up(db: Kysely<any>): Promise<void> {
  const nn = (c: any) => c.notNull();

  await withId(db, db.schema.createTable('customers'))
    .addColumn('external_id', 'text', (c) => c.notNull().unique())
    .addColumn('email', 'text')
    .addColumn('email_hash', 'text')
    .addColumn('first_name', 'text')
    .addColumn('last_name', 'text')
    .addColumn('gender', 'text')
    .addColumn('title', 'text')
    .addColumn('locale', 'text', nn)
    .addColumn('time_zone', 'text', nn)
    .addColumn('acquired_via', 'text', notNullDefault('unknown'))
    .addColumn('churn_reason', 'text')
    .addColumn('churn_reason_source', 'text')
    .addColumn('late_payments', 'integer', notNullDefault(0))
    .addColumn('tags', 'text', notNullDefault('[]'))
    .addColumn('attributes', 'text', notNullDefault('{}'))
    .addColumn('created_at', 'bigint', nn)
    .addColumn('updated_at', 'bigint', nn)
    .addColumn('erased_at', 'bigint')
    .execute();
  await db.schema.createIndex('customers_email_hash').on('customers').column('email_hash').execute();

  await withId(db, db.schema.createTable('products'))
    .addColumn('external_id', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', nn)
    .addColumn('category', 'text')
    .addColumn('price_minor', 'bigint', notNullDefault(0))
    .addColumn('currency', 'text', nn)
    .addColumn('url', 'text')
    .addColumn('image_url', 'text')
    .addColumn('in_stock', 'integer', notNullDefault(1))
    .execute();

  await withId(db, db.schema.createTable('orders'))
    .addColumn('external_id', 'text', (c) => c.notNull().unique())
    .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id'))
    .addColumn('ordered_at', 'bigint', nn)
    .addColumn('total_minor', 'bigint', nn)
    .addColumn('discount_minor', 'bigint', notNullDefault(0))
    .addColumn('currency', 'text', nn)
    .addColumn('status', 'text', notNullDefault('paid'))
    .addColumn('paid_late', 'integer', notNullDefault(0))
    .addColumn('returned_minor', 'bigint', notNullDefault(0))
    .addColumn('coupon_code', 'text')
    .addColumn('created_at', 'bigint', nn)
    .execute();
  await db.schema.createIndex('orders_customer_time').on('orders').columns(['customer_id', 'ordered_at']).execute();

  await withId(db, db.schema.createTable('order_items'))
    .addColumn('order_id', 'bigint', (c) => c.notNull().references('orders.id').onDelete('cascade'))
    .addColumn('product_id', 'bigint', (c) => c.references('products.id'))
    .addColumn('sku', 'text', nn)
    .addColumn('name', 'text', nn)
    .addColumn('category', 'text')
    .addColumn('quantity', 'integer', notNullDefault(1))
    .addColumn('unit_price_minor', 'bigint', notNullDefault(0))
    .execute();
  await db.schema.createIndex('order_items_order').on('order_items').column('order_id').execute();

  await withId(db, db.schema.createTable('consents'))
    .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id'))
    .addColumn('channel', 'text', notNullDefault('email'))
    .addColumn('action', 'text', nn)
    .addColumn('basis', 'text')
    .addColumn('source', 'text', nn)
    .addColumn('text_version', 'text')
    .addColumn('evidence', 'text', notNullDefault('{}'))
    .addColumn('recorded_at', 'bigint', nn)
    .execute();
  await db.schema.createIndex('consents_customer').on('consents').columns(['customer_id', 'id']).execute();

  await withId(db, db.schema.createTable('suppressions'))
    .addColumn('email_hash', 'text', nn)
    .addColumn('scope', 'text', notNullDefault('all'))
    .addColumn('reason', 'text', nn)
    .addColumn('created_at', 'bigint', nn)
    .addUniqueConstraint('suppressions_hash_scope', ['email_hash', 'scope'])
    .execute();

  await db.schema
    .createTable('sequences')
    .addColumn('id', 'text', nn)
    .addColumn('version', 'integer', nn)
    .addColumn('hash', 'text', nn)
    .addColumn('definition', 'text', nn)
    .addColumn('status', 'text', notNullDefault('active'))
    .addColumn('paused_reason', 'text')
    .addColumn('loaded_at', 'bigint', nn)
    .addPrimaryKeyConstraint('sequences_pk', ['id', 'version'])
    .execute();

  await withId(db, db.schema.createTable('enrollments'))
    .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id'))
    .addColumn('sequence_id', 'text', nn)
    .addColumn('sequence_version', 'integer', nn)
    .addColumn('status', 'text', nn)
    .addColumn('holdout', 'integer', notNullDefault(0))
    .addColumn('current_step', 'integer', notNullDefault(0))
    .addColumn('next_due_at', 'bigint')
    .addColumn('enrolled_at', 'bigint', nn)
    .addColumn('ended_at', 'bigint')
    .addColumn('exit_reason', 'text')
    .addColumn('variant_choices', 'text', notNullDefault('{}'))
    .addColumn('trigger_data', 'text', notNullDefault('{}'))
    .addColumn('consent_id', 'bigint')
    .addColumn('legal_basis', 'text')
    .execute();
  // At most one running enrolment per customer and sequence.
  await db.schema
    .createIndex('enrollments_one_active')
    .on('enrollments')
    .columns(['customer_id', 'sequence_id'])
    .unique()
    .where(sql<boolean>`status = 'active'`)
    .execute();
  await db.schema.createIndex('enrollments_due').on('enrollments').columns(['status', 'next_due_at']).execute();
  await db.schema.createIndex('enrollments_sequence').on('enrollments').columns(['sequence_id', 'status']).execute();

  await withId(db, db.schema.createTable('messages'))
    .addColumn('enrollment_id', 'bigint', (c) => c.notNull().references('enrollments.id'))
    .addColumn('customer_id', 'bigint', nn)
    .addColumn('sequence_id', 'text', nn)
    .addColumn('step_id', 'text', nn)
    .addColumn('variant_id', 'text')
    .addColumn('template', 'text', nn)
    .addColumn('status', 'text', nn)
    .addColumn('legal_basis', 'text')
    .addColumn('consent_id', 'bigint')
    .addColumn('transport', 'text')
    .addColumn('provider_id', 'text')
    .addColumn('subject', 'text')
    .addColumn('links', 'text', notNullDefault('[]'))
    .addColumn('error', 'text')
    .addColumn('attempts', 'integer', notNullDefault(0))
    .addColumn('due_at', 'bigint', nn)
    .addColumn('reserved_at', 'bigint', nn)
    .addColumn('claimed_at', 'bigint')
    .addColumn('sent_at', 'bigint')
    .addColumn('updated_at', 'bigint', nn)
    // The exactly-once guarantee: a second reservation of the same step fails here.
    .addUniqueConstraint('messages_enrollment_step', ['enrollment_id', 'step_id'])
    .execute();
  await db.schema.createIndex('messages_status_due').on('messages').columns(['status', 'due_at']).execute();
  await db.schema.createIndex('messages_customer').on('messages').columns(['customer_id', 'sent_at']).execute();

  await withId(db, db.schema.createTable('events'))
    .addColumn('message_id', 'bigint')
    .addColumn('customer_id', 'bigint')
    .addColumn('enrollment_id', 'bigint')
    .addColumn('type', 'text', nn)
    .addColumn('link_index', 'integer')
    .addColumn('machine', 'integer', notNullDefault(0))
    .addColumn('machine_reason', 'text')
    .addColumn('source', 'text', nn)
    .addColumn('provider_event_id', 'text', (c) => c.unique())
    .addColumn('user_agent', 'text')
    .addColumn('detail', 'text', notNullDefault('{}'))
    .addColumn('occurred_at', 'bigint', nn)
    .execute();
  await db.schema.createIndex('events_message').on('events').columns(['message_id', 'type']).execute();
  await db.schema.createIndex('events_enrollment').on('events').columns(['enrollment_id', 'type']).execute();

  await withId(db, db.schema.createTable('conversions'))
    .addColumn('enrollment_id', 'bigint', (c) => c.notNull().references('enrollments.id'))
    .addColumn('order_id', 'bigint', (c) => c.notNull().references('orders.id'))
    .addColumn('customer_id', 'bigint', nn)
    .addColumn('sequence_id', 'text', nn)
    .addColumn('step_id', 'text')
    .addColumn('variant_id', 'text')
    .addColumn('holdout', 'integer', notNullDefault(0))
    .addColumn('revenue_minor', 'bigint', nn)
    .addColumn('discount_minor', 'bigint', notNullDefault(0))
    .addColumn('currency', 'text', nn)
    .addColumn('attributed_by', 'text', nn)
    .addColumn('converted_at', 'bigint', nn)
    .addUniqueConstraint('conversions_enrollment_order', ['enrollment_id', 'order_id'])
    .execute();
  await db.schema.createIndex('conversions_sequence').on('conversions').column('sequence_id').execute();

  await withId(db, db.schema.createTable('coupons'))
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('customer_id', 'bigint', nn)
    .addColumn('enrollment_id', 'bigint')
    .addColumn('message_id', 'bigint')
    .addColumn('percent', 'integer')
    .addColumn('amount_minor', 'bigint')
    .addColumn('currency', 'text')
    .addColumn('expires_at', 'bigint', nn)
    .addColumn('redeemed_order_id', 'bigint')
    .addColumn('created_at', 'bigint', nn)
    .execute();
}

/** Drops everything the initial migration created. */
export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'coupons',
    'conversions',
    'events',
    'messages',
    'enrollments',
    'sequences',
    'suppressions',
    'consents',
    'order_items',
    'orders',
    'products',
    'customers',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
