import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backtest, evaluateOrigin, SIGNALS, type ShopBacktest } from '../../src/dormancy/index.js';
import { runDemo } from '../../src/demo/run.js';
import { createEngine, DAY } from '../../src/index.js';
import { MemoryTransport } from '../../src/testing.js';
import { sqliteUrl } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';

const cli = async (args: string[]) => (await runCliInProcess(args)).out;

/** AUC by counting every (positive, negative) pair: independent of the rank formula in the product. */
function pairAuc(p: number[], y: number[]): number {
  const pos = p.filter((_, i) => y[i] === 1);
  const neg = p.filter((_, i) => y[i] === 0);
  let wins = 0;
  for (const a of pos) for (const b of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

/** Checks every AUC and decile figure of a backtest against its raw predictions. */
function recheck(b: ShopBacktest): void {
  for (const o of b.origins) {
    const { outcome, repeat, p } = o.predictions;
    expect(outcome.length).toBe(o.customers);
    for (const s of SIGNALS) {
      const r = o.signals[s];
      if (!r) continue;
      const ps = p[s]!;
      expect(r.auc).toBeCloseTo(pairAuc(ps, outcome), 9);
      const rep = repeat.flatMap((v, i) => (v ? [i] : []));
      expect(r.aucRepeat).toBeCloseTo(
        pairAuc(
          rep.map((i) => ps[i]!),
          rep.map((i) => outcome[i]!),
        ),
        9,
      );
      expect(r.deciles.reduce((a, d) => a + d.n, 0)).toBe(o.customers);
      const gap = Math.max(...r.deciles.map((d) => Math.abs(d.predicted - d.actual)));
      expect(r.maxCalibrationGapPp).toBeCloseTo(100 * gap, 9);
    }
  }
  recheckPooled(b);
}

/**
 * Recomputes the pooled calibration of every score from the raw predictions: all cut-offs'
 * predictions in one list, ten groups by predicted probability, the gap's standard error from
 * the residuals summed per customer.
 */
function recheckPooled(b: ShopBacktest): void {
  for (const s of SIGNALS) {
    const pc = b.pooled[s];
    if (!pc) continue;
    const rows = b.origins.flatMap((o) =>
      o.predictions.p[s]!.map((p, i) => ({ p, y: o.predictions.outcome[i]!, id: o.predictions.ids[i]! })),
    );
    const sorted = rows.map((r, i) => ({ ...r, i })).sort((a, c) => a.p - c.p || a.i - c.i);
    expect(pc.predictions).toBe(rows.length);
    let maxGap = 0;
    let distinguishable = 0;
    for (let d = 0; d < 10; d++) {
      const part = sorted.slice(Math.floor((d * rows.length) / 10), Math.floor(((d + 1) * rows.length) / 10));
      const predicted = part.reduce((a, r) => a + r.p, 0) / part.length;
      const actual = part.reduce((a, r) => a + r.y, 0) / part.length;
      const meanResidual = actual - predicted;
      const perCustomer: Record<number, number> = {};
      for (const r of part) perCustomer[r.id] = (perCustomer[r.id] ?? 0) + r.y - r.p - meanResidual;
      const sums = Object.values(perCustomer);
      const se = Math.sqrt((sums.reduce((a, v) => a + v * v, 0) * sums.length) / (sums.length - 1)) / part.length;
      const dec = pc.deciles[d]!;
      expect(dec.n).toBe(part.length);
      expect(dec.customers).toBe(sums.length);
      expect(dec.predicted).toBeCloseTo(predicted, 12);
      expect(dec.actual).toBeCloseTo(actual, 12);
      expect(dec.se).toBeCloseTo(se, 12);
      expect(dec.low).toBeCloseTo(predicted - actual - 1.96 * se, 3);
      const differs = Math.abs(predicted - actual) > 1.959964 * se;
      expect(dec.distinguishable).toBe(differs);
      if (differs) distinguishable++;
      maxGap = Math.max(maxGap, Math.abs(predicted - actual));
    }
    expect(pc.maxGapPp).toBeCloseTo(100 * maxGap, 9);
    expect(pc.distinguishable).toBe(distinguishable);
    expect(pc.withinGoal).toBe(maxGap <= 0.03);
    const logLoss = -rows.reduce((a, r) => a + (r.y ? Math.log(r.p) : Math.log(1 - r.p)), 0) / rows.length;
    expect(pc.logLoss).toBeCloseTo(logLoss, 9);
  }
  // The recalibration kept is the candidate whose winner has the lowest pooled log-loss, and its figures are the ones reported.
  const c = b.recalibration.candidates;
  const lowest = Math.min(...Object.values(c).map((x) => x!.pooledLogLoss));
  expect(c[b.recalibration.method]!.pooledLogLoss).toBe(lowest);
  expect(c[b.recalibration.method]!.pooledLogLoss).toBeCloseTo(b.pooled[b.winner]!.logLoss, 12);
  expect(c[b.recalibration.method]!.winner).toBe(b.winner);
}

/** The CDNOW sample log as CSV files for `comeback import`. */
function cdnowCsv(dir: string): { customers: string; orders: string } {
  const lines = readFileSync(new URL('./fixtures/CDNOW_sample.txt', import.meta.url), 'utf8')
    .trim()
    .split('\n');
  const ids = new Set<string>();
  const orders = ['order_id,customer_id,ordered_at,total'];
  lines.forEach((l, i) => {
    const [, id, d, , usd] = l.trim().split(/\s+/);
    ids.add(id!);
    orders.push(`L${i + 1},${id},${d!.slice(0, 4)}-${d!.slice(4, 6)}-${d!.slice(6, 8)},${Number(usd).toFixed(2)}`);
  });
  const c = join(dir, 'customers.csv');
  const o = join(dir, 'orders.csv');
  writeFileSync(c, ['external_id', ...ids].join('\n'));
  writeFileSync(o, orders.join('\n'));
  return { customers: c, orders: o };
}

/**
 * Recomputes the prequential figure of the CDNOW backtest from the library: the method at each
 * cut-off is the one a backtest ending at that cut-off chooses (the oldest: `latest`), and the
 * pooled deciles of those methods' predictions are counted here from scratch.
 */
function recheckPrequential(b: ShopBacktest): void {
  const byId = new Map<string, Set<number>>();
  for (const l of readFileSync(new URL('./fixtures/CDNOW_sample.txt', import.meta.url), 'utf8')
    .trim()
    .split('\n')) {
    const [, id, d] = l.trim().split(/\s+/);
    const day = Date.UTC(+d!.slice(0, 4), +d!.slice(4, 6) - 1, +d!.slice(6, 8)) / DAY;
    byId.set(id!, (byId.get(id!) ?? new Set()).add(day));
  }
  const histories = [...byId.values()].map((s, id) => ({ id, days: Int32Array.from([...s].sort((a, c) => a - c)) }));
  const end = Date.UTC(1998, 5, 30) / DAY;
  const { methods, pooled } = b.recalibration.prequential;
  for (let k = 0; k < 3; k++) {
    const older = backtest(histories, { endDay: end - (k + 1) * 90, horizon: 90, maxOrigins: 3 - k });
    expect(methods[k]).toBe(older.recalibration.method);
  }
  expect(methods[3]).toBe('latest');
  let seq = 0;
  const rows = methods.flatMap((m, k) => {
    const o = evaluateOrigin(histories, end - (k + 1) * 90, 90, 30, m)!;
    return o.predictions.p.combined!.map((p, i) => ({ p, y: o.predictions.outcome[i]!, i: seq++ }));
  });
  rows.sort((a, c) => a.p - c.p || a.i - c.i);
  let maxGap = 0;
  for (let d = 0; d < 10; d++) {
    const part = rows.slice(Math.floor((d * rows.length) / 10), Math.floor(((d + 1) * rows.length) / 10));
    const gap = part.reduce((a, r) => a + r.p - r.y, 0) / part.length;
    maxGap = Math.max(maxGap, Math.abs(gap));
    expect(pooled.deciles[d]!.gap).toBeCloseTo(gap, 12);
  }
  expect(pooled.maxGapPp).toBeCloseTo(100 * maxGap, 9);
  expect(100 * maxGap).toBeLessThanOrEqual(3);
}

describe('comeback score --backtest', () => {
  it('on the CDNOW sample: every score over four cut-offs, each AUC recomputed from the raw predictions, and p_return from the winner', async () => {
    const db = sqliteUrl();
    const files = cdnowCsv(mkdtempSync(join(tmpdir(), 'cdnow-')));
    await cli(['--db', db, 'import', 'customers', files.customers]);
    await cli(['--db', db, 'import', 'orders', files.orders]);
    const b = JSON.parse(
      await cli(['--db', db, 'score', '--backtest', '--as-of', '1998-06-30', '--horizon', '90d', '--json']),
    ) as ShopBacktest;
    expect(b.sampled).toBe(2357);
    expect(b.origins.map((o) => o.customers)).toEqual([2357, 2357, 2357, 2357]);
    recheck(b);
    // The figures of docs/SCORING.md: the combination beats BG/NBD E[Y] out of sample on average.
    expect(b.meanAuc.combined!).toBeGreaterThan(b.meanAuc.bg_expected!);
    expect(b.meanAuc.bg_expected!).toBeGreaterThan(b.meanAuc.rhythm!);
    expect(b.winner).toBe('combined');
    // Calibration, stated as measured: the map fitted on four windows with equal weights and the
    // customer's age in the combination is chosen; pooled over the four cut-offs its largest
    // decile gap is 2.65 pp (goal 3: met), the latest cut-off alone is still off by 9.0 pp (the
    // return rate fell from 16.3 % to 12.7 %). Chosen from older cut-offs only, 2.10 pp.
    expect(b.recalibration.method).toBe('pooled_age');
    const pooled = b.pooled.combined!;
    expect(pooled.maxGapPp).toBeCloseTo(2.65, 1);
    expect(pooled.withinGoal).toBe(true);
    expect(pooled.distinguishable).toBe(2);
    expect(b.origins[0]!.signals.combined!.maxCalibrationGapPp).toBeCloseTo(9.0, 0);
    const prequential = b.recalibration.prequential;
    expect(prequential.methods).toEqual(['decayed_intercept_age', 'pooled', 'latest', 'latest']);
    expect(prequential.pooled.maxGapPp).toBeCloseTo(2.1, 1);
    expect(prequential.pooled.withinGoal).toBe(true);
    recheckPrequential(b);
    // Without the age term the best is 3.2 pp (decayed_intercept), and `latest` 3.8 pp.
    expect(b.recalibration.candidates.decayed_intercept!.pooledMaxGapPp).toBeCloseTo(3.23, 1);
    expect(b.recalibration.candidates.latest!.pooledMaxGapPp).toBeCloseTo(3.8, 0);
    // Every method's combination still beats BG/NBD E[Y] on mean AUC.
    for (const c of Object.values(b.recalibration.candidates)) expect(c.meanAuc.combined!).toBeGreaterThan(0.797);
    expect(b.meanAuc.bg_expected!).toBeLessThan(0.795);

    const text = await cli(['--db', db, 'score', '--backtest', '--as-of', '1998-06-30']);
    expect(text).toMatch(/cut-off 1998-04-01 \(calibrated on 1998-01-01\): 2,357 customers/);
    expect(text).toMatch(/winner \(the default p_return\): calibrated combination/);
    expect(text).toMatch(
      /within 3 pp in every decile: pooled yes \(largest gap 2\.7 pp; 2 of 10 deciles differ from 0/,
    );

    const run = await cli(['--db', db, 'score', '--as-of', '1998-06-30']);
    expect(run).toMatch(
      /p_return \(buys again within 90 days without a mail\): calibrated combination, the winner of this shop's backtest at 1998-04-01/,
    );
    const engine = await createEngine({ database: db, sequencesDir: 'none' }, { transport: new MemoryTransport() });
    try {
      const rows = await engine.ctx.k
        .selectFrom('customer_scores' as never)
        .select(['p_return' as never])
        .execute();
      const ps = rows.map((r) => (r as { p_return: number | null }).p_return);
      expect(ps.every((p) => p !== null && p > 0 && p < 1)).toBe(true);
    } finally {
      await engine.close();
    }
  }, 120_000);

  it('on the demo shop, and a clear refusal when the history is too short', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-bt-'));
    const db = join(dir, 'demo.db');
    await runDemo({
      customers: 400,
      days: 1,
      out: join(dir, 'outbox'),
      db,
      seed: 42,
      sequencesDir: 'sequences',
      templatesDir: 'templates',
    });
    const b = JSON.parse(
      await cli(['--db', db, 'score', '--backtest', '--as-of', '2026-03-03', '--json']),
    ) as ShopBacktest;
    expect(b.origins.length).toBeGreaterThanOrEqual(2);
    recheck(b);
    for (const o of b.origins) expect(Object.keys(o.signals)).toEqual([...SIGNALS]);

    const young = sqliteUrl();
    const engine = await createEngine({ database: young, sequencesDir: 'none' }, { transport: new MemoryTransport() });
    const now = Date.UTC(2026, 5, 1);
    for (let i = 0; i < 40; i++) {
      await engine.customers.upsert({ externalId: `Y${i}`, email: `y${i}@example.com`, locale: 'en' });
      await engine.orders.record({
        externalId: `Y${i}-1`,
        customerExternalId: `Y${i}`,
        orderedAt: now - (10 + i) * DAY,
        totalMinor: 1000,
      });
    }
    await engine.close();
    await expect(cli(['--db', young, 'score', '--backtest', '--as-of', '2026-06-01'])).rejects.toThrow(
      /history too short for a backtest with a 90-day horizon: .*the orders span 49 days\. Try a shorter horizon/,
    );
    await expect(cli(['--db', young, 'score', '--backtest', '--horizon', 'soon'])).rejects.toThrow(
      /--horizon soon: expected whole days like 90d or 13w/,
    );
  }, 120_000);
});
