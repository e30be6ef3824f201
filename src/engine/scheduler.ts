import type { Insertable, Kysely, Transaction } from 'kysely';
import { statementChunks } from '../db/chunks.js';
import type { Database, Enrollment, MessagesTable } from '../db/schema.js';
import { decide, type Decision } from '../sequences/machine.js';
import { stepAt } from '../sequences/paths.js';
import { parseDuration } from '../sequences/duration.js';
import type { Sequence } from '../sequences/schema.js';
import { unitDraw } from '../util/hash.js';
import type { EngineContext } from './context.js';
import { factsFor } from './facts.js';
import { nextAtHour, nextInWindow, preferredHour } from './timing.js';
import { preferencesOf } from '../consent/preference-store.js';
import { preferenceGate, preferenceWindow, type Preferences } from '../consent/preferences.js';
import { fairOrder } from './preferences.js';

/** What one scheduler pass did. */
export interface ScheduleResult {
  processed: number;
  reserved: number;
  skipped: number;
  deferred: number;
  completed: number;
  exited: number;
  /** Enrolments that ended because they reached a goal other than a purchase (a purchase is attributed when the order arrives). */
  goalsReached: { enrollmentId: number; sequenceId: string }[];
}

/** Variant weights per (sequence, step), supplied by the optimiser; absent means equal shares. */
export type VariantWeights = (sequenceId: string, stepId: string) => Map<string | null, number> | undefined;

type AddressOf = { id: number; email_hash: string | null };

/** What a frequency cap counts by: the address, so a person's duplicate records (guest order and account) share one cap. */
function capKey(c: AddressOf): string {
  return c.email_hash ?? `customer:${c.id}`;
}

/** When mails were reserved since `since` for these customers' addresses (all records of each), across all sequences. */
async function recentMailTimes(trx: Kysely<Database>, customers: AddressOf[], since: number): Promise<Map<string, number[]>> {
  const keyOf = new Map(customers.map((c) => [c.id, capKey(c)]));
  const hashes = [...new Set(customers.flatMap((c) => (c.email_hash ? [c.email_hash] : [])))];
  if (hashes.length > 0) {
    for (const r of await trx.selectFrom('customers').select(['id', 'email_hash']).where('email_hash', 'in', hashes).execute()) keyOf.set(r.id, capKey(r));
  }
  const rows = await trx
    .selectFrom('messages')
    .select(['customer_id', 'reserved_at'])
    .where('customer_id', 'in', [...keyOf.keys()])
    .where('reserved_at', '>', since)
    .where('status', 'in', ['reserved', 'sending', 'sent', 'uncertain'])
    .execute();
  const times = new Map<string, number[]>();
  for (const r of rows) {
    const key = keyOf.get(r.customer_id)!;
    times.set(key, [...(times.get(key) ?? []), r.reserved_at]);
  }
  return times;
}

/** Times of human (not machine) opens per customer in the last 180 days, when preferred hours are on. */
async function humanOpenTimes(ctx: EngineContext, trx: Kysely<Database>, customerIds: number[], now: number): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  if (ctx.config.worker.preferredHourMinOpens <= 0 || customerIds.length === 0) return out;
  // Through the customer's messages (both joins indexed), not a scan of the events table.
  const rows = await trx
    .selectFrom('messages')
    .innerJoin('events', 'events.message_id', 'messages.id')
    .select(['messages.customer_id', 'events.occurred_at'])
    .where('messages.customer_id', 'in', customerIds)
    .where('events.type', '=', 'open')
    .where('events.machine', '=', 0)
    .where('events.occurred_at', '>', now - 180 * 86_400_000)
    .execute();
  for (const r of rows) out.set(r.customer_id, [...(out.get(r.customer_id) ?? []), r.occurred_at]);
  return out;
}

/** Writes one scheduler batch collects and issues together: a handful of statements per batch, not two per enrolment. */
class BatchWrites {
  /** Enrolment updates grouped by the values they set. */
  private readonly updates = new Map<string, { set: Partial<Enrollment>; ids: number[] }>();
  private readonly reservations: { row: Insertable<MessagesTable>; choices: string | null }[] = [];

  update(id: number, set: Partial<Enrollment>): void {
    const key = JSON.stringify(set);
    const group = this.updates.get(key);
    if (group) group.ids.push(id);
    else this.updates.set(key, { set, ids: [id] });
  }

