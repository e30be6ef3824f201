/**
 * The one door for preference-centre choices: the page, `POST /api/preferences` and
 * `engine.preferences.set` all call `setPreference`, which validates, records the choice in the
 * consent ledger with its evidence (once), and applies its consequences at once.
 */
import { preferencesOf, appendPreference } from '../consent/preference-store.js';
import { PreferenceChoice, type ChoiceEvidence, type Preferences, type StoredChoice } from '../consent/preferences.js';
import type { Customer } from '../db/schema.js';
import { InputError, NotFoundError } from '../errors.js';
import { findCustomer } from '../shop/customers.js';
import { closest } from '../util/did-you-mean.js';
import { parseInput } from '../util/parse-input.js';
import type { EngineContext } from './context.js';

const DAY = 86_400_000;
/** A snooze of the same length chosen again within this time is the same choice (a form posted twice). */
const SAME_SNOOZE_MS = DAY;

/** What `setPreference` did. */
export interface PreferenceResult {
  /** False when the choice was already in force (posted twice): nothing new in the ledger. */
  recorded: boolean;
  /** The ledger entry's id when recorded. */
  consentId?: number;
  preferences: Preferences;
  /** Enrolments ended by a topic opt-out. */
  exited: number;
  /** Reserved messages moved to the end of a snooze (never dropped). */
  deferred: number;
}

/** The customer, unless unknown or erased (both answer the same: not found). */
export async function livingCustomer(ctx: EngineContext, ref: number | string): Promise<Customer> {
  const c = await findCustomer(ctx.k, ref);
  if (!c || c.erased_at !== null) throw new NotFoundError('customer', String(ref));
  return c;
}

/** Current preferences of a customer (internal or external id). */
export async function getPreferences(ctx: EngineContext, ref: number | string): Promise<Preferences> {
  const c = await livingCustomer(ctx, ref);
  return (await preferencesOf(ctx.k, [c.id])).get(c.id)!;
}

function unchanged(p: Preferences, c: PreferenceChoice, now: number): boolean {
  if ('snooze' in c)
    return c.snooze === 0 ? p.snooze === null : p.snooze?.days === c.snooze && now - p.snooze.at < SAME_SNOOZE_MS;
  if ('frequency' in c) return p.frequency === c.frequency;
  if ('topic' in c) return p.topicsOut.includes(c.topic) !== c.subscribed;
  return p.locale === c.locale;
}

/**
 * Records one choice for a customer. Throws InputError for an unknown topic or a snooze length
 * not offered (the API answers 400), NotFoundError for an unknown or erased customer.
 */
export async function setPreference(
  ctx: EngineContext,
  ref: number | string,
  input: unknown,
  evidence: ChoiceEvidence,
): Promise<PreferenceResult> {
  const choice = parseInput(PreferenceChoice, input, 'preference') as PreferenceChoice;
  if ('topic' in choice && !ctx.config.topics.includes(choice.topic)) {
    const hint = closest(choice.topic, ctx.config.topics);
    throw new InputError('preference', [
      `topic: unknown topic "${choice.topic}"${hint ? ` (did you mean "${hint}"?)` : ''}; topics: ${ctx.config.topics.join(', ') || '(none declared)'}`,
    ]);
  }
  const customer = await livingCustomer(ctx, ref);
  const now = ctx.clock.now();
  const stored: StoredChoice = {
    choice,
    ...('snooze' in choice && choice.snooze > 0 ? { until: now + choice.snooze * DAY } : {}),
  };
  // Read and append in one transaction, the customer row locked: a form posted twice at once
  // (a double click) is recorded once.
  const written = await ctx.k.transaction().execute(async (trx) => {
    let lock = trx.selectFrom('customers').select('id').where('id', '=', customer.id);
    if (ctx.db.dialect === 'postgres') lock = lock.forUpdate();
    await lock.executeTakeFirst();
    const before = (await preferencesOf(trx, [customer.id])).get(customer.id)!;
    if (unchanged(before, choice, now)) return { before };
    return { consentId: await appendPreference(trx, customer.id, stored, evidence, now) };
  });
  if (written.before) return { recorded: false, preferences: written.before, exited: 0, deferred: 0 };
  const consentId = written.consentId!;
  const preferences = (await preferencesOf(ctx.k, [customer.id])).get(customer.id)!;
  const result: PreferenceResult = { recorded: true, consentId, preferences, exited: 0, deferred: 0 };
  if ('locale' in choice) {
    await ctx.k
      .updateTable('customers')
      .set({ locale: choice.locale, updated_at: now })
      .where('id', '=', customer.id)
      .execute();
  } else if ('snooze' in choice && stored.until !== undefined) {
    // Mails already reserved wait for the end of the snooze; the sender checks again anyway.
    const moved = await ctx.k
      .updateTable('messages')
      .set({ due_at: stored.until, dispatched_at: null, updated_at: now })
      .where('customer_id', '=', customer.id)
      .where('status', '=', 'reserved')
      .where('due_at', '<', stored.until)
      .executeTakeFirst();
    result.deferred = Number(moved.numUpdatedRows);
  } else if ('topic' in choice && !choice.subscribed) {
    result.exited = await stopTopic(ctx, customer.id, choice.topic, now);
  }
  return result;
}

/** Ends the customer's active enrolments in sequences of the topic and cancels their unsent mails. */
async function stopTopic(ctx: EngineContext, customerId: number, topic: string, now: number): Promise<number> {
  const active = await ctx.k
    .selectFrom('enrollments')
    .select(['id', 'sequence_id', 'sequence_version'])
    .where('customer_id', '=', customerId)
    .where('status', '=', 'active')
    .execute();
  let exited = 0;
  for (const e of active) {
    if ((await ctx.sequences.version(e.sequence_id, e.sequence_version)).topic !== topic) continue;
    await ctx.k
      .updateTable('messages')
      .set({ status: 'cancelled', error: 'preference: topic_opt_out', updated_at: now })
      .where('enrollment_id', '=', e.id)
      .where('status', 'in', ['reserved', 'claimed'])
      .execute();
    const r = await ctx.k
      .updateTable('enrollments')
      .set({ status: 'exited', ended_at: now, next_due_at: null, exit_reason: 'topic_opt_out' })
      .where('id', '=', e.id)
      .where('status', '=', 'active')
      .executeTakeFirst();
    exited += Number(r.numUpdatedRows);
  }
  return exited;
}

/**
 * Orders a scheduler batch so that, among enrolments due at the same time, the one whose sequence
 * mailed least recently goes first: with "one a month" two sequences of one address take turns
 * instead of the older enrolment winning every month. Sorts `due` in place.
 */
export async function fairOrder(
  k: EngineContext['k'],
  due: { id: number; next_due_at: number | null }[],
): Promise<void> {
  if (due.length < 2) return;
  const rows = await k
    .selectFrom('messages')
    .select(['enrollment_id'])
    .select((eb) => eb.fn.max('reserved_at').as('last'))
    .where(
      'enrollment_id',
      'in',
      due.map((e) => e.id),
    )
    .groupBy('enrollment_id')
    .execute();
  const last = new Map(rows.map((r) => [r.enrollment_id, Number(r.last)]));
  due.sort(
    (a, b) =>
      (a.next_due_at ?? 0) - (b.next_due_at ?? 0) ||
      (last.get(a.id) ?? -Infinity) - (last.get(b.id) ?? -Infinity) ||
      a.id - b.id,
  );
}
