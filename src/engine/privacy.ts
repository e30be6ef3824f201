/**
 * A person's data rights: everything stored about an address as JSON (GDPR Art. 15 / 20) and
 * erasure (Art. 17), which keeps the hashed suppression and the consent evidence that names no
 * one. The audit of an address is in person-audit.ts, mailto unsubscribes in mail-unsubscribe.ts.
 */
import { forgetWebhookEvents } from '../webhooks/admin.js';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { enforceConsent } from '../consent/enforce.js';
import { appendConsents, consentHistory, consentStates } from '../consent/ledger.js';
import { suppress, suppressionsOf, type SuppressionRecord } from '../consent/suppressions.js';
import type { Customer } from '../db/schema.js';
import { hashEmail, normalizeEmail } from '../util/email.js';
import { recordOperatorAction, type Actor } from './operator-log.js';
import type { EngineContext } from './context.js';

const json = (s: string) => JSON.parse(s) as unknown;

/** Customers stored under an address (several when the shop keeps duplicate accounts). */
export async function customersByEmail(ctx: EngineContext, emailHash: string): Promise<Customer[]> {
  return ctx.k.selectFrom('customers').selectAll().where('email_hash', '=', emailHash).orderBy('id').execute();
}

/** Everything Comeback stores about one person (GDPR Art. 15 / 20), as plain JSON. */
export interface PersonExport {
  email: string;
  emailHash: string;
  exportedAt: string;
  customers: Record<string, unknown>[];
  suppressions: SuppressionRecord[];
  consentRequests: Record<string, unknown>[];
}

/**
 * Collects every row about the person with this address: customer records with their orders and
 * items, the consent ledger and current state, enrolments, messages, events, conversions and
 * coupons, plus suppressions and double opt-in requests of the address.
 */
export async function exportPerson(ctx: EngineContext, email: string): Promise<PersonExport> {
  const emailHash = hashEmail(email);
  const k = ctx.k;
  const customers = [];
  for (const c of await customersByEmail(ctx, emailHash)) {
    const orders = await k
      .selectFrom('orders')
      .selectAll()
      .where('customer_id', '=', c.id)
      .orderBy('ordered_at')
      .execute();
    const items = orders.length
      ? await k
          .selectFrom('order_items')
          .selectAll()
          .where(
            'order_id',
            'in',
            orders.map((o) => o.id),
          )
          .orderBy('id')
          .execute()
      : [];
    const messages = await k.selectFrom('messages').selectAll().where('customer_id', '=', c.id).orderBy('id').execute();
    customers.push({
      ...c,
      tags: json(c.tags),
      attributes: json(c.attributes),
      consentState: (await consentStates(k, [c.id])).get(c.id),
      consents: await consentHistory(k, c.id),
      orders: orders.map((o) => ({ ...o, items: items.filter((i) => i.order_id === o.id) })),
      enrollments: (
        await k.selectFrom('enrollments').selectAll().where('customer_id', '=', c.id).orderBy('id').execute()
      ).map((e) => ({
        ...e,
        variant_choices: json(e.variant_choices),
        trigger_data: json(e.trigger_data),
      })),
      messages: messages.map((m) => ({ ...m, links: json(m.links) })),
      events: (await k.selectFrom('events').selectAll().where('customer_id', '=', c.id).orderBy('id').execute()).map(
        (e) => ({ ...e, detail: json(e.detail) }),
      ),
      conversions: await k
        .selectFrom('conversions')
        .selectAll()
        .where('customer_id', '=', c.id)
        .orderBy('id')
        .execute(),
      coupons: await k.selectFrom('coupons').selectAll().where('customer_id', '=', c.id).orderBy('id').execute(),
    });
  }
  const requests = await k
    .selectFrom('consent_requests')
    .selectAll()
    .where('email_hash', '=', emailHash)
    .orderBy('id')
    .execute();
  return {
    email: normalizeEmail(email),
    emailHash,
    exportedAt: new Date(ctx.clock.now()).toISOString(),
    customers,
    suppressions: await suppressionsOf(k, emailHash),
    consentRequests: requests.map((r) => ({ ...r, evidence: json(r.evidence) })),
  };
}

