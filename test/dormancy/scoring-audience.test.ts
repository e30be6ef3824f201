import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { scoreDb } from '../../src/dormancy/schema.js';
import { loadSyntheticShop } from '../../src/dormancy/synthetic-load.js';
import { createEngine, DAY } from '../../src/index.js';
import { MemoryTransport } from '../../src/testing.js';
import { customerValues } from '../../src/engine/audience.js';
import { runCliInProcess } from '../helpers/cli.js';

/** Runs a CLI command and returns what it printed on stdout. */
const cli = async (args: string[]) => (await runCliInProcess(args)).out;

afterEach(() => vi.restoreAllMocks());

const SEQUENCE = `id: model-winback
name: Win back by the purchase model
version: 1
audience:
  dormant: { min_days: 30 }
  p_alive_below: 0.95
  where: "early_warning == 1 or (worth_winning_back == 1 and discount_share < 0.6 and late_payments < 2 and return_rate < 0.5 and objected == 0)"
consent: [double_opt_in]
steps:
  - id: miss-you
    template: winback/miss-you
    subject: { en: "We miss you", de: "Wir vermissen Sie" }
`;

it('exclusion signals are configurable in the scoring and usable with the model fields in an audience; --explain and comeback customer show them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-score-audience-'));
  const db = join(dir, 'shop.db');
  const seqFile = join(dir, 'model-winback.yaml');
  writeFileSync(seqFile, SEQUENCE);
  const now = Date.now();
  const engine = await createEngine({ database: db, sequencesDir: 'none' }, { transport: new MemoryTransport() });
  try {
    await loadSyntheticShop(engine.ctx.db, { seed: 5, customers: 600, now: now - DAY });
    const strict = await engine.score();
    // The thresholds of the exclusions are settings: a looser bargain-hunter threshold excludes fewer.
    const loose = await engine.score({ maxDiscountShare: 1, maxLatePayments: 10 });
    expect(strict.counts.excluded.bargain_hunter).toBeGreaterThan(0);
    expect(strict.counts.excluded.late_payer).toBeGreaterThan(0);
    expect(loose.counts.excluded.bargain_hunter ?? 0).toBeLessThan(strict.counts.excluded.bargain_hunter!);
    expect(loose.counts.excluded.late_payer ?? 0).toBe(0);
    expect(loose.counts.worthWinningBack).toBeGreaterThan(strict.counts.worthWinningBack);
    await engine.score(); // back to the defaults
    const objector = await scoreDb(engine.ctx.k)
      .selectFrom('customer_scores')
      .select('customer_id')
      .where('objected', '=', 1)
      .executeTakeFirst();
    expect(objector).toBeDefined();
  } finally {
    await engine.close();
  }

  const text = await cli(['--db', db, 'audience', seqFile, '--explain', '--sample', '50']);
  expect(text).toMatch(/p_alive/);
  expect(text).toMatch(/where/);
  // Excluded customers are shown with the values of the fields the rule used.
  expect(text).toMatch(/early_warning=0/);
  expect(text).toMatch(/worth_winning_back=[01]/);
  expect(text).toMatch(/objected=1/);
  const json = JSON.parse(await cli(['--db', db, 'audience', seqFile, '--explain', '--json']));
  const where = json.steps.find((s: { key: string }) => s.key === 'where');
  expect(where.excluded).toBeGreaterThan(0);
  expect(json.steps.find((s: { key: string }) => s.key === 'p_alive_below').excluded).toBeGreaterThan(0);

  const shown = await cli(['--db', db, 'customer', 'S1']);
  expect(shown).toMatch(/status\s+(active|due|drifting|lost)/);
  expect(shown).toMatch(/next 90 days\s+[\d.]+ expected purchases/);
  expect(shown).toMatch(
    /exclusion signals\n\s+discount share \d+ %, return rate \d+ %, late payments \d+, objected (yes|no)/,
  );
});

it('one rhythm: the audience fields and the stored scores agree for every customer with two purchase days, and same-day orders are no rhythm', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-score-rhythm-'));
  const db = join(dir, 'shop.db');
  const seqFile = join(dir, 'rhythm.yaml');
  writeFileSync(
    seqFile,
    SEQUENCE.replace('id: model-winback', 'id: rhythm').replace(
      / {2}p_alive_below.*\n {2}where: .*\n/,
      '  where: "days_since_last_order > 2 * median_interval_days and p_return < 0.9"\n',
    ),
  );
  const now = Date.now();
  const engine = await createEngine({ database: db, sequencesDir: 'none' }, { transport: new MemoryTransport() });
  try {
    await loadSyntheticShop(engine.ctx.db, { seed: 7, customers: 300, now: now - DAY });
    // Three orders on one day, yesterday: one purchase day, no rhythm, never overdue the next day.
    await engine.customers.upsert({ externalId: 'same-day', email: 'same-day@example.com', locale: 'en' });
    for (const h of [1, 2, 3])
      await engine.orders.record({
        externalId: `same-day-${h}`,
        customerExternalId: 'same-day',
        orderedAt: Math.floor((now - DAY) / DAY) * DAY + h * 3_600_000,
        totalMinor: 2000,
      });
    await engine.score({ now });
    const stored = await scoreDb(engine.ctx.k)
      .selectFrom('customer_scores')
      .select([
        'customer_id',
        'median_interval_days',
        'interval_days',
        'overdue_ratio',
        'frequency',
        'p_return',
        'early_warning',
      ])
      .execute();
    const values = await customerValues(
      engine.ctx.k,
      stored.map((r) => r.customer_id),
      now,
    );
    let compared = 0;
    for (const r of stored) {
      const v = values.get(r.customer_id)!.values;
      expect(v.median_interval_days).toBe(r.median_interval_days);
      expect(r.interval_days).toBe(r.median_interval_days);
      expect(v.p_return).toBe(r.p_return);
      if (r.frequency >= 1) {
        compared++;
        expect(Math.abs(v.interval_days! - r.interval_days!)).toBeLessThan(0.006);
        expect(Math.abs(v.overdue_ratio! - r.overdue_ratio!)).toBeLessThan(0.001 + 1e-3 * r.overdue_ratio!);
      } else expect(v.overdue_ratio).toBeNull();
    }
    expect(compared).toBeGreaterThan(100);
    const sameDay = (await engine.customers.get('same-day'))!;
    const row = stored.find((r) => r.customer_id === sameDay.id)!;
    expect(row).toMatchObject({ frequency: 0, early_warning: 0 });
    expect(row.overdue_ratio!).toBeLessThan(1);
    expect(values.get(sameDay.id)!.values).toMatchObject({ interval_days: null, overdue_ratio: null });
  } finally {
    await engine.close();
  }
  const json = JSON.parse(await cli(['--db', db, 'audience', seqFile, '--explain', '--json']));
  const where = json.steps.find((s: { key: string }) => s.key === 'where');
  expect(where.excluded).toBeGreaterThan(0);
  expect(where.remaining).toBeGreaterThan(0);
  const overdue = SEQUENCE.replace('id: model-winback', 'id: overdue').replace(
    / {2}p_alive_below.*\n {2}where: .*\n/,
    '',
  );
  writeFileSync(seqFile, overdue.replace('dormant: { min_days: 30 }', 'dormant: { overdue_factor: 0.5 }'));
  const explained = JSON.parse(await cli(['--db', db, 'audience', seqFile, '--explain', '--json', '--sample', '1000']));
  const rule = explained.steps.find((s: { key: string }) => s.key === 'dormant.overdue_factor');
  expect(rule.samples).toContainEqual({ customer: 'same-day', reason: 'one purchase day: no rhythm yet' });
});
