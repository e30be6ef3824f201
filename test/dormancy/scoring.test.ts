import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, DAY, HOUR, type Engine } from '../../src/index.js';
import { ManualClock, MemoryTransport } from '../../src/testing.js';
import {
  customerReport,
  refreshScoresIfStale,
  scoreDb,
  scoreStaleness,
  ScoringError,
  type CustomerScore,
} from '../../src/dormancy/index.js';
import { loadSyntheticShop } from '../../src/dormancy/synthetic-load.js';
import { SYNTHETIC_TRUTH } from '../../src/dormancy/synthetic.js';
import { dialects } from '../helpers/backends.js';

const NOW = Date.UTC(2026, 5, 1, 12);

/** Every number in every stored row is finite; undefined values are null. */
function expectNoNaN(rows: CustomerScore[]): void {
  for (const r of rows)
    for (const [k, v] of Object.entries(r))
      if (typeof v === 'number') expect(Number.isFinite(v), `${k} of customer ${r.customer_id}`).toBe(true);
}

describe.each(dialects)('scoring on $name', ({ name, url }) => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  async function start(clock = new ManualClock(NOW)): Promise<Engine> {
    engine = await createEngine(
      { database: await url(), sequencesDir: 'sequences' },
      { clock, transport: new MemoryTransport() },
    );
    return engine;
  }
  const scores = async (e: Engine) =>
    new Map(
      (await scoreDb(e.ctx.k).selectFrom('customer_scores').selectAll().execute()).map((r) => [r.customer_id, r]),
    );
  const idOf = async (e: Engine, ext: string) => (await e.customers.get(ext))!.id;

  it('scores edge cases: one order, an order today (T = 0), no orders, bad rows, exclusions, erasure; never NaN', async () => {
    const e = await start();
    const ids = ['one', 'today', 'none', 'regular', 'bargain', 'objector', 'returner', 'late', 'bad', 'erased'];
    await e.customers.upsert(
      ids.map((id) => ({
        externalId: id,
        email: `${id}@example.com`,
        locale: 'en',
        ...(id === 'late' ? { latePayments: 3 } : {}),
      })),
    );
    const rec = (who: string, n: number, daysAgo: number, extra: object = {}) =>
      e.orders.record({
        externalId: `${who}-${n}`,
        customerExternalId: who,
        orderedAt: NOW - daysAgo * DAY,
        totalMinor: 4000,
        ...extra,
      });
    await rec('one', 0, 45);
    await rec('today', 0, 0);
    for (const [i, d] of [200, 170, 140, 110, 80].entries()) {
      await rec('regular', i, d);
      await rec('bargain', i, d, { discountMinor: 800 });
      await rec('objector', i, d);
      await rec('returner', i, d, { returnedMinor: i < 3 ? 4000 : 0 });
      await rec('late', i, d);
      await rec('erased', i, d);
    }
    await rec('regular', 9, 1, { status: 'cancelled' });
    await rec('today', 1, -3); // dated after the scoring time: left out, not an error
    await e.consents.record({ customer: 'objector', action: 'withdraw', source: 'objection' });
    await rec('bad', 0, 30);
    const bad = await idOf(e, 'bad');
    await e.ctx.k
      .insertInto('orders')
      .values({
        external_id: 'bad-neg',
        customer_id: bad,
        ordered_at: NOW - 20 * DAY,
        total_minor: -500,
        currency: 'EUR',
        created_at: NOW,
      })
      .execute();
    if (name === 'sqlite') {
      // SQLite keeps what it is given: a text timestamp must be left out, not turned into NaN.
      await sql`insert into orders (external_id, customer_id, ordered_at, total_minor, currency, created_at) values ('bad-text', ${bad}, 'yesterday', 'lots', 'EUR', ${NOW})`.execute(
        e.ctx.k,
      );
    }
    await e.ctx.k.updateTable('customers').set({ erased_at: NOW }).where('external_id', '=', 'erased').execute();

    const run = await e.score();
    expect(run.invalidOrders).toBe(name === 'sqlite' ? 2 : 1);
    expect(run.invalidSamples[0]).toMatch(/total_minor -500/);
    expect(run.bgNbd).toBeNull(); // nine customers are too few to fit: the rhythm scores stand alone
    expect(run.modelNote).toMatch(/model not fitted/);
    const s = await scores(e);
    expectNoNaN([...s.values()]);
    expect(s.size).toBe(9);
    expect(s.has(await idOf(e, 'erased'))).toBe(false);

    const one = s.get(await idOf(e, 'one'))!;
    expect(one).toMatchObject({
      orders_count: 1,
      frequency: 0,
      recency: 0,
      t: 45,
      interval_source: 'prior',
      median_interval_days: 30,
      days_since_last_order: 45,
      overdue_ratio: 1.5,
      early_warning: 1,
      p_alive: null,
    });
    const today = s.get(await idOf(e, 'today'))!;
    expect(today).toMatchObject({
      orders_count: 1,
      t: 0,
      days_since_last_order: 0,
      overdue_ratio: 0,
      early_warning: 0,
      r_score: 5,
    });
    const none = s.get(await idOf(e, 'none'))!;
    expect(none).toMatchObject({
      orders_count: 0,
      total_spent_minor: 0,
      median_interval_days: null,
      overdue_ratio: null,
      rfm: null,
      worth_winning_back: 0,
    });
    const regular = s.get(await idOf(e, 'regular'))!;
    expect(regular).toMatchObject({
      orders_count: 5,
      interval_source: 'own',
      median_interval_days: 30,
      days_since_last_order: 80,
      frequency: 4,
      recency: 120,
      t: 200,
      worth_winning_back: 1,
      discount_share: 0,
      return_rate: 0,
      objected: 0,
    });
    expect(regular.overdue_ratio).toBeCloseTo(80 / 30, 3);
    expect(s.get(bad)).toMatchObject({ orders_count: 1, total_spent_minor: 4000 });
    expect(s.get(await idOf(e, 'bargain'))).toMatchObject({ discount_share: 1, worth_winning_back: 0 });
    expect(s.get(await idOf(e, 'objector'))).toMatchObject({ objected: 1, worth_winning_back: 0 });
    expect(s.get(await idOf(e, 'returner'))).toMatchObject({ return_rate: 0.6, worth_winning_back: 0 });
    expect(s.get(await idOf(e, 'late'))).toMatchObject({ late_payments: 3, worth_winning_back: 0 });
    // The shop prior is the median own interval of the customers with three or more purchase days.
    expect(run.priorIntervalDays).toBe(30);

    const report = await customerReport(e.ctx, 'objector');
    expect(report.consent.objected).toBe(true);
    expect(report.exclusions).toEqual(['objected']);
    expect(report.status).toBe('drifting');
    expect(report.orders.count).toBe(5);
  });

  it('fits BG/NBD and Gamma-Gamma on a synthetic shop, recovers the truth roughly, and rewrites scores on a second run', async () => {
    const e = await start();
    const loaded = await loadSyntheticShop(e.ctx.db, { seed: 11, customers: 4000, now: NOW });
    const progress: string[] = [];
    const run = await e.score({
      pageSize: 700,
      writeBatchSize: 500,
      onProgress: (phase, done, total) => progress.push(`${phase}:${done}/${total}`),
    });
    expect(run.customers).toBe(4000);
    expect(run.orders).toBeGreaterThan(loaded.orders * 0.97);
    expect(progress).toContain('read:4000/4000');
    expect(progress).toContain('write:4000/4000');
    const bg = run.bgNbd!;
    const truth = SYNTHETIC_TRUTH.bg;
    // Within sampling error of 4,000 customers (cancellations and same-day orders blur it a little).
    expect(bg.r / bg.alpha).toBeGreaterThan((truth.r / truth.alpha) * 0.8);
    expect(bg.r / bg.alpha).toBeLessThan((truth.r / truth.alpha) * 1.25);
    expect(bg.a / (bg.a + bg.b)).toBeGreaterThan((truth.a / (truth.a + truth.b)) * 0.6);
    expect(bg.a / (bg.a + bg.b)).toBeLessThan((truth.a / (truth.a + truth.b)) * 1.6);
    const gg = run.gammaGamma!;
    const meanSpend = (gg.p * gg.v) / (gg.q - 1);
    const trueMean = (SYNTHETIC_TRUTH.gg.p * SYNTHETIC_TRUTH.gg.v) / (SYNTHETIC_TRUTH.gg.q - 1);
    expect(meanSpend).toBeGreaterThan(trueMean * 0.75); // returns lower the observed spend
    expect(meanSpend).toBeLessThan(trueMean * 1.2);

    const rows = [...(await scores(e)).values()];
    expectNoNaN(rows);
    expect(rows).toHaveLength(4000);
    // A customer whose only order was cancelled has no orders to score.
    expect(rows.filter((r) => r.orders_count > 0 && r.p_alive === null)).toEqual([]);
    for (const r of rows.filter((r) => r.orders_count > 0)) {
      expect(r.p_alive).toBeGreaterThanOrEqual(0);
      expect(r.p_alive).toBeLessThanOrEqual(1);
      expect(r.expected_value_minor).toBeGreaterThanOrEqual(0);
      if (r.objected) expect(r.worth_winning_back).toBe(0);
    }
    expect(run.counts.worthWinningBack).toBe(rows.filter((r) => r.worth_winning_back === 1).length);
    expect(run.counts.excluded.objected).toBeGreaterThan(0);
    const rfmSpread = new Set(rows.filter((r) => r.orders_count > 0).map((r) => r.r_score));
    expect(rfmSpread.size).toBe(5);

    // A second run upserts the same rows and drops the rows of customers erased since.
    const erased = rows[0]!.customer_id;
    await e.ctx.k.updateTable('customers').set({ erased_at: NOW }).where('id', '=', erased).execute();
    const again = await e.score({ pageSize: 700 });
    const after = await scores(e);
    expect(after.size).toBe(3999);
    expect(after.has(erased)).toBe(false);
    expect([...after.values()].every((r) => r.run_id === again.runId)).toBe(true);
    const runs = await scoreDb(e.ctx.k).selectFrom('score_runs').selectAll().orderBy('id').execute();
    expect(runs.map((r) => r.status)).toEqual(['done', 'done']);
    expect(runs[1]!.bg_r).toBeCloseTo(again.bgNbd!.r, 10);
  });

  it('re-scores before audience evaluation when stale: never scored, new orders, too old; settings of the last run stick', async () => {
    const clock = new ManualClock(NOW);
    const e = await start(clock);
    await e.customers.upsert({ externalId: 'anna', email: 'anna@example.com', locale: 'en' });
    await e.orders.record({
      externalId: 'a1',
      customerExternalId: 'anna',
      orderedAt: NOW - 100 * DAY,
      totalMinor: 3000,
    });
    expect((await scoreStaleness(e.ctx)).reason).toBe('never_scored');
    await e.enrollAudience('winback-lapsed');
    const k = scoreDb(e.ctx.k);
    const count = async () => (await k.selectFrom('score_runs').select('id').execute()).length;
    expect(await count()).toBe(1);
    await e.enrollAudience('winback-lapsed');
    expect(await count()).toBe(1); // fresh: no second run

    await e.score({ couponPercent: 20, staleAfterHours: 2 });
    expect(await count()).toBe(2);
    await e.orders.record({ externalId: 'a2', customerExternalId: 'anna', orderedAt: NOW - DAY, totalMinor: 3000 });
    expect((await scoreStaleness(e.ctx)).reason).toBe('new_orders');
    await e.enrollAudience('winback-lapsed');
    expect(await count()).toBe(3);
    const newest = await k.selectFrom('score_runs').select('settings').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(JSON.parse(newest.settings)).toMatchObject({ couponPercent: 20, staleAfterHours: 2 });
    clock.advance(3 * HOUR);
    expect((await scoreStaleness(e.ctx)).reason).toBe('too_old');
    expect(await refreshScoresIfStale(e.ctx)).not.toBeNull();
    expect((await scoreStaleness(e.ctx)).reason).toBe('fresh');
  });

  it('allows one run at a time and recovers from a run left behind by a crash', async () => {
    const clock = new ManualClock(NOW);
    const e = await start(clock);
    const k = scoreDb(e.ctx.k);
    await k
      .insertInto('score_runs')
      .values({
        status: 'running',
        as_of: NOW,
        started_at: NOW,
        finished_at: null,
        customers: 0,
        orders: 0,
        invalid_orders: 0,
        orders_max_id: 0,
        prior_interval_days: null,
        fit_rows: 0,
        bg_r: null,
        bg_alpha: null,
        bg_a: null,
        bg_b: null,
        bg_log_likelihood: null,
        gg_p: null,
        gg_q: null,
        gg_v: null,
        gg_log_likelihood: null,
        fitted_at: null,
        model_note: null,
        settings: '{}',
        rfm_cuts: '{}',
        seconds: null,
        error: null,
      })
      .execute();
    await expect(e.score()).rejects.toThrow(ScoringError);
    await expect(e.score()).rejects.toThrow(/already in progress/);
    expect(await refreshScoresIfStale(e.ctx)).toBeNull(); // the running run's scores are on their way
    clock.advance(2 * HOUR);
    const run = await e.score();
    const statuses = (await k.selectFrom('score_runs').select(['id', 'status']).orderBy('id').execute()).map(
      (r) => r.status,
    );
    expect(statuses).toEqual(['abandoned', 'done']);
    expect(run.customers).toBe(0);
  });

  it('refuses invalid settings before touching the database', async () => {
    const e = await start();
    await expect(e.score({ horizonDays: -5 })).rejects.toThrow(/scoring\.horizonDays/);
    await expect(e.score({ now: Number.NaN })).rejects.toThrow(/timestamp/);
    expect(await scoreDb(e.ctx.k).selectFrom('score_runs').select('id').execute()).toHaveLength(0);
  });
});

// An in-memory SQLite database has no second connection that could see it; PostgreSQL has no such mode.
it('scores an in-memory database through kysely (no second connection can see it)', async () => {
  const engine = await createEngine(
    { database: ':memory:', sequencesDir: 'none' },
    { clock: new ManualClock(NOW), transport: new MemoryTransport() },
  );
  await loadSyntheticShop(engine.ctx.db, { seed: 5, customers: 300, now: NOW });
  const run = await engine.score({ pageSize: 64, writeBatchSize: 50 });
  expect(run.customers).toBe(300);
  expect(run.bgNbd).not.toBeNull();
  const rows = await scoreDb(engine.ctx.k).selectFrom('customer_scores').selectAll().execute();
  expect(rows).toHaveLength(300);
  expectNoNaN(rows);
  await engine.close();
});
