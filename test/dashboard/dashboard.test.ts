import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { dashboardPlugin } from '../../src/dashboard/index.js';
import { serveDemoDashboard } from '../../src/dashboard/demo-server.js';
import { runDemo } from '../../src/demo/run.js';
import type { StatsReport } from '../../src/metrics/report.js';
import { buildServer, listen } from '../../src/server/index.js';
import {
  CHROMIUM_ARGS,
  exited,
  mismatch,
  requireChromium,
  resolvePointer,
  runCli,
  startCli,
  withoutTimes,
  type ShownMetric,
} from './helpers.js';

const TOKEN = 'dashboard-test-token-0123456789';
const EVIL = '<script>window.__pwned=1</script>Eve';
const SECRET = 'test-secret-0123456789abcdef';

let dir: string;
let db: string;
let demoEngine: Engine; // the demo's own engine, kept open as `npm start` does
let engine: Engine; // a fresh engine on the demo database, as `comeback serve --db` has
let app: FastifyInstance;
let url: string;
let browser: Browser;
let cliReport: StatsReport;
const demoStop = new EventEmitter();
let demoServed: Promise<void>;
let demoUrl: string;

/** Every number on a loaded dashboard page. */
async function shownMetrics(
  pageUrl: string,
  screenshot?: string,
): Promise<{ metrics: ShownMetric[]; charts: string | null; html: string; pwned: unknown }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(pageUrl);
    await page.waitForSelector('body[data-charts]', { timeout: 20_000 });
    const metrics = await page.$$eval('[data-metric]', (els) =>
      els.map((el) => ({
        metric: el.getAttribute('data-metric')!,
        path: el.getAttribute('data-path')!,
        format: el.getAttribute('data-format')!,
        value: el.getAttribute('data-value')!,
        text: (el.textContent ?? '').trim(),
      })),
    );
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    expect(errors).toEqual([]);
    return {
      metrics,
      charts: await page.getAttribute('body', 'data-charts'),
      html: await page.content(),
      pwned: await page.evaluate(() => (window as any).__pwned),
    };
  } finally {
    await page.close();
  }
}

