/**
 * Everything sending a message needs from the database, read for a whole batch of messages at
 * once: concurrent send jobs ask for their own message, and a `Batcher` turns those asks into one
 * claim and one query per table (customers, enrolments, consents, suppressions, orders) instead of
 * six round trips per mail.
 */
import { consentStates } from '../consent/ledger.js';
import { preferencesOf } from '../consent/preference-store.js';
import type { Preferences } from '../consent/preferences.js';
import { suppressionScopes } from '../consent/suppressions.js';
import type { ConsentState } from '../consent/types.js';
import type { Customer, Enrollment, Message } from '../db/schema.js';
import type { EngineContext } from './context.js';
import { orderHistories, type OrderRow } from './personalize.js';

/** A claimed message with what its send needs, read after the claim (so a later opt-out is seen). */
export interface SendInputs {
  message: Message;
  customer: Customer;
  enrollment: Enrollment;
  consent: ConsentState;
  /** Scopes (`all`, sequence ids) under which the customer's address is suppressed. */
  suppressedScopes: ReadonlySet<string>;
  orders: OrderRow[];
  /** The customer's preference-centre choices (a chosen language is already in `customer.locale`). */
  preferences: Preferences;
}

const none: ReadonlySet<string> = new Set();

/** Reads the inputs of these claimed messages: one query per table for all of them. */
export async function loadSendInputs(ctx: EngineContext, messages: Message[]): Promise<Map<number, SendInputs>> {
  const out = new Map<number, SendInputs>();
  if (messages.length === 0) return out;
  const customerIds = [...new Set(messages.map((m) => m.customer_id))];
  const customers = new Map(
    (await ctx.k.selectFrom('customers').selectAll().where('id', 'in', customerIds).execute()).map((c) => [c.id, c]),
  );
  const enrollmentIds = [...new Set(messages.map((m) => m.enrollment_id))];
  const enrollments = new Map(
    (await ctx.k.selectFrom('enrollments').selectAll().where('id', 'in', enrollmentIds).execute()).map((e) => [
      e.id,
      e,
    ]),
  );
  const consents = await consentStates(ctx.k, customerIds);
  const hashes = [...customers.values()].flatMap((c) => (c.email_hash ? [c.email_hash] : []));
  const suppressed = await suppressionScopes(
    ctx.k,
    hashes,
    [...enrollments.values()].map((e) => e.sequence_id),
  );
  const orders = await orderHistories(ctx.k, customerIds);
  const prefs = await preferencesOf(ctx.k, customerIds);
  for (const message of messages) {
    const found = customers.get(message.customer_id);
    const chosen = prefs.get(message.customer_id)?.locale;
    // A language the customer chose wins over the shop's (a re-import may have written the shop's back).
    const customer = found && chosen && found.locale.split('-')[0] !== chosen ? { ...found, locale: chosen } : found;
    const enrollment = enrollments.get(message.enrollment_id);
    if (!customer || !enrollment)
      throw new Error(
        `message ${message.id}: customer ${message.customer_id} or enrolment ${message.enrollment_id} is missing`,
      );
    out.set(message.id, {
      message,
      customer,
      enrollment,
      consent: consents.get(customer.id)!,
      suppressedScopes: (customer.email_hash && suppressed.get(customer.email_hash)) || none,
      orders: orders.get(customer.id) ?? [],
      preferences: prefs.get(customer.id)!,
    });
  }
  return out;
}
