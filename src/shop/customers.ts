import type { Kysely } from 'kysely';
import { statementChunks } from '../db/chunks.js';
import type { Customer, Database, NewCustomer } from '../db/schema.js';
import { hashEmail, normalizeEmail } from '../util/email.js';
import { parseInput } from '../util/parse-input.js';
import { followAddressChanges } from './address-change.js';
import { CustomerInput } from './types.js';

/** Defaults applied to customers that don't say their locale or time zone. */
export interface CustomerDefaults {
  locale: string;
  timeZone: string;
}

/** Turns validated input into a row; throws zod's error on invalid input. */
export function toCustomerRow(input: CustomerInput, defaults: CustomerDefaults, now: number): NewCustomer {
  const c = parseInput(CustomerInput, input, `customer${typeof input?.externalId === 'string' ? ` ${input.externalId}` : ''}`);
  const email = c.email ? normalizeEmail(c.email) : null;
  return {
    external_id: c.externalId,
    email,
    email_hash: email ? hashEmail(email) : null,
    first_name: c.firstName ?? null,
    last_name: c.lastName ?? null,
    gender: c.gender ?? null,
    title: c.title ?? null,
    locale: c.locale ?? defaults.locale,
    time_zone: c.timeZone ?? defaults.timeZone,
    acquired_via: c.acquiredVia ?? 'unknown',
    churn_reason: c.churnReason ?? null,
    churn_reason_source: c.churnReason ? 'import' : null,
    late_payments: c.latePayments ?? 0,
    tags: JSON.stringify(c.tags ?? []),
    attributes: JSON.stringify(c.attributes ?? {}),
    created_at: c.createdAt ?? now,
    updated_at: now,
    erased_at: null,
  };
}

/**
 * Inserts or updates customers by external id in one statement. The row replaces the stored
 * fields, except that a known churn reason is kept when the new row has none, and an erased
 * customer stays erased (their suppression is by hash, so they are never mailed either way).
 * A changed address moves the customer's active enrolments with it (src/shop/address-change.ts).
 */
export async function upsertCustomerRows(db: Kysely<Database>, rows: NewCustomer[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const chunk of statementChunks(rows, Object.keys(rows[0] ?? {}).length)) {
    const result = await db
      .insertInto('customers')
      .values(chunk)
      .onConflict((oc) =>
        oc.column('external_id').doUpdateSet((eb) => ({
          email: eb.ref('excluded.email'),
          email_hash: eb.ref('excluded.email_hash'),
          first_name: eb.ref('excluded.first_name'),
          last_name: eb.ref('excluded.last_name'),
          gender: eb.ref('excluded.gender'),
          title: eb.ref('excluded.title'),
          locale: eb.ref('excluded.locale'),
          time_zone: eb.ref('excluded.time_zone'),
          acquired_via: eb.ref('excluded.acquired_via'),
          churn_reason: eb.fn.coalesce('excluded.churn_reason', 'customers.churn_reason'),
          churn_reason_source: eb.fn.coalesce('excluded.churn_reason_source', 'customers.churn_reason_source'),
          late_payments: eb.ref('excluded.late_payments'),
          tags: eb.ref('excluded.tags'),
          attributes: eb.ref('excluded.attributes'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .returning(['id', 'external_id'])
      .execute();
    for (const r of result) ids.set(r.external_id, r.id);
    await followAddressChanges(db, result.map((r) => r.id), Number(chunk[0]!.updated_at));
  }
  return ids;
}

/** Looks up internal ids for a batch of external ids (missing ones are absent from the map). */
export async function customerIdsByExternalId(db: Kysely<Database>, externalIds: string[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const unique = [...new Set(externalIds)];
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await db
      .selectFrom('customers')
      .select(['id', 'external_id'])
      .where('external_id', 'in', unique.slice(i, i + 500))
      .execute();
    for (const r of rows) ids.set(r.external_id, r.id);
  }
  return ids;
}

/** A customer by internal id or external id (a string that is not all digits is an external id). */
export async function findCustomer(db: Kysely<Database>, idOrExternal: number | string): Promise<Customer | undefined> {
  const q = db.selectFrom('customers').selectAll();
  if (typeof idOrExternal === 'number') return q.where('id', '=', idOrExternal).executeTakeFirst();
  return (
    (await q.where('external_id', '=', idOrExternal).executeTakeFirst()) ??
    (/^\d+$/.test(idOrExternal) ? await q.where('id', '=', Number(idOrExternal)).executeTakeFirst() : undefined)
  );
}
