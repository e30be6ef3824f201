import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { SuppressionReason } from './types.js';

/**
 * Adds an address hash to the suppression list (idempotent per scope: the first reason stays).
 * `scope` is `all` (every marketing mail) or a sequence id.
 */
export async function suppress(
  db: Kysely<Database>,
  emailHash: string,
  reason: SuppressionReason | string,
  now: number,
  scope = 'all',
): Promise<void> {
  await db
    .insertInto('suppressions')
    .values({ email_hash: emailHash, scope, reason, created_at: now })
    .onConflict((oc) => oc.columns(['email_hash', 'scope']).doNothing())
    .execute();
}

/** The set of hashes (of those given) suppressed for all mail or for this sequence. */
export async function suppressedHashes(
  db: Kysely<Database>,
  hashes: string[],
  sequenceId?: string,
): Promise<Set<string>> {
  return new Set((await suppressionScopes(db, hashes, sequenceId ? [sequenceId] : [])).keys());
}

/** One suppression entry as the library returns it. */
export interface SuppressionRecord {
  scope: string;
  reason: string;
  createdAt: number;
}

/** Every suppression of one address hash (all scopes). */
export async function suppressionsOf(db: Kysely<Database>, emailHash: string): Promise<SuppressionRecord[]> {
  const rows = await db
    .selectFrom('suppressions')
    .select(['scope', 'reason', 'created_at'])
    .where('email_hash', '=', emailHash)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ scope: r.scope, reason: r.reason, createdAt: r.created_at }));
}

/**
 * Removes the `all`-scope suppressions of a hash whose reason is one of `reasons`; returns what
 * was removed so the caller can keep it as evidence. Only a confirmed double opt-in calls this.
 */
export async function liftSuppressions(
  db: Kysely<Database>,
  emailHash: string,
  reasons: readonly string[],
): Promise<SuppressionRecord[]> {
  if (reasons.length === 0) return [];
  const rows = await db
    .deleteFrom('suppressions')
    .where('email_hash', '=', emailHash)
    .where('scope', '=', 'all')
    .where('reason', 'in', [...reasons])
    .returning(['scope', 'reason', 'created_at'])
    .execute();
  return rows.map((r) => ({ scope: r.scope, reason: r.reason, createdAt: r.created_at }));
}

/**
 * For many recipients of many sequences at once: the scopes (`all` or sequence ids, of those given)
 * under which each of these hashes is suppressed. Hashes with no suppression are absent.
 */
export async function suppressionScopes(
  db: Kysely<Database>,
  hashes: string[],
  sequenceIds: string[],
): Promise<Map<string, Set<string>>> {
  const found = new Map<string, Set<string>>();
  const scopes = ['all', ...new Set(sequenceIds)];
  const unique = [...new Set(hashes)];
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await db
      .selectFrom('suppressions')
      .select(['email_hash', 'scope'])
      .where('email_hash', 'in', unique.slice(i, i + 500))
      .where('scope', 'in', scopes)
      .execute();
    for (const r of rows) found.set(r.email_hash, (found.get(r.email_hash) ?? new Set()).add(r.scope));
  }
  return found;
}
