import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, DAY, type Engine } from '../../src/index.js';
import { ManualClock } from '../../src/testing.js';
import { buildServer, listen } from '../../src/server/index.js';
import { CHROMIUM_ARGS, requireChromium } from '../dashboard/helpers.js';
import { freePort } from '../helpers/net.js';
import { sqliteUrl } from '../helpers/backends.js';
import { sequences } from './fixtures.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SHOTS = join(process.cwd(), 'test-results', 'preferences');

const seq = (id: string, topic: string, steps: number) =>
  [
    `id: ${id}`,
    `name: ${id}`,
    'audience:',
    '  trigger: manual',
    'consent: [existing_customer]',
    'own_similar_goods: true',
    `topic: ${topic}`,
    'steps:',
    ...Array.from({ length: steps }, (_, i) => [
      `  - id: ${id}-${i + 1}`,
      `    wait: ${i === 0 ? '0d' : '3d'}`,
      '    template: winback/miss-you',
      `    subject: "${id} ${i + 1}"`,
    ]).flat(),
    '',
  ].join('\n');

let dir: string;
let engine: Engine;
let clock: ManualClock;
let app: FastifyInstance;
let browser: Browser;
let page: Page;
let customerId: number;

/** Sent mails of the customer, oldest first: [sequence, step, day since start]. */
async function sent(start: number): Promise<[string, string, number][]> {
  const rows = await engine.ctx.k
    .selectFrom('messages')
    .select(['sequence_id', 'step_id', 'sent_at'])
    .where('customer_id', '=', customerId)
    .where('status', '=', 'sent')
    .orderBy('sent_at')
    .execute();
  return rows.map((r) => [r.sequence_id, r.step_id, (r.sent_at! - start) / DAY]);
}

/** Runs the engine once a simulated day up to `toDay` (inclusive). */
async function days(start: number, fromDay: number, toDay: number): Promise<void> {
  for (let d = fromDay; d <= toDay; d++) {
    clock.set(start + d * DAY);
    await engine.runDue();
  }
}

/** axe-core in the page: no serious or critical violation; and a 375 px screenshot. */
async function check(state: string): Promise<void> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const r = await (
      window as unknown as {
        axe: { run: (d: Document) => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> };
      }
    ).axe.run(document);
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  expect(
    violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'),
    state,
  ).toEqual([]);
  await page.screenshot({ path: join(SHOTS, `${state}-375.png`), fullPage: true });
}

