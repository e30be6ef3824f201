import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SIGNALS, type ShopBacktest } from '../../src/dormancy/index.js';
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
      expect(r.aucRepeat).toBeCloseTo(pairAuc(rep.map((i) => ps[i]!), rep.map((i) => outcome[i]!)), 9);
      expect(r.deciles.reduce((a, d) => a + d.n, 0)).toBe(o.customers);
      const gap = Math.max(...r.deciles.map((d) => Math.abs(d.predicted - d.actual)));
      expect(r.maxCalibrationGapPp).toBeCloseTo(100 * gap, 9);
    }
  }
}

/** The CDNOW sample log as CSV files for `comeback import`. */
function cdnowCsv(dir: string): { customers: string; orders: string } {
  const lines = readFileSync(new URL('./fixtures/CDNOW_sample.txt', import.meta.url), 'utf8').trim().split('\n');
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

describe('comeback score --backtest', () => {
  it('on the CDNOW sample: every score over four cut-offs, each AUC recomputed from the raw predictions, and p_return from the winner', async () => {
    const db = sqliteUrl();
    const files = cdnowCsv(mkdtempSync(join(tmpdir(), 'cdnow-')));
    await cli(['--db', db, 'import', 'customers', files.customers]);
    await cli(['--db', db, 'import', 'orders', files.orders]);
    const b = JSON.parse(await cli(['--db', db, 'score', '--backtest', '--as-of', '1998-06-30', '--horizon', '90d', '--json'])) as ShopBacktest;
    expect(b.sampled).toBe(2357);
    expect(b.origins.map((o) => o.customers)).toEqual([2357, 2357, 2357, 2357]);
    recheck(b);
    // The figures of docs/SCORING.md: the combination beats BG/NBD E[Y] out of sample on average.
    expect(b.meanAuc.combined!).toBeGreaterThan(b.meanAuc.bg_expected!);
    expect(b.meanAuc.bg_expected!).toBeGreaterThan(b.meanAuc.rhythm!);
    expect(b.winner).toBe('combined');

    const text = await cli(['--db', db, 'score', '--backtest', '--as-of', '1998-06-30']);
    expect(text).toMatch(/cut-off 1998-04-01 \(calibrated on 1998-01-01\): 2,357 customers/);
    expect(text).toMatch(/winner \(the default p_return\): calibrated combination/);

    const run = await cli(['--db', db, 'score', '--as-of', '1998-06-30']);
    expect(run).toMatch(/p_return \(buys again within 90 days without a mail\): calibrated combination, the winner of this shop's backtest at 1998-04-01/);
    const engine = await createEngine({ database: db, sequencesDir: 'none' }, { transport: new MemoryTransport() });
    try {
      const rows = await engine.ctx.k.selectFrom('customer_scores' as never).select(['p_return' as never]).execute();
      const ps = rows.map((r) => (r as { p_return: number | null }).p_return);
      expect(ps.every((p) => p !== null && p > 0 && p < 1)).toBe(true);
    } finally {
      await engine.close();
    }
  }, 120_000);

  it('on the demo shop, and a clear refusal when the history is too short', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-bt-'));
    const db = join(dir, 'demo.db');
    await runDemo({ customers: 400, days: 1, out: join(dir, 'outbox'), db, seed: 42, sequencesDir: 'sequences', templatesDir: 'templates' });
    const b = JSON.parse(await cli(['--db', db, 'score', '--backtest', '--as-of', '2026-03-03', '--json'])) as ShopBacktest;
    expect(b.origins.length).toBeGreaterThanOrEqual(2);
    recheck(b);
    for (const o of b.origins) expect(Object.keys(o.signals)).toEqual([...SIGNALS]);

    const young = sqliteUrl();
    const engine = await createEngine({ database: young, sequencesDir: 'none' }, { transport: new MemoryTransport() });
    const now = Date.UTC(2026, 5, 1);
    for (let i = 0; i < 40; i++) {
      await engine.customers.upsert({ externalId: `Y${i}`, email: `y${i}@example.com`, locale: 'en' });
      await engine.orders.record({ externalId: `Y${i}-1`, customerExternalId: `Y${i}`, orderedAt: now - (10 + i) * DAY, totalMinor: 1000 });
    }
    await engine.close();
    await expect(cli(['--db', young, 'score', '--backtest', '--as-of', '2026-06-01'])).rejects.toThrow(/history too short for a backtest with a 90-day horizon: .*the orders span 49 days\. Try a shorter horizon/);
    await expect(cli(['--db', young, 'score', '--backtest', '--horizon', 'soon'])).rejects.toThrow(/--horizon soon: expected whole days like 90d or 13w/);
  }, 120_000);
});
