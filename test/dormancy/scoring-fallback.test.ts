import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DAY } from '../../src/clock.js';
import { DEFAULT_SCORING_SETTINGS as S } from '../../src/dormancy/config.js';
import { scoreDb } from '../../src/dormancy/schema.js';
import { scoreCustomer, type ModelErrors, type ScoringContext } from '../../src/dormancy/score.js';
import type { SummaryRow } from '../../src/dormancy/store.js';
import { loadSyntheticShop } from '../../src/dormancy/synthetic-load.js';
import { runDemo } from '../../src/demo/run.js';
import { createEngine, type Engine } from '../../src/index.js';
import { ManualClock, MemoryTransport } from '../../src/testing.js';

// Lets a test make the model's expectation fail for chosen histories, as the Gauss
// hypergeometric series did for a small shop's fit; everything else is the real model.
const failWhen = vi.hoisted(() => ({ frequency: Infinity }));
vi.mock('../../src/dormancy/model/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/dormancy/model/index.js')>();
  return {
    ...real,
    bgNbdExpectedPurchasesIfAlive: (
      params: Parameters<typeof real.bgNbdExpectedPurchasesIfAlive>[0],
      t: number,
      c: { frequency: number; T: number },
    ) => {
      if (c.frequency >= failWhen.frequency) throw new RangeError('hyp2f1(…): series did not converge');
      return real.bgNbdExpectedPurchasesIfAlive(params, t, c);
    },
  };
});

const NOW = Date.UTC(2026, 5, 1, 12);

function expectNoNaN(rows: object[]): void {
  for (const r of rows)
    for (const [k, v] of Object.entries(r)) if (typeof v === 'number') expect(Number.isFinite(v), k).toBe(true);
}

describe('scoring when the purchase model cannot be evaluated', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    failWhen.frequency = Infinity;
    await engine?.close();
    engine = undefined;
  });

  const summary = (frequency: number, T: number): SummaryRow => ({
    customerId: 5,
    ordersCount: frequency + 1,
    firstOrderAt: NOW - T * DAY,
    lastOrderAt: NOW - 10 * DAY,
    netMinor: 5000 * (frequency + 1),
    grossMinor: 5000 * (frequency + 1),
    returnedMinor: 0,
    discountedOrders: 0,
    latePayments: 0,
    purchaseDays: frequency + 1,
    ownInterval: frequency > 0 ? 20 : NaN,
    frequency,
    recency: frequency > 0 ? T - 10 : 0,
    T,
    monetaryMinor: frequency > 0 ? 5000 : 0,
    objected: 0,
  });

  it('one customer: the rhythm-only score (model fields null), counted per customer, never an exception', () => {
    failWhen.frequency = 3;
    const modelErrors: ModelErrors = { count: 0, first: null };
    const ctx: ScoringContext = {
      settings: S,
      now: NOW,
      runId: 1,
      priorIntervalDays: 30,
      cuts: { recency: [10, 20, 30, 40], frequency: [1, 2, 3, 4], monetary: [1000, 2000, 3000, 4000] },
      models: { bg: { r: 0.9, alpha: 37, a: 0.8, b: 3.5, logLikelihood: -1 }, gg: null, fitRows: 10, note: null },
      cache: new Map(),
      modelErrors,
    };
    const ok = scoreCustomer(summary(1, 100), ctx).row;
    expect(ok.p_alive).toBeGreaterThan(0);
    expect(ok.expected_value_minor).toBeGreaterThan(0);
    for (let i = 0; i < 2; i++) {
      const { row } = scoreCustomer(summary(4, 100), ctx);
      expect(row).toMatchObject({
        p_alive: null,
        expected_purchases_90d: null,
        expected_value_minor: null,
        expected_spend_minor: 5000,
        interval_source: 'own',
        median_interval_days: 20,
        days_since_last_order: 10,
      });
      // Without a value the worth is decided by the exclusions alone, as without a model.
      expect(row.worth_winning_back).toBe(1);
      expectNoNaN([row]);
    }
    expect(modelErrors.count).toBe(2); // the second customer came from the cache and still counts
    expect(modelErrors.first).toMatch(/frequency 4, recency 90, T 100: hyp2f1.*did not converge/);
  });

  it('a whole run: completes, notes the customers on the rhythm-only score, writes no NaN; audience evaluation still works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-fallback-'));
    engine = await createEngine(
      { database: join(dir, 'shop.db'), sequencesDir: 'sequences' },
      { clock: new ManualClock(NOW), transport: new MemoryTransport() },
    );
    await loadSyntheticShop(engine.ctx.db, { seed: 11, customers: 400, now: NOW });
    failWhen.frequency = 6;
    const run = await engine.score();
    expect(run.bgNbd).not.toBeNull();
    const rows = await scoreDb(engine.ctx.k).selectFrom('customer_scores').selectAll().execute();
    const failed = rows.filter((r) => r.frequency >= 6);
    expect(failed.length).toBeGreaterThan(0);
    expect(run.modelNote).toContain(`model values not computable for ${failed.length} customers`);
    for (const r of failed)
      expect(r).toMatchObject({ p_alive: null, expected_purchases_90d: null, expected_value_minor: null });
    expect(
      rows
        .filter((r) => r.frequency < 6 && r.orders_count > 0)
        .every((r) => r.p_alive !== null && r.expected_value_minor !== null),
    ).toBe(true);
    expectNoNaN(rows);
    const stored = await scoreDb(engine.ctx.k)
      .selectFrom('score_runs')
      .selectAll()
      .where('id', '=', run.runId)
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ status: 'done', model_note: run.modelNote });
    // New orders make the scores stale: the automatic run before audience evaluation must not throw.
    await engine.orders.record({
      externalId: 'late-order',
      customerExternalId: 'S1',
      orderedAt: NOW - DAY,
      totalMinor: 3000,
    });
    await expect(engine.enrollAll()).resolves.toBeDefined();
    const runs = await scoreDb(engine.ctx.k).selectFrom('score_runs').select(['status']).execute();
    expect(runs.map((r) => r.status)).toEqual(['done', 'done']);
  });
});

it('the demo shop (200 customers) scores before every audience evaluation without a failed run or NaN', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-demo-score-'));
  const result = await runDemo({
    customers: 200,
    days: 2,
    out: join(dir, 'outbox'),
    db: join(dir, 'demo.db'),
    seed: 42,
    keepOpen: true,
  });
  const e = result.engine!;
  try {
    const runs = await scoreDb(e.ctx.k).selectFrom('score_runs').select(['status', 'error', 'bg_a']).execute();
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.every((r) => r.status === 'done' && r.error === null)).toBe(true);
    expectNoNaN(await scoreDb(e.ctx.k).selectFrom('customer_scores').selectAll().execute());
  } finally {
    await e.close();
  }
});