beforeAll(async () => {
  const executablePath = await requireChromium();
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'comeback-preferences-'));
  const port = await freePort();
  clock = new ManualClock(Date.UTC(2026, 5, 1, 9));
  engine = await createEngine(
    {
      database: sqliteUrl(),
      transport: { type: 'outbox', dir: join(dir, 'outbox') },
      publicUrl: `http://127.0.0.1:${port}`,
      secret: 'test-secret-0123456789abcdef',
      topics: ['offers', 'news'],
    },
    {
      clock,
      sequences: sequences({ 'offers.yaml': seq('offers-seq', 'offers', 6), 'news.yaml': seq('news-seq', 'news', 4) }),
    },
  );
  app = await buildServer({ engine });
  await listen(app, { host: '127.0.0.1', port });
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 375, height: 812 }, bypassCSP: true, locale: 'en-GB' });
  page = await context.newPage();
  const ids = await engine.customers.upsert({
    externalId: 'anna',
    email: 'anna@example.com',
    firstName: 'Anna',
    locale: 'en',
    acquiredVia: 'sale',
  });
  customerId = ids.get('anna')!;
  await engine.consents.record({
    customer: 'anna',
    action: 'grant',
    basis: 'existing_customer',
    source: 'checkout',
    evidence: { orderId: 'o-1' },
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await engine?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('the preference page in Chromium at 375 px', () => {
  it('snooze 90 days, one a month across two sequences, a topic opt-out, unsubscribe from everything', async () => {
    const start = clock.now();
    await engine.trigger('offers-seq', 'anna');
    await engine.runDue();
    // The link comes from the mail in the outbox (quoted-printable undone).
    const files = readdirSync(join(dir, 'outbox'));
    expect(files).toHaveLength(1);
    const eml = readFileSync(join(dir, 'outbox', files[0]!), 'utf8')
      .replace(/=\r?\n/g, '')
      .replace(/=3D/g, '=');
    const link = /http:\/\/127\.0\.0\.1:\d+\/p\/[0-9a-z]+\.[A-Za-z0-9_-]{22}/.exec(eml)?.[0];
    expect(link).toBeDefined();

    await page.goto(link!);
    await expect(page.locator('h1').textContent()).resolves.toBe('Your email preferences');
    // Unsubscribe-from-everything is the first choice on the page and visible without scrolling.
    await expect(page.getByRole('button', { name: 'Unsubscribe from all emails' }).isVisible()).resolves.toBe(true);
    await check('1-initial');

    // Snooze for 90 days, by keyboard-reachable controls with labels.
    await page.getByLabel('90 days').check();
    await page.getByRole('button', { name: 'Pause emails' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('saved');
    await check('2-snoozed');
    // Days 1 to 90 (offsets 0 to 90 days less a millisecond): nothing more.
    await days(start, 1, 89);
    clock.set(start + 90 * DAY - 1);
    await engine.runDue();
    expect((await sent(start)).map(([, step]) => step)).toEqual(['offers-seq-1']);
    // Day 91 (offset 90 days): the next step goes out.
    await days(start, 90, 90);
    const afterSnooze = await sent(start);
    expect(afterSnooze.map(([, step]) => step)).toEqual(['offers-seq-1', 'offers-seq-2']);
    expect(afterSnooze[1]![2]).toBeGreaterThanOrEqual(90);
    expect(afterSnooze[1]![2]).toBeLessThan(91);

    // One a month, shared by a second sequence started now.
    await page.goto(link!);
    await page.getByLabel('At most one email a month').check();
    await page.getByRole('button', { name: 'Save frequency' }).click();
    await check('3-monthly');
    expect((await engine.trigger('news-seq', 'anna')).enrollmentId).not.toBeNull();
    await days(start, 91, 160);
    const monthly = (await sent(start)).slice(1);
    expect(new Set(monthly.map(([s]) => s))).toEqual(new Set(['offers-seq', 'news-seq']));
    for (let i = 1; i < monthly.length; i++) expect(monthly[i]![2] - monthly[i - 1]![2]).toBeGreaterThanOrEqual(30);

    // Opt out of the news topic: only the news sequence stops.
    await page.goto(link!);
    await page.getByLabel('News and new products').uncheck();
    await page.getByRole('button', { name: 'Save topics' }).click();
    await check('4-topic-out');
    const news = await engine.ctx.k
      .selectFrom('enrollments')
      .select(['status', 'exit_reason'])
      .where('sequence_id', '=', 'news-seq')
      .executeTakeFirstOrThrow();
    expect(news).toEqual({ status: 'exited', exit_reason: 'topic_opt_out' });
    const before = (await sent(start)).length;
    await days(start, 161, 200);
    const later = (await sent(start)).slice(before);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every(([s]) => s === 'offers-seq')).toBe(true);

    // The language: the page (and later mails) in German.
    await page.goto(link!);
    await page.locator('select#locale').selectOption('de');
    await page.getByRole('button', { name: 'Save language' }).click();
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('de');
    await check('5-deutsch');
    // The snooze ended long ago: the page no longer says it is paused.
    await expect(page.getByText('Pausiert bis').count()).resolves.toBe(0);
    expect((await engine.customers.get('anna'))!.locale).toBe('de');

    // Unsubscribe from everything: one click, a full stop.
    await page.getByRole('button', { name: 'Von allen E-Mails abmelden' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('abgemeldet');
    await check('6-unsubscribed');
    expect((await engine.consents.state('anna')).objected).toBe(true);
    const count = (await sent(start)).length;
    await engine.trigger('offers-seq', 'anna');
    await days(start, 201, 240);
    expect((await sent(start)).length).toBe(count);

    // The ledger holds each choice with its evidence; the export shows them.
    const history = await engine.consents.history('anna');
    expect(
      history.filter((h) => h.action === 'preference').map((h) => Object.keys(h.evidence.choice as object)[0]),
    ).toEqual(['snooze', 'frequency', 'topic', 'locale']);
  }, 240_000);
});
