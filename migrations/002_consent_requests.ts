import type { Kysely } from 'kysely';
import { notNullDefault, withId } from './helpers.js';

/**
 * Pending double opt-in requests. A row holds the address only until it is confirmed (the
 * address then lives on the customer) or expires (the address is cleared); the hash stays for
 * rate limiting and for the audit of how a consent came about.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const nn = (c: any) => c.notNull();
  await withId(db, db.schema.createTable('consent_requests'))
    .addColumn('email', 'text')
    .addColumn('email_hash', 'text', nn)
    .addColumn('customer_id', 'bigint')
    .addColumn('status', 'text', notNullDefault('pending'))
    .addColumn('source', 'text', nn)
    .addColumn('text_version', 'text')
    .addColumn('locale', 'text', nn)
    .addColumn('evidence', 'text', notNullDefault('{}'))
    .addColumn('requested_at', 'bigint', nn)
    .addColumn('expires_at', 'bigint', nn)
    .addColumn('confirmed_at', 'bigint')
    .addColumn('consent_id', 'bigint')
    .execute();
  await db.schema
    .createIndex('consent_requests_hash')
    .on('consent_requests')
    .columns(['email_hash', 'requested_at'])
    .execute();
  await db.schema
    .createIndex('consent_requests_status')
    .on('consent_requests')
    .columns(['status', 'expires_at'])
    .execute();
}

/** Drops the table of pending double opt-in requests. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('consent_requests').ifExists().execute();
}
