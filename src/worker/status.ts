import { sql } from 'kysely';
import type { Outage } from '../db/outage.js';
import type { Engine } from '../engine/engine.js';
import { PARK_OFFSET } from '../engine/sequence-state.js';

/** What the status line shows. */
export interface WorkerStatus {
  sent: number;
  perSecond: number;
  due: number;
  retrying: number;
  inFlight: number;
  uncertain: number;
  failed: number;
  pausedUntil: number;
  /** Why sending is paused (a policy block, the provider unreachable), when it is. */
  pauseReason?: string | null;
  /** The dependencies this worker watches (database, Redis): a down one is named on the line. */
  outages?: readonly Outage[];
}

/** `DATABASE DOWN since 09:12:03 (terminating connection ...)` for each dependency that is down. */
function outageParts(outages: readonly Outage[] = []): string[] {
  return outages.flatMap((o) => {
    const d = o.down;
    if (!d) return [];
    const reason = d.reason.length > 60 ? `${d.reason.slice(0, 59)}…` : d.reason;
    return [`${o.name.toUpperCase()} DOWN since ${new Date(d.since).toISOString().slice(11, 19)} (${reason}), waiting`];
  });
}

/** The status line while the database is down and nothing else can be counted. */
export function formatOutageStatus(outages: readonly Outage[], backend: string): string {
  return [`comeback worker [${backend}]`, ...outageParts(outages)].join(' · ');
}

const fmt = (n: number) => Math.round(n).toLocaleString('en');

/** One line: `sent 1,234 (310/s) · due 766 · in flight 8 · retrying 3 · uncertain 0 · failed 1`. */
export function formatStatus(s: WorkerStatus, backend: string): string {
  const parts = [
    `comeback worker [${backend}]`,
    `sent ${fmt(s.sent)} (${fmt(s.perSecond)}/s)`,
    `due ${fmt(s.due)}`,
    `in flight ${fmt(s.inFlight)}`,
    `retrying ${fmt(s.retrying)}`,
    `uncertain ${fmt(s.uncertain)}`,
    `failed ${fmt(s.failed)}`,
  ];
  if (s.pausedUntil) {
    const reason = s.pauseReason && s.pauseReason.length > 80 ? `${s.pauseReason.slice(0, 79)}…` : s.pauseReason;
    parts.push(`PAUSED until ${new Date(s.pausedUntil).toISOString()}${reason ? ` (${reason})` : ''}`);
  }
  return [...parts, ...outageParts(s.outages)].join(' · ');
}

/** Samples the engine: this process' outcomes, the ledger's waiting and in-doubt rows. */
export class StatusSampler {
  private last = { at: performance.now(), sent: 0 };
  private rate = 0;

  constructor(private readonly engine: Engine) {}

  async sample(): Promise<WorkerStatus> {
    const ctx = this.engine.ctx;
    const now = ctx.clock.now();
    const rows = await ctx.k
      .selectFrom('messages')
      .select([
        'status',
        (eb) => eb.fn.countAll<number>().as('n'),
        (eb) => eb.fn.sum<number>(eb.case().when('due_at', '<=', now).then(1).else(0).end()).as('due'),
      ])
      .where('status', 'in', ['reserved', 'claimed', 'sending', 'uncertain'])
      .groupBy('status')
      .execute();
    const by = (st: string) => rows.find((r) => r.status === st);
    const { counts } = this.engine.sending.stats();
    const t = performance.now();
    const dt = (t - this.last.at) / 1000;
    if (dt >= 0.5) {
      const instant = (counts.sent - this.last.sent) / dt;
      this.rate = this.rate === 0 ? instant : this.rate * 0.5 + instant * 0.5;
      this.last = { at: t, sent: counts.sent };
    }
    const reserved = by('reserved');
    return {
      sent: counts.sent,
      perSecond: this.rate,
      due: Number(reserved?.due ?? 0),
      retrying: Number(reserved?.n ?? 0) - Number(reserved?.due ?? 0),
      inFlight: Number(by('claimed')?.n ?? 0) + Number(by('sending')?.n ?? 0),
      uncertain: Number(by('uncertain')?.n ?? 0),
      failed: counts.failed,
      pausedUntil: await this.engine.sending.pausedUntil(),
      pauseReason: this.engine.sending.stats().pause.reason,
    };
  }
}

/** What is planned after now: enrolments waiting for a later step or send window, and when the next one is due. */
export interface Upcoming {
  /** Active, mailed (not holdout) enrolments whose next step is due later. */
  enrolments: number;
  /** Reserved messages due later (retries after a transient failure or a sender pause). */
  retries: number;
  /** The earliest of their due times, or null when nothing is planned. */
  nextAt: number | null;
  /** Mails and enrolments parked by a paused sequence: they wait for `comeback resume`. */
  parked: { mails: number; enrolments: number };
}

/** Reads what the worker will have to do after now (for the summary of `--once` and `--until-idle`). */
export async function upcoming(engine: Engine): Promise<Upcoming> {
  const { k, clock } = engine.ctx;
  const now = clock.now();
  // One read per table: what waits (due before the parking time) and what is parked.
  const e =
    await sql<Later>`select count(case when next_due_at < ${PARK_OFFSET} then 1 end) as waiting, min(case when next_due_at < ${PARK_OFFSET} then next_due_at end) as next, count(case when next_due_at >= ${PARK_OFFSET} then 1 end) as parked
    from enrollments where status = 'active' and holdout = 0 and next_due_at > ${now}`.execute(k);
  const m =
    await sql<Later>`select count(case when due_at < ${PARK_OFFSET} then 1 end) as waiting, min(case when due_at < ${PARK_OFFSET} then due_at end) as next, count(case when due_at >= ${PARK_OFFSET} then 1 end) as parked
    from messages where status = 'reserved' and due_at > ${now}`.execute(k);
  const [en, ms] = [e.rows[0]!, m.rows[0]!];
  const times = [en.next, ms.next].filter((t) => t !== null && t !== undefined).map(Number);
  return {
    enrolments: Number(en.waiting),
    retries: Number(ms.waiting),
    nextAt: times.length > 0 ? Math.min(...times) : null,
    parked: { mails: Number(ms.parked), enrolments: Number(en.parked) },
  };
}

/** Counts of one table's later work, as the database returns them (strings on PostgreSQL). */
interface Later {
  waiting: number | string;
  next: number | string | null;
  parked: number | string;
}

/** `next: 10 enrolments wait for a later step or send window, 2 retries; the first is due 2026-12-01T08:00:00.000Z` */
export function formatUpcoming(u: Upcoming): string {
  const plural = (n: number, what: string) => `${fmt(n)} ${what}${n === 1 ? '' : 's'}`;
  const held = [
    u.parked.mails ? plural(u.parked.mails, 'mail') : '',
    u.parked.enrolments ? plural(u.parked.enrolments, 'enrolment') : '',
  ].filter(Boolean);
  const parked = held.length > 0 ? `; ${held.join(' and ')} parked in paused sequences (comeback resume)` : '';
  if (u.nextAt === null) return `next: nothing planned${parked}`;
  const parts = [];
  if (u.enrolments > 0)
    parts.push(`${fmt(u.enrolments)} enrolment${u.enrolments === 1 ? '' : 's'} wait for a later step or send window`);
  if (u.retries > 0) parts.push(`${fmt(u.retries)} mail${u.retries === 1 ? '' : 's'} wait to be retried`);
  return `next: ${parts.join(', ')}; the first is due ${new Date(u.nextAt).toISOString()}${parked}`;
}
