/**
 * `comeback simulate`: replays a sequence over the customers of a database on a manual clock,
 * through the real audience rules, consent policy and step machine, without writing or sending
 * anything. It mirrors the worker's scheduler (one pass per tick: window and frequency cap defer,
 * never drop), so the same sequence on the same customers and clock gives the same sends.
 * This is the one part of `sequences/` that reads storage (read-only).
 */
import type { Kysely } from 'kysely';
import { DAY, HOUR } from '../../clock.js';
import { consentStates } from '../../consent/ledger.js';
import { canSend } from '../../consent/policy.js';
import { suppressedHashes } from '../../consent/suppressions.js';
import type { Database } from '../../db/schema.js';
import { customerValues, dormantCandidates } from '../../engine/audience.js';
import { nextInWindow } from '../../engine/timing.js';
import { unitDraw } from '../../util/hash.js';
import { parseDuration } from '../duration.js';
import { decide, firstDueAt, type Facts } from '../machine.js';
import { drawCohort, firstIndex, sequencePaths, stepAt } from '../paths.js';
import type { Sequence } from '../schema.js';
import { baselinePurchase, DEFAULT_ASSUMPTIONS, reactions, type Assumptions, type SimEvent } from './assumptions.js';

/** Options of a simulation. */
export interface SimulationOptions {
  /** Start of day 1 (epoch ms); the audience is evaluated at this time of day every day. */
  start: number;
  days: number;
  /** How often the simulated worker runs a pass (default one hour). */
  tickMs?: number;
  assumptions?: Assumptions;
  pageSize?: number;
  currencyDigits?: number;
  /** Id of the first simulated enrolment (default: after the highest in the database, as the worker would). */
  firstEnrollmentId?: number;
  /** Variant weights per (sequence, step), as the optimiser would hand them to the worker. */
  weights?: (sequenceId: string, stepId: string) => Map<string | null, number> | undefined;
}

/** One mail the simulation would send. */
export interface SimSend {
  enrollmentId: number;
  customerId: number;
  externalId: string;
  stepId: string;
  variantId: string | null;
  template: string;
  branchCase: string | null;
  at: number;
}

/** What happened on one day. */
export interface DayRow {
  day: number;
  date: string;
  entered: number;
  holdout: number;
  sent: Record<string, number>;
  /** Steps skipped by their condition. */
  unless: number;
  onlyIf: number;
  /** Mails that had to wait for the send window or the frequency cap (counted once per mail). */
  window: number;
  cap: number;
  /** Customers kept out by consent at entry, and mails cancelled at sending (unsubscribed meanwhile). */
  consent: number;
  exited: number;
  goal: number;
  holdoutGoal: number;
}

/** The result: the day-by-day table, every send, and the assumptions it rests on. */
export interface SimulationResult {
  sequenceId: string;
  version: number;
  steps: string[];
  rows: DayRow[];
  sends: SimSend[];
  assumptions: Assumptions;
}

interface SimEnrollment {
  id: number;
  customerId: number;
  externalId: string;
  timeZone: string;
  holdout: boolean;
  currentStep: number;
  /** Path experiments: the cohort drawn at entry, as the engine draws it. */
  cohort: string | null;
  nextDueAt: number | null;
  enrolledAt: number;
  status: 'active' | 'completed' | 'converted' | 'exited';
  churnReason: string | null;
  events: SimEvent[];
  mails: number;
  facts: Facts;
  waited: Set<string>;
}

const emptyRow = (day: number, start: number, steps: string[]): DayRow => ({
  day: day + 1,
  date: new Date(start + day * DAY).toISOString().slice(0, 10),
  entered: 0,
  holdout: 0,
  sent: Object.fromEntries(steps.map((s) => [s, 0])),
  unless: 0,
  onlyIf: 0,
  window: 0,
  cap: 0,
  consent: 0,
  exited: 0,
  goal: 0,
  holdoutGoal: 0,
});

