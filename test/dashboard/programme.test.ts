/** The dashboard's programme section shows exactly the numbers of the report's `programme`, in a headless browser. */
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { dashboardPlugin } from '../../src/dashboard/index.js';
import { runPathExperiment } from '../../src/demo/paths.js';
import { runProgrammeExperiment } from '../../src/demo/programme.js';
import { buildServer, listen } from '../../src/server/index.js';
import { sqliteUrl } from '../helpers/backends.js';
import { CHROMIUM_ARGS, mismatch, requireChromium, resolvePointer } from './helpers.js';

const TOKEN = 'dashboard-test-token-0123456789';
let engine: Engine | undefined;
let app: FastifyInstance | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await engine?.close();
});

describe('dashboard: path experiments and the programme vs the global control group', () => {
  it('shows the programme uplift with the numbers of the report', async () => {
    const executablePath = await requireChromium();
    const database = sqliteUrl();
    await runProgrammeExperiment({
      database,
      seed: 5,
      runs: 3,
      customers: 200,
      controlShare: 0.3,
      baseline: 0.1,
      effect: 0.05,
    });
    await runPathExperiment({
      database,
      seeds: [6],
      customers: 300,
      holdout: 0.2,
      baseline: 0.04,
      truths: { 'two-mails': 0.05, 'three-mails': 0.05, gift: 0.2 },
    });
    engine = await createEngine({
      database,
      controlGroup: { share: 0.3, rotation: 'seed-5', windowDays: 30 },
      dashboard: { token: TOKEN },
    });
    app = await buildServer({ engine, plugins: [dashboardPlugin()] });
    const { url } = await listen(app, { host: '127.0.0.1', port: 0 });
    const report = await engine.report();
    expect(report.programme.uplift.available).toBe(true);
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    await page.goto(`${url}/dashboard?token=${TOKEN}`);
    const metrics = await page.$$eval('#programme [data-metric], [id^="paths-"] [data-metric]', (els) =>
      els.map((el) => ({
        metric: el.getAttribute('data-metric')!,
        path: el.getAttribute('data-path')!,
        format: el.getAttribute('data-format')!,
        value: el.getAttribute('data-value')!,
        text: (el.textContent ?? '').trim(),
      })),
    );
    expect(metrics.map((m) => m.metric)).toEqual(
      expect.arrayContaining([
        'programme.absolute',
        'programme.absoluteCi95.low',
        'programme.revenueDifference',
        'programme.netRevenueDifference',
        'programme.holdout.enrolled',
      ]),
    );
    expect(metrics.map((m) => mismatch(m, resolvePointer(report, m.path))).filter((x) => x !== null)).toEqual([]);
    expect(await page.textContent('#programme')).toContain('Programme vs global control group');
    // The path experiment: each cohort against the holdout and every pair, all from the report.
    expect(metrics.filter((m) => m.metric.startsWith('paths-6.paths.')).length).toBeGreaterThanOrEqual(3 * 6 + 3 * 3);
    expect(await page.textContent('#paths-paths-6')).toContain('Bonferroni-corrected for 3 comparisons');
  }, 120_000);
});
