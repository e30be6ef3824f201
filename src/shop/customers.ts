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

/** Columns of a stored customer that an upsert may replace. */
export type UpdatableColumn =
  | 'email'
  | 'first_name'
  | 'last_name'
  | 'gender'
  | 'title'
  | 'locale'
  | 'time_zone'
  | 'acquired_via'
  | 'churn_reason'
  | 'late_payments'
  | 'tags'
  | 'attributes';

/** Which input field replaces which stored columns (the address and its hash go together). */
const UPDATES: Record<UpdatableColumn, keyof CustomerInput> = {
  email: 'email',
  first_name: 'firstName',
  last_name: 'lastName',
  gender: 'gender',
  title: 'title',
  locale: 'locale',
  time_zone: 'timeZone',
  acquired_via: 'acquiredVia',
  churn_reason: 'churnReason',
  late_payments: 'latePayments',
  tags: 'tags',
  attributes: 'attributes',
};

/** A customer to insert, and the columns that replace a stored customer's: those the input gave. */
export interface CustomerWrite {
  row: NewCustomer;
  update: UpdatableColumn[];
}

/**
 * Turns validated input into a row; throws zod's error on invalid input. A field the input does
 * not give (undefined) gets its default in a new customer and keeps its stored value in a known
 * one; `null` clears it.
 */
export function toCustomerRow(input: CustomerInput, defaults: CustomerDefaults, now: number): CustomerWrite {
  const c = parseInput(
    CustomerInput,
    input,
    `customer${typeof input?.externalId === 'string' ? ` ${input.externalId}` : ''}`,
  );
  const email = c.email ? normalizeEmail(c.email) : null;
  const row: NewCustomer = {
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
  const update = (Object.keys(UPDATES) as UpdatableColumn[]).filter((col) => c[UPDATES[col]] !== undefined);
  return { row, update };
}

/**
 * Inserts or updates customers by external id, one statement per slice of rows that give the
 * same fields. An update replaces only the fields the input gave (a file with just `external_id`
 * and `email` changes addresses and nothing else), except that a known churn reason is kept when
 * the new row has none. A row whose address was erased is not stored at all and has no id in the
 * result: erasure must not be undone by the next import, API call or shop sync (the suppression
 * by hash would keep the address from being mailed, but the address itself would be back). A
 * changed address moves the customer's active enrolments with it (src/shop/address-change.ts).
 */
export async function upsertCustomerRows(db: Kysely<Database>, writes: CustomerWrite[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const groups = new Map<string, CustomerWrite[]>();
  const erased = await erasedAddresses(
    db,
    writes.flatMap((w) => (w.row.email_hash ? [w.row.email_hash] : [])),
  );
  for (const w of writes) {
    if (w.row.email_hash && erased.has(w.row.email_hash)) continue;
    const key = w.update.join(',');
    const group = groups.get(key);
    if (group) group.push(w);
    else groups.set(key, [w]);
  }
  for (const group of groups.values()) {
    const update = group[0]!.update;
    const rows = group.map((w) => w.row);
    for (const chunk of statementChunks(rows, Object.keys(rows[0]!).length)) {
      const result = await db
        .insertInto('customers')
        .values(chunk)
        .onConflict((oc) =>
          oc.column('external_id').doUpdateSet((eb) => {
            const set: Record<string, unknown> = { updated_at: eb.ref('excluded.updated_at') };
            for (const col of update) {
              if (col === 'churn_reason') {
                set.churn_reason = eb.fn.coalesce('excluded.churn_reason', 'customers.churn_reason');
                set.churn_reason_source = eb.fn.coalesce(
                  'excluded.churn_reason_source',
                  'customers.churn_reason_source',
                );
              } else {
                set[col] = eb.ref(`excluded.${col}`);
                if (col === 'email') set.email_hash = eb.ref('excluded.email_hash');
              }
            }
            return set;
          }),
        )
        .returning(['id', 'external_id'])
        .execute();
      for (const r of result) ids.set(r.external_id, r.id);
      if (update.includes('email'))
        await followAddressChanges(
          db,
          result.map((r) => r.id),
          Number(chunk[0]!.updated_at),
        );
    }
  }
  return ids;
}

/** The hashes among `hashes` whose address was erased (GDPR Art. 17): its suppression says so. */
export async function erasedAddresses(db: Kysely<Database>, hashes: string[]): Promise<Set<string>> {
  const erased = new Set<string>();
  const unique = [...new Set(hashes)];
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await db
      .selectFrom('suppressions')
      .select('email_hash')
      .where('reason', '=', 'erasure')
      .where('email_hash', 'in', unique.slice(i, i + 500))
      .execute();
    for (const r of rows) erased.add(r.email_hash);
  }
  return erased;
}

/** Looks up internal ids for a batch of external ids (missing ones are absent from the map). */
export async function customerIdsByExternalId(
  db: Kysely<Database>,
  externalIds: string[],
): Promise<Map<string, number>> {
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