/** What `forget` did. */
export interface ForgetResult {
  emailHash: string;
  /** Customer records anonymised. */
  customers: number;
  ordersDeleted: number;
  /** Orders kept without their external id and items, because a conversion (a statistic) counts them. */
  ordersKeptAnonymised: number;
  messagesScrubbed: number;
  messagesCancelled: number;
  consentRequestsDeleted: number;
  /** `.eml` files of the outbox transport removed. */
  outboxFilesDeleted: number;
  /** Webhook events about the person not yet delivered, and delivered ones still listed, deleted. */
  webhookEventsDeleted: number;
  /** The hash stays on the suppression list: the address is never mailed again. */
  suppressed: true;
  /**
   * What the database still needs for the erased data to leave the disk: nothing on SQLite once
   * its write-ahead log was emptied (`storage: 'done'`); on PostgreSQL a VACUUM and the end of WAL
   * retention (`storage: 'vacuum'`, see `POSTGRES_ERASURE`). `walBusy` when another process kept
   * SQLite's log from being emptied now (it is at the next checkpoint).
   */
  storage: 'done' | 'walBusy' | 'vacuum';
}

/** What PostgreSQL needs after an erasure for the old row versions to leave its files (docs/CONSENT.md). */
export const POSTGRES_ERASURE = [
  'PostgreSQL keeps the old versions of the erased rows in its data files until they are vacuumed,',
  'and in its write-ahead log (and WAL archives, replicas and base backups) until those are recycled.',
  'Run: VACUUM (VERBOSE) customers, orders, order_items, messages, events, consents, enrollments, consent_requests;',
  'then let the WAL be recycled (CHECKPOINT; wal_keep_size, replication slots and archive_command decide how long it stays).',
].join('\n');

/** Evidence keys that name no person (ids, times, channels); everything else is removed on erasure. */
const KEPT_EVIDENCE = [
  'messageId',
  'requestId',
  'requestedAt',
  'confirmedAt',
  'via',
  'imported',
  'orderId',
  'liftedSuppressions',
  'erasedAt',
];

/**
 * Erases a person (GDPR Art. 17). Personal data goes: address, names, attributes, tags, churn
 * reason, order numbers and items, rendered subjects, links, provider ids, user agents, event
 * details, IPs and user agents in the consent evidence, pending opt-in requests and the outbox
 * files. What stays is anonymous and keeps statistics right: the customer row as an `erased-<id>`
 * stub, enrolments, message statuses with their legal basis, events by type, conversions and the
 * orders they count, and the consent ledger rows (basis, source, wording, time) with a SHA-256 of
 * the removed evidence, so a backup copy of it can still be verified. The address hash goes on the
 * suppression list first, so a re-imported or re-created customer is never mailed again (a later
 * confirmed double opt-in by the person is the only way back).
 */
