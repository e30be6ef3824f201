import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { appendConsents } from './ledger.js';
import {
  foldPreferences,
  NO_PREFERENCES,
  PREFERENCE_ACTION,
  type ChoiceEvidence,
  type Preferences,
  type StoredChoice,
} from './preferences.js';

/** Current preferences of a batch of customers (one query per 500), from their ledger entries. */
export async function preferencesOf(
  db: Kysely<Database>,
  customerIds: readonly number[],
): Promise<Map<number, Preferences>> {
  const out = new Map<number, Preferences>();
  const ids = [...new Set(customerIds)];
  const rows = new Map<number, { id: number; action: string; evidence: string; recorded_at: number }[]>();
  for (let i = 0; i < ids.length; i += 500) {
    const found = await db
      .selectFrom('consents')
      .select(['id', 'customer_id', 'action', 'evidence', 'recorded_at'])
      .where('customer_id', 'in', ids.slice(i, i + 500))
      .where('action', '=', PREFERENCE_ACTION)
      .execute();
    for (const r of found) rows.set(r.customer_id, [...(rows.get(r.customer_id) ?? []), r]);
  }
  for (const id of ids) out.set(id, rows.has(id) ? foldPreferences(rows.get(id)!) : NO_PREFERENCES);
  return out;
}

/** Appends one preference entry to the ledger with its proof; returns its id. */
export async function appendPreference(
  db: Kysely<Database>,
  customerId: number,
  stored: StoredChoice,
  evidence: ChoiceEvidence,
  now: number,
): Promise<number> {
  const [id] = await appendConsents(db, [
    {
      customerId,
      action: PREFERENCE_ACTION,
      basis: null,
      source: `preferences:${evidence.via}`,
      evidence: { ...stored, ...evidence },
      recordedAt: now,
    },
  ]);
  return id!;
}
