import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DAY } from '../../src/index.js';
import { reportText } from '../../src/cli/format/report.js';
import { preferencesSection } from '../../src/dashboard/preferences.js';
import { recordEvent } from '../../src/engine/events.js';
import { validatePaths } from '../../src/sequences/validate.js';
import { trackerDeps } from '../../src/engine/tracking.js';
import { Tracker } from '../../src/tracking/tracker.js';
import { EventWriter, sinkFor } from '../../src/tracking/writer.js';
import { dialects } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';
import { addCustomer, grant, messagesOf, sequenceYaml, testEngine, type TestEngine } from './fixtures.js';

const TEXTS = {
  'offers.yaml': sequenceYaml('offers-seq', ['existing_customer'], true).replace('steps:', 'topic: offers\nsteps:'),
};

describe.each(dialects)('kept instead of lost: the stats of preference choices on $name', ({ url }) => {
  let t: TestEngine | undefined;
  afterEach(async () => {
    await t?.engine.close();
    t = undefined;
  });

  it('counts snoozes, frequency changes and topic opt-outs per step beside unsubscribes, and what snoozed customers did after', async () => {
    t = await testEngine(await url(), { texts: TEXTS, config: { topics: ['offers', 'news'] } });
    const first = new Map<string, number>();
    for (const name of ['ann', 'ben', 'cem', 'dan']) {
      const id = await addCustomer(t, name, `${name}@example.com`);
      await grant(t, name, 'existing_customer');
      await t.engine.trigger('offers-seq', name);
      await t.engine.runDue();
      first.set(name, (await messagesOf(t.engine, id))[0]!.id);
    }
    await t.engine.preferences.set('ann', { snooze: 30 }, { messageId: first.get('ann')!, via: 'page' });
    await t.engine.preferences.set('ben', { frequency: 'weekly' }, { messageId: first.get('ben')!, via: 'page' });
    await t.engine.preferences.set(
      'cem',
      { topic: 'news', subscribed: false },
      { messageId: first.get('cem')!, via: 'page' },
    );
    await t.engine.preferences.set('cem', { frequency: 'monthly' });
    const writer = new EventWriter(sinkFor(t.engine.ctx.db));
    const token = t.engine.ctx.signer.sign({ purpose: 'unsubscribe', id: first.get('dan')! });
    await new Tracker(trackerDeps(t.engine.ctx), writer).unsubscribe(token, 'all', { via: 'page' });
    await writer.close();
    // Ann's snooze ends; the next step reaches her, she opens it and buys.
    t.clock.advance(31 * DAY);
    await t.engine.runDue();
    const annId = (await t.engine.customers.get('ann'))!.id;
    const second = (await messagesOf(t.engine, annId))[1]!;
    expect(second.status).toBe('sent');
    await recordEvent(t.engine.ctx, { messageId: second.id, type: 'open', source: 'pixel' });
    await t.engine.orders.record({
      externalId: 'ann-back',
      customerExternalId: 'ann',
      orderedAt: t.clock.now(),
      totalMinor: 5000,
      items: [{ sku: 'TEA-1', name: 'Green tea', unitPriceMinor: 5000 }],
    });

    const report = await t.engine.report();
    expect(report.preferences.steps).toEqual([
      {
        sequenceId: 'offers-seq',
        stepId: 'miss-you',
        snoozes: 1,
        frequencyChanges: 1,
        topicOptOuts: 1,
        unsubscribes: 1,
      },
      { sequenceId: null, stepId: null, snoozes: 0, frequencyChanges: 1, topicOptOuts: 0, unsubscribes: 0 },
    ]);
    expect(report.preferences.totals).toEqual({ snoozes: 1, frequencyChanges: 2, topicOptOuts: 1, unsubscribes: 1 });
    expect(report.preferences.snoozeReturns).toEqual({ ended: 1, opened: 1, bought: 1 });
    const text = reportText(report);
    expect(text).toContain('kept instead of lost');
    expect(text).toContain('snoozes ended: 1, then opened: 1, then bought: 1');
    // The dashboard shows the same numbers, each pointing at its place in the report.
    const html = preferencesSection(report.preferences);
    expect(html).toContain('data-path="/preferences/totals/frequencyChanges" data-format="int" data-value="2"');
    expect(html).toContain('data-path="/preferences/snoozeReturns/bought" data-format="int" data-value="1"');
  });
});

describe('preferences in the CLI and the validator', () => {
  it('`comeback customer`, `audit` and `export` show the choices; a re-import from the shop keeps them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-pref-cli-'));
    mkdirSync(join(dir, 'sequences'));
    writeFileSync(join(dir, 'sequences', 'offers.yaml'), TEXTS['offers.yaml']);
    const config = join(dir, 'comeback.config.json');
    const cfg = {
      database: join(dir, 'shop.db'),
      sequencesDir: join(dir, 'sequences'),
      transport: { type: 'outbox', dir: join(dir, 'outbox') },
      topics: ['offers', 'news'],
    };
    writeFileSync(config, JSON.stringify(cfg));
    const t = await testEngine(cfg.database, { texts: TEXTS, config: { topics: cfg.topics } });
    try {
      await addCustomer(t, 'kim', 'kim@example.com');
      await grant(t, 'kim', 'existing_customer');
      await t.engine.preferences.set('kim', { snooze: 90 });
      await t.engine.preferences.set('kim', { topic: 'news', subscribed: false });
      await t.engine.preferences.set('kim', { locale: 'de' });
      const csv = join(dir, 'customers.csv');
      writeFileSync(csv, 'external_id,email,locale\nkim,kim@example.com,en\n');
      await t.engine.import('customers', csv);
      const prefs = await t.engine.preferences.get('kim');
      expect(prefs).toMatchObject({ topicsOut: ['news'], locale: 'de' });
      expect(prefs.snoozedUntil).toBe(t.clock.now() + 90 * DAY);
    } finally {
      await t.engine.close();
    }
    const cli = (...args: string[]) => runCliInProcess(['--config', config, ...args]);
    const customer = (await cli('customer', 'kim')).out;
    expect(customer).toMatch(/preferences: snoozed until \d{4}-\d\d-\d\d; topics left: news; language de/);
    expect(customer).toMatch(/preference topic news off via preferences:library/);
    expect((await cli('audit', 'kim@example.com')).out).toMatch(
      /preferences: snoozed until .*; topics left: news; language de/,
    );
    const exported = JSON.parse((await cli('export', 'kim@example.com')).out);
    expect(JSON.stringify(exported)).toContain('"action":"preference"');
  }, 60_000);

  it('a sequence given in code with an undeclared topic is refused at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-pref-code-'));
    await expect(testEngine(join(dir, 'x.db'), { texts: TEXTS, config: { topics: ['news'] } })).rejects.toThrow(
      /offers\.yaml:1:1 topic: unknown topic "offers"/,
    );
  });

  it('an unknown topic in a sequence is reported at its position', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-pref-topic-'));
    writeFileSync(join(dir, 'a.yaml'), TEXTS['offers.yaml'].replace('topic: offers', 'topic: ofers'));
    const { problems } = await validatePaths([join(dir, 'a.yaml')], {
      templatesDir: false,
      topics: ['offers', 'news'],
      cwd: dir,
    });
    expect(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message}`)).toEqual([
      'a.yaml:8:8 unknown topic "ofers" (did you mean "offers"?): add it to the config\'s topics (declared: offers, news)',
    ]);
  });
});