beforeAll(async () => {
  const executablePath = await requireChromium();
  dir = mkdtempSync(join(tmpdir(), 'comeback-dashboard-'));
  db = join(dir, 'demo.db');
  const demo = await runDemo({ customers: 200, days: 30, seed: 7, db, out: join(dir, 'outbox'), keepOpen: true });
  demoEngine = demo.engine!;
  // A returned customer with markup in the name: the page must show it as text.
  const last = await demoEngine.ctx.k
    .selectFrom('conversions')
    .select('customer_id')
    .where('holdout', '=', 0)
    .orderBy('converted_at', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  await demoEngine.ctx.k
    .updateTable('customers')
    .set({ first_name: EVIL })
    .where('id', '=', last.customer_id)
    .execute();

  engine = await createEngine({ database: db, secret: SECRET, dashboard: { token: TOKEN } });
  app = await buildServer({ engine, plugins: [dashboardPlugin()] });
  ({ url } = await listen(app, { host: '127.0.0.1', port: 0 }));
  demoServed = serveDemoDashboard(demoEngine, {
    port: 0,
    log: () => {},
    source: demoStop,
    onListening: (u) => (demoUrl = u),
  });
  const out = await runCli(['--db', db, 'stats', '--json'], { COMEBACK_SECRET: SECRET });
  cliReport = JSON.parse(out) as StatsReport;
  if (!cliReport || Array.isArray(cliReport) || !Array.isArray(cliReport.sequences)) {
    throw new Error(
      '`comeback stats --json` does not print the stats report ({ sequences, recentlyReturned, ... }) yet',
    );
  }
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}, 240_000);

/** A teardown step that may not hold up the suite: after `ms` it is reported and left behind. */
async function bounded(what: string, step: Promise<unknown> | undefined, ms = 15_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  if ((await Promise.race([step?.catch(() => undefined), late])) === 'late')
    console.warn(`teardown: ${what} did not finish within ${ms} ms`);
  clearTimeout(timer);
}

afterAll(async () => {
  await bounded('closing the browser', browser?.close());
  await bounded('closing the dashboard server', app?.close());
  await bounded('closing the engine', engine?.close());
  demoStop.emit('SIGINT');
  await bounded('stopping the demo server', demoServed);
  await bounded('closing the demo engine', demoEngine?.close());
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('dashboard in a headless browser', () => {
  it('shows exactly the numbers of `comeback stats --json`, draws its charts, and saves a screenshot', async () => {
    mkdirSync('test-results', { recursive: true });
    const shot = join('test-results', 'dashboard.png');
    rmSync(shot, { force: true });
    const { metrics, charts, pwned } = await shownMetrics(`${url}/dashboard?token=${TOKEN}`, shot);

    // Every sequence's headline numbers are on the page, and every number matches the JSON.
    expect(cliReport.sequences.length).toBeGreaterThan(0);
    const names = new Set(metrics.map((m) => m.metric));
    for (const s of cliReport.sequences)
      for (const k of ['enrolled', 'sent', 'humanOpens', 'humanClicks', 'conversions', 'revenueMinor'])
        expect(names).toContain(`${s.sequenceId}.${k}`);
    expect(metrics.length).toBeGreaterThan(100);
    const wrong = metrics.map((m) => mismatch(m, resolvePointer(cliReport, m.path))).filter((x) => x !== null);
    expect(wrong).toEqual([]);
    // The demo gives a filled page: mails went out and customers came back.
    expect(cliReport.sequences.reduce((n, s) => n + s.funnel.sent, 0)).toBeGreaterThan(0);
    expect(cliReport.recentlyReturned.length).toBeGreaterThan(0);
    expect(metrics.filter((m) => m.metric.startsWith('returned.')).length).toBe(cliReport.recentlyReturned.length * 2);

    // Chart.js came from node_modules and drew the funnel, uplift and variant charts.
    expect(Number(charts)).toBeGreaterThanOrEqual(cliReport.sequences.length);
    expect(pwned).toBeUndefined();

    const png = readFileSync(shot);
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(png.length).toBeGreaterThan(20_000);
  });

  it('serves the same report as JSON that the CLI prints', async () => {
    const res = await fetch(`${url}/dashboard/api/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(withoutTimes(await res.json())).toEqual(withoutTimes(cliReport));
    const one = cliReport.sequences[0]!.sequenceId;
    const filtered = (await (
      await fetch(`${url}/dashboard/api/stats?sequence=${one}`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as StatsReport;
    expect(filtered.sequences.map((s) => s.sequenceId)).toEqual([one]);
    expect(
      (await fetch(`${url}/dashboard/api/stats?since=yesterday`, { headers: { authorization: `Bearer ${TOKEN}` } }))
        .status,
    ).toBe(400);
    // Read as `comeback stats --since` reads it: a bare number is not a date.
    expect(
      (await fetch(`${url}/dashboard/api/stats?since=12`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(400);
    expect(
      (
        await fetch(`${url}/dashboard/api/stats?sequence=no-such-sequence`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).status,
    ).toBe(404);
  });

  it('escapes customer names', async () => {
    expect(cliReport.recentlyReturned[0]!.firstName).toBe(EVIL);
    const html = await (await fetch(`${url}/dashboard`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(html).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;Eve');
    expect(html).not.toContain(EVIL);
    const { html: rendered } = await shownMetrics(`${url}/dashboard?token=${TOKEN}`);
    expect(rendered).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;Eve');
  });

  it('is what the demo serves after its run, with a printed token URL', async () => {
    expect(demoUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dashboard\?token=[\w-]{20,}$/);
    const { metrics } = await shownMetrics(demoUrl);
    // The demo's engine still runs on the demo clock, so its rolling deliverability window ends on
    // the last simulated day: `stats --at` that day gives the same report, windows included.
    const atDemoEnd = JSON.parse(
      await runCli(['--db', db, 'stats', '--json', '--at', new Date(demoEngine.ctx.clock.now()).toISOString()], {
        COMEBACK_SECRET: SECRET,
      }),
    ) as StatsReport;
    expect(metrics.some((m) => m.path.includes('/deliverability/'))).toBe(true);
    const wrong = metrics.map((m) => mismatch(m, resolvePointer(atDemoEnd, m.path))).filter((x) => x !== null);
    expect(wrong).toEqual([]);
    const base = demoUrl.slice(0, demoUrl.indexOf('/dashboard'));
    expect((await fetch(`${base}/dashboard`)).status).toBe(401);
  });
});

describe('comeback serve', () => {
  it('serves the dashboard with the configured token and stops cleanly on Ctrl-C', async () => {
    const env = { COMEBACK_SECRET: SECRET, COMEBACK_DASHBOARD_TOKEN: TOKEN };
    const { child, match, stderr } = await startCli(
      ['--db', db, 'serve', '--port', '0'],
      env,
      /dashboard at (http:\/\/\S+\/dashboard) \(token\)/,
    );
    try {
      const page = await fetch(match[1]!, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(`data-metric="${cliReport.sequences[0]!.sequenceId}.sent"`);
      expect((await fetch(match[1]!)).status).toBe(401);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited(child)).toBe(0);
    expect(stderr()).toMatch(/stopped, all accepted events written/);
  }, 120_000);

  it('says how to turn the dashboard on when nothing is configured', async () => {
    const { child, match } = await startCli(
      ['--db', db, 'serve', '--port', '0'],
      { COMEBACK_SECRET: SECRET, COMEBACK_DASHBOARD_TOKEN: '' },
      /listening on (\S+)[^]*dashboard refused until dashboard\.token/,
    );
    try {
      const res = await fetch(`${match[1]}/dashboard`);
      expect(res.status).toBe(403);
      expect(await res.text()).toMatch(/dashboard\.token/);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited(child)).toBe(0);
  }, 120_000);
});

describe('dashboard access', () => {
  const sequenceIds = () => cliReport.sequences.map((s) => s.sequenceId);
  const leaks = (body: string) =>
    sequenceIds().some((id) => body.includes(id)) || body.includes('Eve') || body.includes('revenue');

  it('answers 401 without or with a wrong token, and shows no data', async () => {
    const attempts: [string, RequestInit][] = [
      [`${url}/dashboard`, {}],
      [`${url}/dashboard/api/stats`, {}],
      [`${url}/dashboard?token=wrong-token-0123456789`, {}],
      [`${url}/dashboard/api/stats?token=`, {}],
      [`${url}/dashboard/api/stats`, { headers: { authorization: 'Bearer wrong-token-0123456789' } }],
      [`${url}/dashboard`, { headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` } }],
      [`${url}/dashboard`, { headers: { cookie: 'comeback_dashboard=forged' } }],
    ];
    for (const [u, init] of attempts) {
      const res = await fetch(u, { ...init, redirect: 'manual' });
      const body = await res.text();
      expect({ u, status: res.status }).toEqual({ u, status: 401 });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(leaks(body)).toBe(false);
    }
  });

  it('trades a URL token for an HttpOnly cookie', async () => {
    const res = await fetch(`${url}/dashboard?token=${TOKEN}&sequence=${sequenceIds()[0]}`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/dashboard?sequence=${sequenceIds()[0]}`);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).not.toContain(TOKEN);
    const page = await fetch(`${url}${res.headers.get('location')}`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('serves Chart.js from node_modules without credentials (no data in it)', async () => {
    const res = await fetch(`${url}/dashboard/assets/chart.umd.min.js`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Chart');
  });

  it('refuses with the fix when no credentials are configured, and takes basic auth when they are', async () => {
    const none = await buildServer({ engine, plugins: [dashboardPlugin({ token: undefined, basicAuth: undefined })] });
    try {
      const res = await none.inject({ url: '/dashboard/api/stats' });
      expect(res.statusCode).toBe(403);
      expect(res.json().message).toMatch(/dashboard\.token.*dashboard\.basicAuth/);
      expect(leaks(res.body)).toBe(false);
    } finally {
      await none.close();
    }
    const basic = await buildServer({
      engine,
      plugins: [
        dashboardPlugin({ token: undefined, basicAuth: { username: 'marketing', password: 'correct horse battery' } }),
      ],
    });
    try {
      const auth = (u: string, p: string) => ({
        authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
      });
      const denied = await basic.inject({ url: '/dashboard', headers: auth('marketing', 'wrong password!') });
      expect(denied.statusCode).toBe(401);
      expect(denied.headers['www-authenticate']).toMatch(/^Basic realm=/);
      const ok = await basic.inject({ url: '/dashboard', headers: auth('marketing', 'correct horse battery') });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain('data-metric=');
    } finally {
      await basic.close();
    }
  });
});