export async function forgetPerson(ctx: EngineContext, email: string, by?: Actor): Promise<ForgetResult> {
  const now = ctx.clock.now();
  const emailHash = hashEmail(email);
  const k = ctx.k;
  const result: ForgetResult = {
    emailHash,
    customers: 0,
    ordersDeleted: 0,
    ordersKeptAnonymised: 0,
    messagesScrubbed: 0,
    messagesCancelled: 0,
    consentRequestsDeleted: 0,
    outboxFilesDeleted: 0,
    webhookEventsDeleted: 0,
    suppressed: true,
    storage: 'done',
  };
  await suppress(k, emailHash, 'erasure', now);
  const customers = await customersByEmail(ctx, emailHash);
  const ids = customers.map((c) => c.id);
  const requests = await k
    .deleteFrom('consent_requests')
    .where((eb) => eb.or([eb('email_hash', '=', emailHash), ...(ids.length ? [eb('customer_id', 'in', ids)] : [])]))
    .executeTakeFirst();
  result.consentRequestsDeleted = Number(requests.numDeletedRows);
  for (const c of customers) {
    await appendConsents(k, [
      {
        customerId: c.id,
        action: 'withdraw',
        basis: null,
        source: 'erasure',
        recordedAt: now,
        evidence: { erasedAt: now },
      },
    ]);
    await k.updateTable('customers').set({ erased_at: now, updated_at: now }).where('id', '=', c.id).execute();
    result.messagesCancelled += (await enforceConsent(k, c.id, ctx.sequences, now)).cancelled;
    result.outboxFilesDeleted += await deleteOutboxFiles(ctx, c.id);
    await k.transaction().execute(async (trx) => {
      await trx
        .updateTable('customers')
        .set({
          external_id: `erased-${c.id}`,
          email: null,
          email_hash: null,
          first_name: null,
          last_name: null,
          gender: null,
          title: null,
          churn_reason: null,
          churn_reason_source: null,
          late_payments: 0,
          tags: '[]',
          attributes: '{}',
        })
        .where('id', '=', c.id)
        .execute();
      const orders = await trx.selectFrom('orders').select('id').where('customer_id', '=', c.id).execute();
      const counted = new Set(
        (await trx.selectFrom('conversions').select('order_id').where('customer_id', '=', c.id).execute()).map(
          (r) => r.order_id,
        ),
      );
      if (orders.length)
        await trx
          .deleteFrom('order_items')
          .where(
            'order_id',
            'in',
            orders.map((o) => o.id),
          )
          .execute();
      for (const o of orders) {
        if (counted.has(o.id)) {
          await trx
            .updateTable('orders')
            .set({ external_id: `erased-${o.id}`, coupon_code: null })
            .where('id', '=', o.id)
            .execute();
          result.ordersKeptAnonymised++;
        } else {
          await trx.deleteFrom('orders').where('id', '=', o.id).execute();
          result.ordersDeleted++;
        }
      }
      await trx
        .updateTable('enrollments')
        .set({ trigger_data: '{}', address_hash: null })
        .where('customer_id', '=', c.id)
        .execute();
      const scrubbed = await trx
        .updateTable('messages')
        .set({ subject: null, links: '[]', provider_id: null, message_id_header: null, error: null, updated_at: now })
        .where('customer_id', '=', c.id)
        .executeTakeFirst();
      result.messagesScrubbed += Number(scrubbed.numUpdatedRows);
      await trx.updateTable('events').set({ user_agent: null, detail: '{}' }).where('customer_id', '=', c.id).execute();
      result.webhookEventsDeleted += await forgetWebhookEvents(trx, c.id);
      for (const r of await trx
        .selectFrom('consents')
        .select(['id', 'evidence'])
        .where('customer_id', '=', c.id)
        .execute()) {
        await trx
          .updateTable('consents')
          .set({ evidence: redactEvidence(r.evidence) })
          .where('id', '=', r.id)
          .execute();
      }
    });
    result.customers++;
  }
  // The trail names the customer ids only, never the address: it outlives the erasure.
  const counts = {
    customers: result.customers,
    ordersDeleted: result.ordersDeleted,
    messagesCancelled: result.messagesCancelled,
    messagesScrubbed: result.messagesScrubbed,
  };
  await recordOperatorAction(k, {
    at: now,
    action: 'person.erase',
    target: ids.length ? `customer ${ids.join(', ')}` : 'no customer record (suppressed)',
    counts,
    ...(by ? { by } : {}),
  });
  result.storage = clearStorage(ctx);
  ctx.log.info(result, 'person erased');
  return result;
}

/**
 * SQLite (with secure_delete on) zeroes what was erased in the database file, but the write-ahead
 * log still holds older copies of the pages: move it into the file and truncate it to nothing.
 */
function clearStorage(ctx: EngineContext): ForgetResult['storage'] {
  if (!ctx.db.sqlite) return 'vacuum';
  const [r] = ctx.db.sqlite.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
  return r && r.busy !== 0 ? 'walBusy' : 'done';
}

/** Keeps the evidence keys that name no person; records a SHA-256 of the original for verification. */
export function redactEvidence(evidence: string): string {
  const parsed = JSON.parse(evidence) as Record<string, unknown>;
  if (parsed.redacted === true) return evidence;
  const kept = Object.fromEntries(Object.entries(parsed).filter(([key]) => KEPT_EVIDENCE.includes(key)));
  return JSON.stringify({ ...kept, redacted: true, sha256: createHash('sha256').update(evidence).digest('hex') });
}

/** Removes the outbox `.eml` files of a customer's messages (only inside the configured outbox folder). */
async function deleteOutboxFiles(ctx: EngineContext, customerId: number): Promise<number> {
  if (ctx.config.transport.type !== 'outbox') return 0;
  const dir = resolve(ctx.config.transport.dir);
  const rows = await ctx.k
    .selectFrom('messages')
    .select('provider_id')
    .where('customer_id', '=', customerId)
    .where('transport', '=', 'outbox')
    .execute();
  let deleted = 0;
  for (const r of rows) {
    if (!r.provider_id) continue;
    const file = resolve(r.provider_id);
    const rel = relative(dir, file);
    if (rel.startsWith('..') || isAbsolute(rel) || !file.endsWith('.eml')) continue;
    await rm(file, { force: true });
    deleted++;
  }
  return deleted;
}