  /** A message to reserve; `choices` is the enrolment's new `variant_choices` when a branch case was decided. */
  reserve(row: Insertable<MessagesTable>, choices: string | null): void {
    this.reservations.push({ row, choices });
  }

  /** Issues everything; returns how many messages were reserved (an existing one for the same step is kept). */
  async flush(trx: Transaction<Database>): Promise<number> {
    const inserted = new Set<number>();
    const rows = this.reservations.map((r) => r.row);
    for (const chunk of statementChunks(rows, Object.keys(rows[0] ?? {}).length)) {
      const ids = await trx
        .insertInto('messages')
        .values(chunk)
        .onConflict((oc) => oc.columns(['enrollment_id', 'step_id']).doNothing())
        .returning('enrollment_id')
        .execute();
      for (const r of ids) inserted.add(r.enrollment_id);
    }
    // The branch case is decided now; the sender renders this case even if a fact changes meanwhile.
    for (const r of this.reservations) {
      if (r.choices !== null && inserted.has(r.row.enrollment_id)) {
        await trx.updateTable('enrollments').set({ variant_choices: r.choices }).where('id', '=', r.row.enrollment_id).execute();
      }
    }
    for (const { set, ids } of this.updates.values()) {
      for (const chunk of statementChunks(ids, 1)) await trx.updateTable('enrollments').set(set).where('id', 'in', chunk).execute();
    }
    return inserted.size;
  }
}

/**
 * One scheduler transaction: claims up to `batchSize` due enrolments, lets the pure step machine
 * decide each, and in the same transaction reserves the message (unique per enrolment and step)
 * and moves the enrolment on. Send windows and frequency caps defer, never drop.
 */
export async function scheduleBatch(ctx: EngineContext, weights?: VariantWeights): Promise<ScheduleResult> {
  const now = ctx.clock.now();
  const result: ScheduleResult = { processed: 0, reserved: 0, skipped: 0, deferred: 0, completed: 0, exited: 0, goalsReached: [] };
  await ctx.k.transaction().execute(async (trx) => {
    let q = trx
      .selectFrom('enrollments')
      .selectAll()
      .where('status', '=', 'active')
      .where('next_due_at', '<=', now)
      .orderBy('next_due_at')
      .limit(ctx.config.worker.batchSize);
    if (ctx.db.dialect === 'postgres') q = q.forUpdate().skipLocked();
    const due = await q.execute();
    if (due.length === 0) return;
    result.processed = due.length;
    const facts = await factsFor(trx, due, now);
    const customers = await trx.selectFrom('customers').select(['id', 'time_zone', 'email_hash']).where('id', 'in', [...new Set(due.map((e) => e.customer_id))]).execute();
    const tz = new Map(customers.map((c) => [c.id, c.time_zone]));
    const capKeys = new Map(customers.map((c) => [c.id, capKey(c)]));
    const prefs = await preferencesOf(trx, customers.map((c) => c.id));
    // With a customer's "one a week/month", sequences due together take turns (see fairOrder).
    if (preferenceWindow(prefs.values()) > 0) await fairOrder(trx, due);
    const capWindow = Math.max(preferenceWindow(prefs.values()), ...(await Promise.all(due.map(async (e) => capOf(await ctx.sequences.version(e.sequence_id, e.sequence_version))?.per ?? 0))));
    const recent = capWindow > 0 ? await recentMailTimes(trx, customers, now - capWindow) : new Map<string, number[]>();
    const opens = await humanOpenTimes(ctx, trx, [...tz.keys()], now);
    const writes = new BatchWrites();
    for (const e of due) {
      const seq = await ctx.sequences.version(e.sequence_id, e.sequence_version);
      if (e.holdout === 1) {
        // Holdout enrolments are never mailed; they close when their conversion window ends.
        writes.update(e.id, ended('completed', now, null));
        result.completed++;
        continue;
      }
      // Path experiments: the flat step index and the enrolment's cohort (sequences/paths.ts).
      const stepId = stepAt(seq, e.current_step)?.id ?? '';
      const decision = decide(seq, { id: e.id, currentStep: e.current_step, cohort: e.cohort }, facts.get(e.id)!, now, unitDraw(`variant|${e.id}|${stepId}`), weights?.(seq.id, stepId));
      const zone = tz.get(e.customer_id) ?? ctx.config.defaults.timeZone;
      const hour = preferredHour(opens.get(e.customer_id) ?? [], zone, ctx.config.worker.preferredHourMinOpens);
      const cap = { recent, key: capKeys.get(e.customer_id) ?? capKey({ id: e.customer_id, email_hash: null }), prefs: prefs.get(e.customer_id) };
      apply(writes, e, seq, decision, zone, cap, now, result, hour);
    }
    result.reserved = await writes.flush(trx);
  });
  return result;
}

