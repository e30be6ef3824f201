import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatRun, parseSettingPairs } from '../../src/cli/commands/score.js';
import { loadSyntheticShop } from '../../src/dormancy/synthetic-load.js';
import { createEngine, DAY } from '../../src/index.js';
import { MemoryTransport } from '../../src/testing.js';
import { sqliteUrl } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';

/** Runs a CLI command and returns what it printed on stdout. */
const cli = async (args: string[]) => (await runCliInProcess(args)).out;

describe('comeback score and comeback customer', () => {
  afterEach(() => vi.restoreAllMocks());

  it('scores with settings, skips when fresh with --if-stale, and shows one customer', async () => {
    const db = sqliteUrl();
    const now = Date.now();
    const engine = await createEngine({ database: db, sequencesDir: 'none' }, { transport: new MemoryTransport() });
    await loadSyntheticShop(engine.ctx.db, { seed: 3, customers: 500, now: now - DAY });
    await engine.consents.record({
      customer: 'S1',
      action: 'grant',
      basis: 'double_opt_in',
      source: 'newsletter_form',
    });
    await engine.close();

    const asOf = await cli(['--db', db, 'score', '--as-of', new Date(now - 400 * DAY).toISOString(), '--json']);
    expect(JSON.parse(asOf).orders).toBeLessThan(2500); // later orders are left out
    const text = await cli(['--db', db, 'score', '--set', 'couponPercent=15']);
    expect(text).toMatch(/^scored 500 customers \([\d,]+ with orders, [\d,]+ orders\)/);
    expect(text).toMatch(/BG\/NBD: r=[\d.]+ alpha=/);
    expect(text).toMatch(/early warning: [\d,]+ .*worth winning back: [\d,]+/);

    const skipped = await cli(['--db', db, 'score', '--if-stale', '--json']);
    expect(JSON.parse(skipped)).toEqual({ skipped: 'fresh' });

    const shown = await cli(['--db', db, 'customer', 'S1']);
    expect(shown).toMatch(/customer \d+ \(S1\)/);
    expect(shown).toMatch(/usual interval\s+[\d.]+ days \((own|prior)\)/);
    expect(shown).toMatch(/P\(alive\)\s+[\d.]+/);
    expect(shown).toMatch(/expected value\s+.*against a recovery cost of/);
    expect(shown).toMatch(/consent: double_opt_in since/);
    expect(shown).toMatch(/enrolments: none/);
    const json = JSON.parse(await cli(['--db', db, 'customer', 'S1', '--json']));
    expect(json.score.customer_id).toBe(json.customer.id);
    expect(JSON.parse(json.run.settings).couponPercent).toBe(15);

    await expect(cli(['--db', db, 'customer', 'nobody'])).rejects.toThrow(/customer "nobody" not found/);
    await expect(cli(['--db', db, 'score', '--set', 'couponPercent'])).rejects.toThrow(/expected NAME=NUMBER/);
    await expect(cli(['--db', db, 'score', '--set', 'horizonDayz=3'])).rejects.toThrow(/did you mean "horizonDays"/);
    await expect(cli(['--db', db, 'score', '--as-of', 'soon'])).rejects.toThrow(/--as-of soon: not a date/);
  });

  it('parses settings and formats a run without a model', () => {
    expect(parseSettingPairs(['horizonDays=180', 'marginRate=0.25'])).toEqual({ horizonDays: 180, marginRate: 0.25 });
    expect(() => parseSettingPairs(['marginRate=high'])).toThrow(/not a number/);
    const text = formatRun({
      runId: 1,
      customers: 2,
      orders: 2,
      invalidOrders: 1,
      invalidSamples: ['order 9 of customer 2: total_minor -5 is not a non-negative amount'],
      priorIntervalDays: 30,
      bgNbd: null,
      gammaGamma: null,
      fitRows: 0,
      modelNote: 'model not fitted: 2 customers with orders, at least 30 needed',
      counts: { withOrders: 2, earlyWarning: 1, lapsed: 0, worthWinningBack: 2, excluded: {} },
      cuts: { recency: [], frequency: [], monetary: [] },
      seconds: { read: 0.1, fit: 0, write: 0.1, total: 0.2, cpu: 0.2 },
    });
    expect(text).toContain('BG/NBD: not fitted');
    expect(text).toContain('note: model not fitted');
    expect(text).toContain('early warning: 1 (50.0 %)');
    expect(text).toContain('left out 1 invalid orders');
  });
});
