/**
 * The stages of the scale benchmark (bench/scale.ts), each a function over one database so it can
 * run in a child process of its own (the bench: peak RSS per stage) or in-process (the test).
 * The shop is synthetic and deterministic; every stage streams or works in batches.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pino from 'pino';
import { createEngine } from '../src/app.js';
import { DAY, ManualClock } from '../src/clock.js';
import { consentStates } from '../src/consent/ledger.js';
import { canSend } from '../src/consent/policy.js';
import { openDatabase } from '../src/db/index.js';
import type { Transport } from '../src/delivery/types.js';
import { scoreCustomers } from '../src/dormancy/index.js';
import { SYNTHETIC_TRUTH } from '../src/dormancy/synthetic.js';
import { loadSyntheticShop } from '../src/dormancy/synthetic-load.js';
import { audienceScores, customerValues, notEnrolledSince, type Candidate } from '../src/engine/audience.js';
import type { Engine } from '../src/engine/engine.js';
import { enrollAudience } from '../src/engine/enroll.js';
import { scheduleBatch } from '../src/engine/scheduler.js';
import { audienceRules, firstFailure } from '../src/sequences/audience-rules.js';
import { firstDueAt } from '../src/sequences/machine.js';

/** The end of observation of the synthetic shop, and the clock of every in-process stage. */
export const NOW = Date.UTC(2026, 5, 1);
/** The seed of the synthetic shop: the same size gives the same shop. */
export const SEED = 20261129;
/** Messages beyond the send budget are parked this far ahead, so a worker sends exactly the budget. */
export const PARKED_AT = Date.UTC(2100, 0, 1);

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (bench/ compiles to dist/bench/). */
export const ROOT = existsSync(resolve(here, '../templates')) ? resolve(here, '..') : resolve(here, '../..');
const silent = pino({ level: 'silent' });

/** What one stage measured. `items` are customers, enrolments or messages, as `unit` says. */
export interface StageResult {
  stage: string;
  items: number;
  unit: string;
  seconds: number;
  peak_rss_mib: number;
  /** Items per second of the naive implementation on a sample, where the stage has one. */
  baseline_per_s?: number;
  [extra: string]: unknown;
}

// A lapsed-customer audience that matches a large share of the synthetic shop; one step, so the
// whole audience is scheduled once and nothing falls due later.
const AUDIENCE = `audience:
  dormant: { min_days: 60 }
  where: "discount_share < 0.6 and late_payments < 2 and return_rate < 0.5"
consent: [double_opt_in, existing_customer]
own_similar_goods: true
steps:
  - id: miss-you
    template: winback/miss-you
    subject: { en: "We miss you", de: "Wir vermissen Sie" }
`;

/** Writes the benchmark's sequences: `scale` (the engine) and `scale-naive` (the row-by-row baseline). */
export function writeScaleSequences(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'scale.yaml'), `id: scale\nname: Scale benchmark\nversion: 1\n${AUDIENCE}`);
  writeFileSync(
    join(dir, 'scale-naive.yaml'),
    `id: scale-naive\nname: Scale benchmark, naive baseline\nversion: 1\n${AUDIENCE}`,
  );
  return dir;
}

/** Peak RSS of this process so far, in MiB. */
export const peakRss = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** Opens the engine the stages share: the synthetic shop's clock, the benchmark's sequences. */
export function scaleEngine(
  url: string,
  sequencesDir: string,
  transport?: Transport,
  worker: Record<string, unknown> = {},
): Promise<Engine> {
  return createEngine(
    {
      database: url,
      sequencesDir,
      templatesDir: join(ROOT, 'templates'),
      transport: { type: 'memory' },
      worker: { batchSize: 1000, concurrency: 32, ...worker },
    },
    { clock: new ManualClock(NOW), logger: silent, ...(transport ? { transport } : {}) },
  );
}

/** Stage 1: generates the synthetic shop and streams it into the database in chunks. */
export async function stageLoad(url: string, customers: number, ordersPerCustomer = 5): Promise<StageResult> {
  const db = await openDatabase(url);
  try {
    const { migrateToLatest } = await import('../src/db/index.js');
    await migrateToLatest(db);
    // About five orders per customer with the default truth; the purchase rate scales the rest.
    const bg = { ...SYNTHETIC_TRUTH.bg, r: (SYNTHETIC_TRUTH.bg.r * ordersPerCustomer) / 5 };
    const r = await loadSyntheticShop(db, { seed: SEED, customers, now: NOW, bg });
    if (db.dialect === 'postgres') await sql`analyze`.execute(db.kysely);
    return {
      stage: 'import',
      items: r.customers,
      unit: 'customers',
      seconds: r.seconds,
      peak_rss_mib: peakRss(),
      orders: r.orders,
      orders_per_s: Math.round(r.orders / r.seconds),
      consents: r.consents,
    };
  } finally {
    await db.close();
  }
}

