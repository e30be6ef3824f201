/**
 * `comeback simulate`: replays a sequence over the customers of a database on a manual clock,
 * through the real audience rules, consent policy, step machine and planner (src/engine/planner.ts:
 * send window, preferred hour, frequency cap per address, holdout, the customers' stored
 * preferences), and the global control group drawn at entry, without writing or sending
 * anything. The worker's scheduler turns the same planner's answers into database writes, this
 * into in-memory state, so the same shop on the same clock gives the same sends
 * (test/simulate/equals-worker.test.ts). It reads the database, never writes it.
 */
import type { Kysely } from 'kysely';
import { DAY, HOUR } from '../clock.js';
import { consentStates } from '../consent/ledger.js';
import { canSend } from '../consent/policy.js';
import { preferencesOf } from '../consent/preference-store.js';
import { preferenceWindow } from '../consent/preferences.js';
import { suppressedHashes } from '../consent/suppressions.js';
import type { Database } from '../db/schema.js';
import { customerValues, dormantCandidates } from '../engine/audience.js';
import { inControlGroup } from '../engine/control-group.js';
import { addressesEnrolled } from '../engine/enroll.js';
import { capKey, humanOpenTimes, recentMailTimes } from '../engine/plan-history.js';
import { capOf, plan } from '../engine/planner.js';
import { preferredHour } from '../engine/timing.js';
import { CohortShares } from '../metrics/cohort-allocation.js';
import { unitDraw } from '../util/hash.js';
import { parseDuration } from '../sequences/duration.js';
import { decide, firstDueAt } from '../sequences/machine.js';
import { drawCohort, firstIndex, sequencePaths, stepAt } from '../sequences/paths.js';
import type { Sequence } from '../sequences/schema.js';
import { baselinePurchase, DEFAULT_ASSUMPTIONS, reactions, type SimEvent } from './assumptions.js';
import { emptyRow, type SimEnrollment, type SimSend, type SimulationOptions, type SimulationResult } from './types.js';

export type { DayRow, SimSend, SimulationOptions, SimulationResult } from './types.js';

