import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Consent, Database } from '../db/schema.js';
import { boundedJson, boundedText, TEXT } from '../util/limits.js';
import { parseInput } from '../util/parse-input.js';
import { CONSENT_BASES, type ActiveBasis, type ConsentBasis, type ConsentEntry, type ConsentState } from './types.js';

/** The shape every ledger entry must have; a grant without a basis or source is refused. */
const Entry = z
  .object({
    customerId: z.number().int().positive(),
    action: z.enum(['grant', 'withdraw', 'preference']),
    basis: z.enum(CONSENT_BASES).nullish(),
    source: boundedText(TEXT.name).min(1),
    textVersion: boundedText(TEXT.name).nullish(),
    evidence: boundedJson().optional(),
    recordedAt: z.number().int().min(0),
    channel: z.string().min(1).optional(),
  })
  .refine((e) => e.action !== 'grant' || !!e.basis, {
    message: 'a grant needs a basis (double_opt_in, opt_in or existing_customer)',
    path: ['basis'],
  });

/** Appends entries to the ledger. Entries are never updated or deleted; invalid ones throw InputError. */
export async function appendConsents(db: Kysely<Database>, entries: ConsentEntry[]): Promise<number[]> {
  if (entries.length === 0) return [];
  for (const e of entries) parseInput(Entry, e, 'consent entry');
  const rows = await db
    .insertInto('consents')
    .values(
      entries.map((e) => ({
        customer_id: e.customerId,
        channel: e.channel ?? 'email',
        action: e.action,
        basis: e.basis ?? null,
        source: e.source,
        text_version: e.textVersion ?? null,
        evidence: JSON.stringify(e.evidence ?? {}),
        recorded_at: e.recordedAt,
      })),
    )
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Folds ledger rows into the current state, in the order things happened (`recorded_at`, then
 * id: an import may append an old grant after a newer objection, and must not undo it).
 *
 * - A grant puts its basis in force; an explicit opt-in (`opt_in`, `double_opt_in`) after an
 *   objection ends the objection.
 * - A withdrawal of one basis ends that basis; a withdrawal without a basis is an objection to
 *   all marketing and ends every basis.
 * - After an objection, `existing_customer` never comes back (§7(3) no. 3 UWG: the customer must
 *   not have objected); only a new explicit opt-in allows mail again.
 */
export function deriveConsentState(
  rows: Pick<Consent, 'id' | 'action' | 'basis' | 'recorded_at' | 'channel'>[],
): ConsentState {
  const ordered = [...rows].sort((a, b) => a.recorded_at - b.recorded_at || a.id - b.id);
  const active = new Map<ConsentBasis, ActiveBasis>();
  let objected = false;
  let objectedAt: number | undefined;
  for (const r of ordered) {
    if (r.channel !== 'email') continue;
    const basis = r.basis as ConsentBasis | null;
    if (r.action === 'grant' && basis) {
      if (basis === 'existing_customer' && objectedAt !== undefined) continue;
      active.set(basis, { basis, consentId: r.id, grantedAt: r.recorded_at });
      if (basis !== 'existing_customer') objected = false;
    } else if (r.action === 'withdraw') {
      if (basis) active.delete(basis);
      else {
        active.clear();
        objected = true;
        objectedAt = r.recorded_at;
      }
    }
  }
  return { active: [...active.values()], objected, ...(objectedAt !== undefined ? { objectedAt } : {}) };
}

/** Current consent states for a batch of customers, one query per 500. */
export async function consentStates(db: Kysely<Database>, customerIds: number[]): Promise<Map<number, ConsentState>> {
  const byCustomer = new Map<number, Consent[]>();
  for (let i = 0; i < customerIds.length; i += 500) {
    const rows = await db
      .selectFrom('consents')
      .selectAll()
      .where('customer_id', 'in', customerIds.slice(i, i + 500))
      .orderBy('id')
      .execute();
    for (const r of rows) {
      const list = byCustomer.get(r.customer_id) ?? [];
      list.push(r);
      byCustomer.set(r.customer_id, list);
    }
  }
  return new Map(customerIds.map((id) => [id, deriveConsentState(byCustomer.get(id) ?? [])]));
}

/** A ledger entry as the library returns it: evidence parsed. */
export interface ConsentRecord {
  id: number;
  channel: string;
  action: 'grant' | 'withdraw' | 'preference';
  basis: ConsentBasis | null;
  source: string;
  textVersion: string | null;
  evidence: Record<string, unknown>;
  recordedAt: number;
}

/** Turns a ledger row into a record. */
export function toConsentRecord(r: Consent): ConsentRecord {
  return {
    id: r.id,
    channel: r.channel,
    action: r.action as ConsentRecord['action'],
    basis: r.basis as ConsentBasis | null,
    source: r.source,
    textVersion: r.text_version,
    evidence: JSON.parse(r.evidence) as Record<string, unknown>,
    recordedAt: r.recorded_at,
  };
}

/** The whole ledger of one customer, in the order it was written. */
export async function consentHistory(db: Kysely<Database>, customerId: number): Promise<ConsentRecord[]> {
  const rows = await db
    .selectFrom('consents')
    .selectAll()
    .where('customer_id', '=', customerId)
    .orderBy('id')
    .execute();
  return rows.map(toConsentRecord);
}
