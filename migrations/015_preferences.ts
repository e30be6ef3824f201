import type { Kysely } from 'kysely';

/**
 * Preference-centre choices live in the consent ledger (`consents.action = 'preference'`); this
 * index lets `stats` count them by kind and time without scanning grants and withdrawals.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('consents_action_time').on('consents').columns(['action', 'recorded_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('consents_action_time').execute();
}
