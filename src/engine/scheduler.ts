import type { Insertable, Transaction } from 'kysely';
import { statementChunks } from '../db/chunks.js';
import type { Database, Enrollment, MessagesTable } from '../db/schema.js';
import { decide } from '../sequences/machine.js';
import { stepAt } from '../sequences/paths.js';
import { unitDraw } from '../util/hash.js';
import type { EngineContext } from './context.js';
import { factsFor } from './facts.js';
import { capKey, humanOpenTimes, recentMailTimes } from './plan-history.js';
import { capOf, plan, type Advance, type Plan } from './planner.js';
import { preferredHour } from './timing.js';
import { preferencesOf } from '../consent/preference-store.js';
import { preferenceWindow } from '../consent/preferences.js';
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
        await trx
          .updateTable('enrollments')
          .set({ variant_choices: r.choices })
          .where('id', '=', r.row.enrollment_id)
          .execute();
      }
    }
    for (const { set, ids } of this.updates.values()) {
      for (const chunk of statementChunks(ids, 1))
        await trx.updateTable('enrollments').set(set).where('id', 'in', chunk).execute();
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
  const result: ScheduleResult = {
    processed: 0,
    reserved: 0,
    skipped: 0,
    deferred: 0,
    completed: 0,
    exited: 0,
    goalsReached: [],
  };
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
    const customers = await trx
      .selectFrom('customers')
      .select(['id', 'time_zone', 'email_hash'])
      .where('id', 'in', [...new Set(due.map((e) => e.customer_id))])
      .execute();
    const tz = new Map(customers.map((c) => [c.id, c.time_zone]));
    const capKeys = new Map(customers.map((c) => [c.id, capKey(c)]));
    const prefs = await preferencesOf(
      trx,
      customers.map((c) => c.id),
    );
    // With a customer's "one a week/month", sequences due together take turns (see fairOrder).
    const frequencyWindow = preferenceWindow(prefs.values());
    if (frequencyWindow > 0) await fairOrder(trx, due);
    const capWindow = Math.max(
      frequencyWindow,
      ...(await Promise.all(
        due.map(async (e) => capOf(await ctx.sequences.version(e.sequence_id, e.sequence_version))?.per ?? 0),
      )),
    );
    const recent = capWindow > 0 ? await recentMailTimes(trx, customers, now - capWindow) : new Map<string, number[]>();
    const opens = await humanOpenTimes(trx, [...tz.keys()], now, ctx.config.worker.preferredHourMinOpens);
    const writes = new BatchWrites();
    for (const e of due) {
      const seq = await ctx.sequences.version(e.sequence_id, e.sequence_version);
      const holdout = e.holdout === 1;
      // Path experiments: the flat step index and the enrolment's cohort (sequences/paths.ts).
      const stepId = stepAt(seq, e.current_step)?.id ?? '';
      const decision = holdout
        ? undefined
        : decide(
            seq,
            { id: e.id, currentStep: e.current_step, cohort: e.cohort },
            facts.get(e.id)!,
            now,
            unitDraw(`variant|${e.id}|${stepId}`),
            weights?.(seq.id, stepId),
          );
      const timeZone = tz.get(e.customer_id) ?? ctx.config.defaults.timeZone;
      const key = capKeys.get(e.customer_id) ?? capKey({ id: e.customer_id, email_hash: null });
      const hour = preferredHour(opens.get(e.customer_id) ?? [], timeZone, ctx.config.worker.preferredHourMinOpens);
      const preferences = prefs.get(e.customer_id);
      const p = plan({
        sequence: seq,
        currentStep: e.current_step,
        holdout,
        decision,
        now,
        timeZone,
        capHistory: recent.get(key) ?? [],
        preferredHour: hour,
        preferences,
      });
      apply(writes, e, p, now, result, { recent, key });
    }
    result.reserved = await writes.flush(trx);
  });
  return result;
}

function ended(status: string, now: number, reason: string | null): Partial<Enrollment> {
  return { status, ended_at: now, next_due_at: null, exit_reason: reason };
}

/** Turns the planner's answer for one enrolment into the batch's writes. */
function apply(
  writes: BatchWrites,
  e: Enrollment,
  p: Plan,
  now: number,
  result: ScheduleResult,
  cap: { recent: Map<string, number[]>; key: string },
): void {
  const advance = (a: Advance) => {
    if (a.dueAt !== null) writes.update(e.id, { current_step: a.stepIndex, next_due_at: a.dueAt });
    else writes.update(e.id, { current_step: a.stepIndex, next_due_at: null, status: 'completed', ended_at: now });
  };
  switch (p.kind) {
    case 'exit':
      writes.update(e.id, ended(p.status, now, p.reason));
      result.exited++;
      if (p.goal) result.goalsReached.push({ enrollmentId: e.id, sequenceId: e.sequence_id });
      return;
    case 'complete':
      writes.update(e.id, ended('completed', now, null));
      result.completed++;
      return;
    case 'skip':
      advance(p.advance);
      result.skipped++;
      return;
    case 'defer':
      writes.update(e.id, { next_due_at: p.until });
      result.deferred++;
      return;
    case 'reserve': {
      const d = p.decision;
      writes.reserve(
        {
          enrollment_id: e.id,
          customer_id: e.customer_id,
          sequence_id: e.sequence_id,
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
        d.mail.branchCase === null
          ? null
          : JSON.stringify({
              ...(JSON.parse(e.variant_choices || '{}') as object),
              [d.step.id]: { variant: d.mail.variantId, case: d.mail.branchCase },
            }),
      );
      // Counts for the frequency cap of later enrolments of the same address in this batch.
      cap.recent.set(cap.key, [...(cap.recent.get(cap.key) ?? []), now]);
      advance(p.advance);
    }
  }
}