function capOf(seq: Sequence): { max: number; per: number } | undefined {
  return seq.frequency_cap ? { max: seq.frequency_cap.max, per: parseDuration(seq.frequency_cap.per) } : undefined;
}

function ended(status: string, now: number, reason: string | null): Partial<Enrollment> {
  return { status, ended_at: now, next_due_at: null, exit_reason: reason };
}

function apply(
  writes: BatchWrites,
  e: Enrollment,
  seq: Sequence,
  d: Decision,
  timeZone: string,
  cap: { recent: Map<string, number[]>; key: string; prefs?: Preferences },
  now: number,
  result: ScheduleResult,
  hour?: number,
): void {
  if (d.kind === 'exit') {
    writes.update(e.id, ended(d.reason === 'purchased' ? 'converted' : 'exited', now, d.reason));
    result.exited++;
    if (d.goal) result.goalsReached.push({ enrollmentId: e.id, sequenceId: e.sequence_id });
    return;
  }
  if (d.kind === 'complete') {
    writes.update(e.id, ended('completed', now, null));
    result.completed++;
    return;
  }
  const advance = () => {
    if (d.next) writes.update(e.id, { current_step: d.next.stepIndex, next_due_at: d.next.dueAt });
    else writes.update(e.id, { current_step: e.current_step + 1, next_due_at: null, status: 'completed', ended_at: now });
  };
  if (d.kind === 'skip') {
    advance();
    result.skipped++;
    return;
  }
  // Send window in the customer's time zone, then the cross-sequence frequency cap: both defer.
  let sendAt = nextInWindow(now, seq.send_window, timeZone);
  // A follow-up waits (at most a day) for the hour the customer usually opens mail, if that
  // hour lies inside the send window; the first mail of a sequence never waits for it.
  if (hour !== undefined && parseDuration(d.step.wait) > 0) {
    const at = nextAtHour(sendAt, hour, timeZone);
    if (nextInWindow(at, seq.send_window, timeZone) === at) sendAt = at;
  }
  const limit = capOf(seq);
  const sentTimes = cap.recent.get(cap.key) ?? [];
  if (limit && sentTimes.filter((t) => t > now - limit.per).length >= limit.max) {
    const oldest = Math.min(...sentTimes.filter((t) => t > now - limit.per));
    sendAt = Math.max(sendAt, oldest + limit.per);
  }
  // The customer's own choices (preference centre): a topic opt-out ends, snooze and frequency defer.
  const gate = cap.prefs ? preferenceGate(cap.prefs, sendAt, sentTimes, seq.topic) : { kind: 'allow' as const };
  if (gate.kind === 'block') {
    writes.update(e.id, ended('exited', now, gate.reason));
    result.exited++;
    return;
  }
  if (gate.kind === 'defer') sendAt = nextInWindow(gate.until, seq.send_window, timeZone);
  if (sendAt > now) {
    writes.update(e.id, { next_due_at: sendAt });
    result.deferred++;
    return;
  }
  writes.reserve(
    {
      enrollment_id: e.id,
      customer_id: e.customer_id,
      sequence_id: seq.id,
      step_id: d.step.id,
      variant_id: d.mail.variantId,
      template: d.mail.template,
      status: 'reserved',
      legal_basis: e.legal_basis,
      consent_id: e.consent_id,
      due_at: now,
      reserved_at: now,
      updated_at: now,
    },
    d.mail.branchCase === null ? null : JSON.stringify({ ...(JSON.parse(e.variant_choices || '{}') as object), [d.step.id]: { variant: d.mail.variantId, case: d.mail.branchCase } }),
  );
  // Counts for the frequency cap of later enrolments of the same address in this batch.
  cap.recent.set(cap.key, [...sentTimes, now]);
  advance();
}