/** Runs the simulation; reads customers, orders and consent from `db`, writes nothing. */
export async function simulate(db: Kysely<Database>, seq: Sequence, options: SimulationOptions): Promise<SimulationResult> {
  const a = options.assumptions ?? DEFAULT_ASSUMPTIONS;
  const tick = options.tickMs ?? HOUR;
  const steps = sequencePaths(seq).steps.map((s) => s.id);
  const rows = Array.from({ length: options.days }, (_, d) => emptyRow(d, options.start, steps));
  const sends: SimSend[] = [];
  const enrollments: SimEnrollment[] = [];
  const enrolled = new Set<number>();
  const blocked = new Set<number>();
  const recent = new Map<number, number[]>();
  const maxId = await db.selectFrom('enrollments').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst();
  let nextId = options.firstEnrollmentId ?? Number(maxId?.m ?? 0) + 1;
  const goalWindow = seq.goal?.purchase ? parseDuration(seq.goal.purchase.within) : 30 * DAY;
  const cap = seq.frequency_cap ? { max: seq.frequency_cap.max, per: parseDuration(seq.frequency_cap.per) } : undefined;
  const end = options.start + options.days * DAY;
  const rowAt = (t: number) => rows[Math.min(rows.length - 1, Math.floor((t - options.start) / DAY))]!;

  const enrol = async (ids: number[], now: number) => {
    if (ids.length === 0) return;
    const customers = await db.selectFrom('customers').selectAll().where('id', 'in', ids).orderBy('id').execute();
    const states = await consentStates(db, ids);
    const suppressed = await suppressedHashes(db, customers.flatMap((c) => (c.email_hash ? [c.email_hash] : [])), seq.id);
    const row = rowAt(now);
    for (const c of customers) {
      const d = canSend(c, states.get(c.id)!, c.email_hash !== null && suppressed.has(c.email_hash), { consent: seq.consent, ownSimilarGoods: seq.own_similar_goods });
      if (!d.allowed) {
        if (!blocked.has(c.id)) row.consent++;
        blocked.add(c.id);
        continue;
      }
      const holdout = unitDraw(`holdout|${seq.id}|${seq.version}|${c.id}`) < seq.holdout;
      const cohort = drawCohort(seq, c.id);
      enrolled.add(c.id);
      enrollments.push({
        id: nextId++,
        customerId: c.id,
        externalId: c.external_id,
        timeZone: c.time_zone,
        holdout,
        currentStep: firstIndex(seq, cohort),
        cohort,
        nextDueAt: holdout ? now + goalWindow : firstDueAt(seq, now, cohort),
        enrolledAt: now,
        status: 'active',
        churnReason: c.churn_reason,
        events: [],
        mails: 0,
        facts: { opened: false, clicked: false, purchased: false, surveyAnswered: false, unsubscribed: false, complained: false, hardBounced: false, churnReason: c.churn_reason },
        waited: new Set(),
      });
      row.entered++;
      if (holdout) row.holdout++;
    }
  };

  const audience = async (now: number) => {
    if (seq.audience.trigger) {
      if (now !== options.start) return; // assumption: every customer is triggered on day 1
      let after = 0;
      for (;;) {
        const page = await db.selectFrom('customers').select('id').where('erased_at', 'is', null).where('id', '>', after).orderBy('id').limit(options.pageSize ?? 1000).execute();
        if (page.length === 0) break;
        after = page[page.length - 1]!.id;
        await enrol(page.map((p) => p.id), now);
      }
      return;
    }
    for await (const page of dormantCandidates(db, seq.id, seq.audience, now, options.pageSize ?? 1000, { currencyDigits: options.currencyDigits })) {
      await enrol(page.map((c) => c.customer_id).filter((id) => !enrolled.has(id)), now);
    }
  };

  /** Applies the simulated events up to `now`: engagement becomes facts, purchases may reach the goal. */
  const applyEvents = (now: number) => {
    for (const e of enrollments) {
      while (e.events.length > 0 && e.events[0]!.at <= now) {
        const ev = e.events.shift()!;
        if (ev.type === 'open') e.facts.opened = true;
        else if (ev.type === 'click') e.facts.clicked = e.facts.opened = true;
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
    const due = enrollments.filter((e) => e.status === 'active' && e.nextDueAt !== null && e.nextDueAt <= now).sort((x, y) => x.nextDueAt! - y.nextDueAt! || x.id - y.id);
    if (due.length === 0) return;
    const values = await customerValues(db, [...new Set(due.filter((e) => !e.holdout).map((e) => e.customerId))], now, { currencyDigits: options.currencyDigits });
    const row = rowAt(now);
    for (const e of due) {
      if (e.holdout) {
        e.status = 'completed';
        e.nextDueAt = null;
        continue;
      }
      const stepId = stepAt(seq, e.currentStep)?.id ?? '';
      e.facts.customer = values.get(e.customerId)?.values;
      const d = decide(seq, { id: e.id, currentStep: e.currentStep, cohort: e.cohort }, e.facts, now, unitDraw(`variant|${e.id}|${stepId}`), options.weights?.(seq.id, stepId));
      if (d.kind === 'exit' || d.kind === 'complete') {
        e.status = d.kind === 'exit' ? (d.reason === 'purchased' ? 'converted' : 'exited') : 'completed';
        e.nextDueAt = null;
        if (d.kind === 'exit' && d.goal) row.goal++;
        else if (d.kind === 'exit') row.exited++;
        continue;
      }
      const advance = () => {
        if (d.next) {
          e.currentStep = d.next.stepIndex;
          e.nextDueAt = d.next.dueAt;
        } else {
          e.currentStep++;
          e.nextDueAt = null;
          e.status = 'completed';
        }
      };
      if (d.kind === 'skip') {
        if (d.reason.startsWith('unless')) row.unless++;
        else row.onlyIf++;
        advance();
        continue;
      }
      let sendAt = nextInWindow(now, seq.send_window, e.timeZone);
      let why: 'window' | 'cap' | undefined = sendAt > now ? 'window' : undefined;
      const times = (recent.get(e.customerId) ?? []).filter((t) => cap && t > now - cap.per);
      if (cap && times.length >= cap.max) {
        const until = Math.min(...times) + cap.per;
        if (until > sendAt) why = 'cap';
        sendAt = Math.max(sendAt, until);
      }
      if (sendAt > now) {
        const key = `${d.step.id}|${why}`;
        if (!e.waited.has(key)) row[why!]++;
        e.waited.add(key);
        e.nextDueAt = sendAt;
        continue;
      }
      recent.set(e.customerId, [...(recent.get(e.customerId) ?? []), now]);
      advance();
      // The sender re-checks consent: an unsubscribe after enrolment cancels the mail.
      if (e.facts.unsubscribed) {
        row.consent++;
        continue;
      }
      sends.push({ enrollmentId: e.id, customerId: e.customerId, externalId: e.externalId, stepId: d.step.id, variantId: d.mail.variantId, template: d.mail.template, branchCase: d.mail.branchCase, at: now });
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
