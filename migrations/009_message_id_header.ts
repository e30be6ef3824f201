import type { Kysely } from 'kysely';

/**
 * `messages.message_id_header`: the Message-ID header a mail was handed over with, stored with
 * `sending`. An operator settling an `uncertain` mail searches the provider's log for it; computed
 * later instead, it would change with the sender or the customer's address.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('message_id_header', 'text').execute();
}

/** Drops the column. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').dropColumn('message_id_header').execute();
}