/** Stage 2: scores every customer (rhythm, RFM, BG/NBD and Gamma-Gamma), streaming in pages. */
export async function stageScore(url: string): Promise<StageResult> {
  const db = await openDatabase(url);
  try {
    const r = await scoreCustomers({ db, clock: { now: () => NOW } }, {});
    return {
      stage: 'score',
      items: r.customers,
      unit: 'customers',
      seconds: r.seconds.total,
      peak_rss_mib: peakRss(),
      fit_s: Number(r.seconds.fit.toFixed(1)),
    };
  } finally {
    await db.close();
  }
}

/**
 * Stage 3: evaluates the audience over every customer and enrols all who qualify; then the naive
 * way on a sample for comparison: per customer its fields, its consent, its earlier enrolments and
 * one insert (into `scale-naive`, removed afterwards so the later stages see one audience).
 */
export async function stageEnroll(url: string, sequencesDir: string, baselineSample: number): Promise<StageResult> {
  const engine = await scaleEngine(url, sequencesDir);
  try {
    const ctx = engine.ctx;
    const total = Number(
      (
        await ctx.k
          .selectFrom('customers')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    const t0 = performance.now();
    const r = await enrollAudience(ctx, 'scale');
    const seconds = (performance.now() - t0) / 1000;
    const rss = peakRss();
    const baseline = baselineSample > 0 ? await naiveEnroll(engine, baselineSample) : undefined;
    return {
      stage: 'enroll',
      items: total,
      unit: 'customers',
      seconds,
      peak_rss_mib: rss,
      baseline_per_s: baseline,
      enrolled: r.enrolled,
      considered: r.considered,
      skipped: Object.values(r.skipped).reduce((a, b) => a + b, 0),
    };
  } finally {
    await engine.close();
  }
}

/** The naive enrolment: every customer on their own, a handful of queries and one insert each. Customers/s. */
async function naiveEnroll(engine: Engine, sample: number): Promise<number> {
  const ctx = engine.ctx;
  const seq = ctx.sequences.get('scale-naive');
  const now = ctx.clock.now();
  const rules = audienceRules(seq.audience, now);
  const scores = await audienceScores(ctx.k, seq.audience);
  const ids = (await ctx.k.selectFrom('customers').select('id').orderBy('id').limit(sample).execute()).map((r) => r.id);
  const t0 = performance.now();
  for (const id of ids) {
    const v = (await customerValues(ctx.k, [id], now, { scores })).get(id);
    const a = v?.agg;
    if (!v || !a) continue;
    const count = Number(a.orders_count);
    const first = Number(a.first_order_at);
    const last = Number(a.last_order_at);
    const c: Candidate = {
      customer_id: id,
      external_id: v.externalId,
      orders_count: count,
      first_order_at: first,
      last_order_at: last,
      total_spent_minor: Number(a.total_minor),
      days_since_last_order: (now - last) / DAY,
      purchase_days: Number(a.purchase_days),
      first_day: Number(a.first_day),
      last_day: Number(a.last_day),
      interval_days: v.values.interval_days,
      values: v.values,
      scored: v.scored,
    };
    if (firstFailure(rules, c)) continue;
    if ((await notEnrolledSince(ctx.k, seq.id, [c])).length === 0) continue;
    const customer = await ctx.k.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const d = canSend(customer, (await consentStates(ctx.k, [id])).get(id)!, false, {
      consent: seq.consent,
      ownSimilarGoods: seq.own_similar_goods,
    });
    if (!d.allowed) continue;
    await ctx.k
      .insertInto('enrollments')
      .values({
        customer_id: id,
        sequence_id: seq.id,
        sequence_version: seq.version,
        status: 'active',
        holdout: 0,
        current_step: 0,
        next_due_at: firstDueAt(seq, now),
        enrolled_at: now,
        trigger_data: '{}',
        consent_id: d.consentId,
        legal_basis: d.basis,
      })
      .execute();
  }
  const perSecond = ids.length / ((performance.now() - t0) / 1000);
  await ctx.k.deleteFrom('enrollments').where('sequence_id', '=', seq.id).execute();
  return perSecond;
}

/** Stage 4: the scheduler reserves a message for every due enrolment, batch by batch (what each worker pass does). */
export async function stageSchedule(url: string, sequencesDir: string): Promise<StageResult> {
  const engine = await scaleEngine(url, sequencesDir);
  try {
    const t0 = performance.now();
    let processed = 0;
    let reserved = 0;
    for (;;) {
      const r = await scheduleBatch(engine.ctx);
      processed += r.processed;
      reserved += r.reserved;
      if (r.processed < engine.ctx.config.worker.batchSize) break;
    }
    return {
      stage: 'schedule',
      items: processed,
      unit: 'enrolments',
      seconds: (performance.now() - t0) / 1000,
      peak_rss_mib: peakRss(),
      reserved,
    };
  } finally {
    await engine.close();
  }
}

/** Parks every reserved message after the first `mails` (by id), so the send stage sends exactly those. Returns how many stay due. */
export async function limitDue(url: string, mails: number): Promise<number> {
  const db = await openDatabase(url);
  try {
    const k = db.kysely;
    // A kept database may hold claims of an interrupted run: nothing reached the sink for them that counts here.
    await k.updateTable('messages').set({ status: 'reserved' }).where('status', 'in', ['claimed', 'sending']).execute();
    await k
      .updateTable('messages')
      .set({ due_at: NOW })
      .where('status', '=', 'reserved')
      .where('due_at', '=', PARKED_AT)
      .execute();
    const cut = await k
      .selectFrom('messages')
      .select('id')
      .where('status', '=', 'reserved')
      .orderBy('id')
      .offset(mails)
      .limit(1)
      .executeTakeFirst();
    if (cut)
      await k
        .updateTable('messages')
        .set({ due_at: PARKED_AT })
        .where('status', '=', 'reserved')
        .where('id', '>=', cut.id)
        .execute();
    return Number(
      (
        await k
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', '=', 'reserved')
          .where('due_at', '<', PARKED_AT)
          .executeTakeFirstOrThrow()
      ).n,
    );
  } finally {
    await db.close();
  }
}

/** Stage 5 in-process (the test): the embedded worker's passes render and send every due message. */
export async function stageSendInline(url: string, sequencesDir: string, transport: Transport): Promise<StageResult> {
  const engine = await scaleEngine(url, sequencesDir, transport);
  try {
    const t0 = performance.now();
    let sent = 0;
    for (;;) {
      const r = await engine.runDue();
      if (r.dispatched === 0) break;
      sent += r.dispatched;
    }
    return {
      stage: 'send',
      items: sent,
      unit: 'messages',
      seconds: (performance.now() - t0) / 1000,
      peak_rss_mib: peakRss(),
    };
  } finally {
    await engine.close();
  }
}

/** The invariants the benchmark checks at the end: one message per enrolment, each sent at most once. */
export interface ScaleCounts {
  enrolled: number;
  messages: number;
  /** Enrolments with more than one message (must be 0: one-step sequence). */
  duplicate_messages: number;
  /** Customers with more than one enrolment in the sequence (must be 0). */
  duplicate_enrolments: number;
  sent: number;
}

/** Counts enrolments and messages of the `scale` sequence. */
export async function scaleCounts(url: string): Promise<ScaleCounts> {
  const db = await openDatabase(url);
  try {
    const one = async (q: string) => Number((await sql<{ n: number }>`${sql.raw(q)}`.execute(db.kysely)).rows[0]!.n);
    return {
      enrolled: await one(`select count(*) as n from enrollments where sequence_id = 'scale'`),
      messages: await one(`select count(*) as n from messages where sequence_id = 'scale'`),
      duplicate_messages: await one(
        `select count(*) as n from (select enrollment_id from messages group by enrollment_id having count(*) > 1) d`,
      ),
      duplicate_enrolments: await one(
        `select count(*) as n from (select customer_id from enrollments where sequence_id = 'scale' group by customer_id having count(*) > 1) d`,
      ),
      sent: await one(`select count(*) as n from messages where status = 'sent'`),
    };
  } finally {
    await db.close();
  }
}
