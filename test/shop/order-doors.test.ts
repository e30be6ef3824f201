import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, DAY, type Engine, type OrderInput } from '../../src/index.js';
import { ManualClock, MemoryTransport } from '../../src/testing.js';
import { buildServer, listen } from '../../src/server/index.js';
import { runCliInProcess } from '../helpers/cli.js';
import { dialects, sqliteUrl } from '../helpers/backends.js';

const API_KEY = 'door-test-api-key-0123456789';
const START = Date.UTC(2026, 5, 2, 10);
const SEQUENCE = `id: doors
name: Every order door
consent: [double_opt_in]
audience: { trigger: doors }
goal: { purchase: { within: 30d } }
exit_on: [purchased, unsubscribed]
steps:
  - { id: first, template: winback/miss-you, subject: "We miss you" }
  - { id: second, template: winback/miss-you, subject: "Still there?", wait: 7d }
`;

/** A project folder (config file, one sequence) over a fresh database, opened by the engine too. */
async function project(database: string, extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-doors-'));
  mkdirSync(join(dir, 'sequences'));
  writeFileSync(join(dir, 'sequences', 'doors.yaml'), SEQUENCE);
  const config = {
    database,
    sequencesDir: join(dir, 'sequences'),
    templatesDir: resolve('templates'),
    apiKey: API_KEY,
    ...extra,
  };
  const configFile = join(dir, 'comeback.config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const clock = new ManualClock(START);
  const transport = new MemoryTransport();
  const engine = await createEngine(config, { clock, transport });
  await engine.customers.upsert([{ externalId: 'anna', email: 'anna@example.com', firstName: 'Anna', locale: 'en' }]);
  await engine.consents.record({
    customer: 'anna',
    action: 'grant',
    basis: 'double_opt_in',
    source: 'newsletter_form',
    evidence: { test: true },
  });
  expect((await engine.trigger('doors', 'anna')).enrollmentId).not.toBeNull();
  await engine.runDue();
  expect(transport.sent).toHaveLength(1);
  clock.advance(2 * DAY); // she buys two days after the first mail
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  return { dir, engine, clock, transport, configFile, file };
}

/** Conversions of the sequence as `comeback stats --json` reports them. */
async function statsConversions(configFile: string): Promise<number> {
  const { out } = await runCliInProcess(['-c', configFile, 'stats', 'doors', '--json']);
  return JSON.parse(out).sequences[0].funnel.conversions;
}

/** The enrolment ended as converted and, a week later, no second step goes out. */
async function expectEndedWithoutFurtherMail(p: Awaited<ReturnType<typeof project>>) {
  const e = await p.engine.ctx.k.selectFrom('enrollments').select(['status', 'exit_reason']).executeTakeFirstOrThrow();
  expect(e).toEqual({ status: 'converted', exit_reason: 'purchased' });
  p.clock.advance(8 * DAY);
  await p.engine.runDue();
  expect(p.transport.sent).toHaveLength(1);
  expect(await p.engine.ctx.k.selectFrom('messages').select('step_id').execute()).toEqual([{ step_id: 'first' }]);
}

describe('every order door attributes through the same path', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('import CSV (comeback import orders): ends the enrolment, counts once, and a second import of the file changes nothing', async () => {
    const p = await project(sqliteUrl());
    engine = p.engine;
    const csv = p.file(
      'orders.csv',
      `order_id,customer_id,ordered_at,total,currency\nA-1,anna,${new Date(p.clock.now()).toISOString()},49.90,EUR\n`,
    );
    const first = await runCliInProcess(['-c', p.configFile, 'import', 'orders', csv]);
    expect(first.out).toMatch(/imported 1 order .*\n1 conversion attributed/);
    await expectEndedWithoutFurtherMail(p);
    expect(await statsConversions(p.configFile)).toBe(1);
    const again = await runCliInProcess(['-c', p.configFile, 'import', 'orders', csv]);
    expect(again.out).not.toMatch(/conversion/);
    expect(await statsConversions(p.configFile)).toBe(1);
  });

  it('import JSON Lines: the same', async () => {
    const p = await project(sqliteUrl());
    engine = p.engine;
    const jsonl = p.file(
      'orders.jsonl',
      `${JSON.stringify({ order_id: 'A-1', customer_id: 'anna', ordered_at: new Date(p.clock.now()).toISOString(), total: '49.90' })}\n`,
    );
    expect((await engine.import('orders', jsonl)).conversions).toBe(1);
    await expectEndedWithoutFurtherMail(p);
    expect(await statsConversions(p.configFile)).toBe(1);
    expect((await engine.import('orders', jsonl)).conversions).toBe(0);
    expect(await statsConversions(p.configFile)).toBe(1);
  });

  it('POST /api/orders: the same; posting the order again counts once', async () => {
    const p = await project(sqliteUrl());
    engine = p.engine;
    const app = await buildServer({ engine });
    const { url } = await listen(app, { host: '127.0.0.1', port: 0 });
    try {
      const post = (body: unknown) =>
        fetch(`${url}/api/orders`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const order = { externalId: 'A-1', customerExternalId: 'anna', orderedAt: p.clock.now(), totalMinor: 4990 };
      const res = await post(order);
      expect(res.status).toBe(201);
      expect((await res.json()).conversions).toHaveLength(1);
      await expectEndedWithoutFurtherMail(p);
      expect(await statsConversions(p.configFile)).toBe(1);
      const again = await post(order);
      expect(again.status).toBe(200);
      expect((await again.json()).conversions).toEqual([]);
      expect(await statsConversions(p.configFile)).toBe(1);
      // Another currency without a rate: refused, naming the field and the fix.
      const usd = await post({ ...order, externalId: 'A-2', currency: 'USD' });
      expect(usd.status).toBe(400);
      expect((await usd.json()).error).toMatch(
        /invalid order A-2: currency: "USD" is not the shop's currency EUR.*exchangeRates/,
      );
    } finally {
      await app.close();
    }
  });

  it('the library (engine.orders.record and recordMany): the same', async () => {
    const p = await project(sqliteUrl());
    engine = p.engine;
    const order: OrderInput = {
      externalId: 'A-1',
      customerExternalId: 'anna',
      orderedAt: p.clock.now(),
      totalMinor: 4990,
    };
    expect((await engine.orders.record(order)).conversions).toHaveLength(1);
    await expectEndedWithoutFurtherMail(p);
    expect(await statsConversions(p.configFile)).toBe(1);
    expect((await engine.orders.record(order)).conversions).toEqual([]);
    expect((await engine.orders.recordMany([order, { ...order, externalId: 'A-2' }])).conversions).toEqual([]);
    expect(await statsConversions(p.configFile)).toBe(1);
  });
});

describe.each(dialects)('one conversion rule on $name', ({ url }) => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('a batch attributes the earliest qualifying order per enrolment, counts a purchase after an unsubscribe, and is all-or-nothing', async () => {
    const p = await project(await url());
    engine = p.engine;
    const message = await engine.ctx.k.selectFrom('messages').select('id').executeTakeFirstOrThrow();
    await engine.events.record({ messageId: message.id, type: 'unsubscribe', source: 'test' });
    const left = await engine.ctx.k
      .selectFrom('enrollments')
      .select(['status', 'exit_reason'])
      .executeTakeFirstOrThrow();
    expect(left.status).toBe('exited');
    // Intention to treat: she left the mailing, but her purchase in the window still counts.
    const at = p.clock.now();
    const r = await engine.orders.recordMany([
      { externalId: 'late', customerExternalId: 'anna', orderedAt: at + DAY, totalMinor: 3000 },
      { externalId: 'early', customerExternalId: 'anna', orderedAt: at, totalMinor: 2000 },
    ]);
    expect(r.conversions.map((c) => c.orderId)).toEqual([r.ids.get('early')]);
    expect(await engine.ctx.k.selectFrom('enrollments').select('status').executeTakeFirstOrThrow()).toEqual({
      status: 'exited',
    });
    expect(await statsConversions(p.configFile)).toBe(1);
    // A later batch converts nothing more: one conversion per enrolment.
    expect(
      (
        await engine.orders.recordMany([
          { externalId: 'later', customerExternalId: 'anna', orderedAt: at + 2 * DAY, totalMinor: 9000 },
        ])
      ).conversions,
    ).toEqual([]);
    // One bad order refuses the whole call, naming it by index; nothing of it is stored.
    await expect(
      engine.orders.recordMany([
        { externalId: 'ok', customerExternalId: 'anna', orderedAt: at, totalMinor: 100 },
        { externalId: 'bad', customerExternalId: 'anna', orderedAt: at, totalMinor: 100, currency: 'CHF' },
      ]),
    ).rejects.toThrow(/orders\[1\] \(bad\) currency: "CHF" is not the shop's currency EUR/);
    await expect(
      engine.orders.recordMany([{ externalId: 'ok', customerExternalId: 'nobody', orderedAt: at, totalMinor: 100 }]),
    ).rejects.toThrow(/customer "nobody" not found/);
    expect(
      await engine.ctx.k.selectFrom('orders').select('external_id').where('external_id', '=', 'ok').execute(),
    ).toEqual([]);
  });
});

describe('currencies', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('an import line in another currency is refused with its line and the fix; with a rate it is converted and the original kept', async () => {
    const p = await project(sqliteUrl());
    engine = p.engine;
    const when = new Date(p.clock.now()).toISOString();
    const csv = p.file(
      'orders.csv',
      `order_id,customer_id,ordered_at,total,currency\nA-1,anna,${when},10.00,USD\nA-2,anna,${when},1000,JPY\n`,
    );
    const refused = await engine.import('orders', csv);
    expect(refused.imported).toBe(0);
    expect(refused.rejected).toEqual([
      {
        line: 2,
        reason: expect.stringMatching(
          /^currency: "USD" is not the shop's currency EUR; send the amounts in EUR, or give a rate in the config \(exchangeRates: \{ USD: 0.92 \}/,
        ),
      },
      { line: 3, reason: expect.stringMatching(/^currency: "JPY"/) },
    ]);
    await engine.close();
    engine = await createEngine(
      {
        database: engine.ctx.config.database,
        sequencesDir: join(p.dir, 'sequences'),
        exchangeRates: { USD: 0.9, JPY: 0.006 },
      },
      { clock: p.clock, transport: new MemoryTransport() },
    );
    const converted = await engine.import('orders', csv);
    expect(converted).toMatchObject({ imported: 2, rejected: [], conversions: 1 });
    const rows = await engine.ctx.k
      .selectFrom('orders')
      .select(['external_id', 'total_minor', 'currency', 'original_total_minor', 'original_currency'])
      .orderBy('external_id')
      .execute();
    expect(rows).toEqual([
      { external_id: 'A-1', total_minor: 900, currency: 'EUR', original_total_minor: 1000, original_currency: 'USD' },
      // JPY has no minor unit: 1000 yen × 0.006 = 6.00 EUR.
      { external_id: 'A-2', total_minor: 600, currency: 'EUR', original_total_minor: 1000, original_currency: 'JPY' },
    ]);
    const [conversion] = await engine.ctx.k.selectFrom('conversions').select(['revenue_minor', 'currency']).execute();
    expect(conversion).toEqual({ revenue_minor: 900, currency: 'EUR' });
  });
});