/** Runs the simulation; reads customers, orders and consent from `db`, writes nothing. */
export async function simulate(
  db: Kysely<Database>,
  seq: Sequence,
  options: SimulationOptions,
): Promise<SimulationResult> {
  const a = options.assumptions ?? DEFAULT_ASSUMPTIONS;
  const tick = options.tickMs ?? HOUR;
  const steps = sequencePaths(seq).steps.map((s) => s.id);
  const rows = Array.from({ length: options.days }, (_, d) => emptyRow(d, options.start, steps));
  const sends: SimSend[] = [];
  const enrollments: SimEnrollment[] = [];
  const enrolled = new Set<number>();
  const blocked = new Set<number>();
  /** Simulated reservations per address (capKey), for the frequency cap. */
  const recent = new Map<string, number[]>();
  /** Simulated human opens per customer, for the preferred hour. */
  const simOpens = new Map<number, number[]>();
  const minOpens = options.preferredHourMinOpens ?? 3;
  const maxId = await db
    .selectFrom('enrollments')
    .select((eb) => eb.fn.max('id').as('m'))
    .executeTakeFirst();
  let nextId = options.firstEnrollmentId ?? Number(maxId?.m ?? 0) + 1;
  const goalWindow = seq.goal?.purchase ? parseDuration(seq.goal.purchase.within) : 30 * DAY;
  const cap = capOf(seq);
  const end = options.start + options.days * DAY;
  const rowAt = (t: number) => rows[Math.min(rows.length - 1, Math.floor((t - options.start) / DAY))]!;

  // The worker's cohort shares, computed once per epoch as the engine does.
  const cohortShares = new CohortShares(db);
  const enrol = async (ids: number[], now: number) => {
    if (ids.length === 0) return;
    const customers = await db.selectFrom('customers').selectAll().where('id', 'in', ids).orderBy('id').execute();
    const states = await consentStates(db, ids);
    const hashes = customers.flatMap((c) => (c.email_hash ? [c.email_hash] : []));
    const suppressed = await suppressedHashes(db, hashes, seq.id);
    // The stored preference-page choices, read as the worker reads them at enrolment.
    const prefs = seq.topic ? await preferencesOf(db, ids) : undefined;
    const row = rowAt(now);
    // The worker's cohort shares at this time (simulated outcomes do not move them).
    const allocation = await cohortShares.at(seq, now, options.minExplorationShare ?? 0.05);
    // As the worker: one address gets a sequence once at a time (duplicate customer records).
    const taken = new Set((await addressesEnrolled(db, seq.id, hashes)).keys());
    for (const e of enrollments) if (e.status === 'active' && e.emailHash) taken.add(e.emailHash);
    for (const c of customers) {
      if (c.email_hash && taken.has(c.email_hash)) continue;
      const d = canSend(c, states.get(c.id)!, c.email_hash !== null && suppressed.has(c.email_hash), {
        consent: seq.consent,
        ownSimilarGoods: seq.own_similar_goods,
      });
      if (!d.allowed) {
        if (!blocked.has(c.id)) row.consent++;
        blocked.add(c.id);
        continue;
      }
      // A topic the customer left on the preference page: not enrolled (a snooze only defers, later).
      if (prefs && seq.topic && prefs.get(c.id)?.topicsOut.includes(seq.topic)) {
        if (!blocked.has(c.id)) row.preference++;
        blocked.add(c.id);
        continue;
      }
      // The global control group is held out of every sequence, drawn as the worker draws it.
      const control = inControlGroup(c, options.controlGroup ?? NO_CONTROL_GROUP);
      const holdout = control || unitDraw(`holdout|${seq.id}|${seq.version}|${c.id}`) < seq.holdout;
      const cohort = allocation ? drawCohort(seq, c.id, allocation.cohorts) : null;
      enrolled.add(c.id);
      if (c.email_hash) taken.add(c.email_hash);
      enrollments.push({
        id: nextId++,
        customerId: c.id,
        externalId: c.external_id,
        timeZone: c.time_zone,
        emailHash: c.email_hash,
        holdout,
        currentStep: firstIndex(seq, cohort),
        cohort,
        nextDueAt: holdout ? now + goalWindow : firstDueAt(seq, now, cohort),
        enrolledAt: now,
        status: 'active',
        churnReason: c.churn_reason,
        events: [],
        mails: 0,
        facts: {
          opened: false,
          clicked: false,
          purchased: false,
          surveyAnswered: false,
          unsubscribed: false,
          complained: false,
          hardBounced: false,
          churnReason: c.churn_reason,
        },
        waited: new Set(),
      });
      row.entered++;
      if (holdout) row.holdout++;
      if (control) row.control++;
    }
  };

  const audience = async (now: number) => {
    if (seq.audience.trigger) {
      if (now !== options.start) return; // assumption: every customer is triggered on day 1
      let after = 0;
      for (;;) {
        const page = await db
          .selectFrom('customers')
          .select('id')
          .where('erased_at', 'is', null)
          .where('id', '>', after)
          .orderBy('id')
          .limit(options.pageSize ?? 1000)
          .execute();
        if (page.length === 0) break;
        after = page[page.length - 1]!.id;
        await enrol(
          page.map((p) => p.id),
          now,
        );
      }
      return;
    }
    for await (const page of dormantCandidates(db, seq.id, seq.audience, now, options.pageSize ?? 1000, {
      currencyDigits: options.currencyDigits,
    })) {
      await enrol(
        page.map((c) => c.customer_id).filter((id) => !enrolled.has(id)),
        now,
      );
    }
  };

  /** Applies the simulated events up to `now`: engagement becomes facts, purchases may reach the goal. */
  const applyEvents = (now: number) => {
    for (const e of enrollments) {
      while (e.events.length > 0 && e.events[0]!.at <= now) {
        const ev = e.events.shift()!;
        if (ev.type === 'open') {
          e.facts.opened = true;
          simOpens.set(e.customerId, [...(simOpens.get(e.customerId) ?? []), ev.at]);
        } else if (ev.type === 'click') e.facts.clicked = e.facts.opened = true;
        else if (ev.type === 'unsubscribe') e.facts.unsubscribed = true;
        else if (ev.type === 'survey') {
          e.facts.surveyAnswered = true;
          e.facts.churnReason = e.churnReason = ev.reason ?? null;
        } else if (ev.type === 'purchase' && !e.facts.purchased && meetsGoal(seq, e, ev, goalWindow)) {
          // Intention to treat, as the engine attributes: a purchase after leaving still counts.
          e.facts.purchased = true;
          if (e.status === 'active' || e.status === 'completed') {
            e.status = 'converted';
            e.nextDueAt = null;
          }
          if (e.holdout) rowAt(ev.at).holdoutGoal++;
          else rowAt(ev.at).goal++;
        }
      }
    }
  };

  const pass = async (now: number) => {
    const due = enrollments
      .filter((e) => e.status === 'active' && e.nextDueAt !== null && e.nextDueAt <= now)
      .sort((x, y) => x.nextDueAt! - y.nextDueAt! || x.id - y.id);
    if (due.length === 0) return;
    const mailed = due.filter((e) => !e.holdout);
    const customerIds = [...new Set(mailed.map((e) => e.customerId))];
    const values = await customerValues(db, customerIds, now, { currencyDigits: options.currencyDigits });
    // The history the worker would read: mails to each address (every sequence) and human opens.
    const addresses = mailed.map((e) => ({ id: e.customerId, email_hash: e.emailHash }));
    // The customers' preferences, and mail times as far back as the cap or a "one a week/month" looks.
    const prefs = await preferencesOf(db, customerIds);
    const window = Math.max(cap?.per ?? 0, preferenceWindow(prefs.values()));
    const history =
      window > 0 && addresses.length > 0
        ? await recentMailTimes(db, addresses, now - window)
        : new Map<string, number[]>();
    const opens = await humanOpenTimes(db, customerIds, now, minOpens);
    const row = rowAt(now);
    for (const e of due) {
      const stepId = stepAt(seq, e.currentStep)?.id ?? '';
      e.facts.customer = values.get(e.customerId)?.values;
      const decision = e.holdout
        ? undefined
        : decide(
            seq,
            { id: e.id, currentStep: e.currentStep, cohort: e.cohort },
            e.facts,
            now,
            unitDraw(`variant|${e.id}|${stepId}`),
            options.weights?.(seq.id, stepId),
          );
      const key = capKey({ id: e.customerId, email_hash: e.emailHash });
      const openTimes = [
        ...(opens.get(e.customerId) ?? []),
        ...(simOpens.get(e.customerId) ?? []).filter((t) => t <= now && t > now - OPEN_HISTORY),
      ];
      const p = plan({
        sequence: seq,
        currentStep: e.currentStep,
        holdout: e.holdout,
        decision,
        now,
        timeZone: e.timeZone,
        capHistory: [...(history.get(key) ?? []), ...(recent.get(key) ?? [])],
        preferredHour: preferredHour(openTimes, e.timeZone, minOpens),
        preferences: prefs.get(e.customerId),
      });
      if (p.kind === 'exit' || p.kind === 'complete') {
        e.status = p.kind === 'exit' ? p.status : 'completed';
        e.nextDueAt = null;
        if (p.kind === 'exit' && p.goal) row.goal++;
        else if (p.kind === 'exit' && p.reason === 'topic_opt_out') row.preference++;
        else if (p.kind === 'exit') row.exited++;
        continue;
      }
      if (p.kind === 'defer') {
        const why = p.why === 'cap' || p.why === 'preference' ? p.why : 'window';
        const waitKey = `${stepId}|${why}`;
        if (!e.waited.has(waitKey)) row[why]++;
        e.waited.add(waitKey);
        e.nextDueAt = p.until;
        continue;
      }
      e.currentStep = p.advance.stepIndex;
      e.nextDueAt = p.advance.dueAt;
      if (p.advance.dueAt === null) e.status = 'completed';
      if (p.kind === 'skip') {
        if (p.reason.startsWith('unless')) row.unless++;
        else row.onlyIf++;
        continue;
      }
      const d = p.decision;
      recent.set(key, [...(recent.get(key) ?? []), now]);
      // The sender re-checks consent: an unsubscribe after enrolment cancels the mail.
      if (e.facts.unsubscribed) {
        row.consent++;
        continue;
      }
      sends.push({
        enrollmentId: e.id,
        customerId: e.customerId,
        externalId: e.externalId,
        stepId: d.step.id,
        variantId: d.mail.variantId,
        template: d.mail.template,
        branchCase: d.mail.branchCase,
        at: now,
      });
      row.sent[d.step.id] = (row.sent[d.step.id] ?? 0) + 1;
      const events = reactions(a, `${e.id}|${d.step.id}`, now, e.mails === 0, d.mail.template.includes('survey'));
      e.mails++;
      e.events = [...e.events, ...events].sort((x, y) => x.at - y.at);
    }
  };

  for (let t = options.start; t < end; t += tick) {
    const dayStart = (t - options.start) % DAY === 0;
    if (dayStart) {
      for (const e of enrollments) {
        if (e.status !== 'active' && e.status !== 'completed') continue;
        const p = baselinePurchase(a, String(e.id), t);
        if (p) e.events = [...e.events, p].sort((x, y) => x.at - y.at);
      }
    }
    applyEvents(t);
    if (dayStart) await audience(t);
    await pass(t);
  }
  return { sequenceId: seq.id, version: seq.version, steps, rows, sends, assumptions: a };
}

/** Whether a simulated purchase reaches the sequence's purchase goal (as attribution decides it). */
function meetsGoal(seq: Sequence, e: SimEnrollment, ev: SimEvent, window: number): boolean {
  if (ev.at < e.enrolledAt || ev.at > e.enrolledAt + window) return false;
  const g = seq.goal?.purchase;
  if (g?.min_amount_ratio !== undefined && (ev.amountRatio ?? 1) < g.min_amount_ratio) return false;
  if (g?.new_category && !ev.newCategory) return false;
  return true;
}

/** No global control group (the default of the config). */
const NO_CONTROL_GROUP = { share: 0, rotation: '1' };

/** How far back opens count for the preferred hour (as the worker reads them). */
const OPEN_HISTORY = 180 * DAY;
