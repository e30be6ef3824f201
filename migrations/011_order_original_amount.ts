import type { Kysely } from 'kysely';

/**
 * `orders.original_total_minor` and `orders.original_currency`: an order in another currency is
 * stored converted to the shop's currency (config `exchangeRates`); the amount and currency the
 * shop reported stay beside it, so a converted figure can always be traced back. Null when the
 * order was in the shop's currency.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('orders').addColumn('original_total_minor', 'bigint').execute();
  await db.schema.alterTable('orders').addColumn('original_currency', 'text').execute();
}

/** Drops the columns. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('orders').dropColumn('original_currency').execute();
  await db.schema.alterTable('orders').dropColumn('original_total_minor').execute();
}
