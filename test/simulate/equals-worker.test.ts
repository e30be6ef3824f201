/**
 * `comeback simulate` predicts the worker: the same shop through the simulator and through the
 * worker's passes on a manual clock gives the same mails at the same times, with send windows in
 * several time zones, a frequency cap that counts an earlier mail of another sequence, preferred
 * send hours learnt from earlier opens, two customer records sharing one address, and a holdout;
 * and with the customers' stored preferences (a snooze, a topic left, one mail a week) and the
 * global control group.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { enrollAudience } from '../../src/engine/enroll.js';
import { localHour } from '../../src/engine/timing.js';
import { DAY, HOUR, type Engine } from '../../src/index.js';
import { loadCustomers, NO_ENGAGEMENT, simulate, syntheticCustomers } from '../../src/simulate/index.js';
import { sqliteUrl } from '../helpers/backends.js';
import { engineWith, head, loaded } from '../sequences/helpers.js';

const START = Date.UTC(2026, 2, 2, 6); // a Monday, 07:00 in Berlin
const OPEN_HOUR = 15; // the local hour the customers with earlier opens read their mail

const WINBACK = loaded(`${head('winback')}audience:
  dormant: { overdue_factor: 1.5, min_days: 20 }
holdout: 20%
send_window: { days: [mon, tue, wed, thu, fri], hours: "09:00-17:00", timezone: customer }
frequency_cap: { max: 1, per: 3d }
steps:
  - id: hello
    template: winback/miss-you
    subject: Hello
    variants:
      - { id: short, subject: Hi }
  - id: again
    wait: 2d
    template: winback/reason-survey
    subject: Why?
  - id: offer
    wait: 1d
    template: winback/offer
    subject: Offer
`);

/** A sequence on a topic customers can leave, mailed every day of the week. */
const OFFERS = loaded(`${head('offers')}topic: offers
audience:
  dormant: { overdue_factor: 1.5, min_days: 20 }
holdout: 10%
send_window: { hours: "09:00-17:00", timezone: customer }
steps:
  - { id: hello, template: winback/miss-you, subject: Hello }
  - { id: again, wait: 2d, template: winback/reason-survey, subject: Why? }
  - { id: offer, wait: 1d, template: winback/offer, subject: Offer }
`);

/** Sends as comparable lines: time, customer, step, template. */
const sendKey = (m: { externalId: string; stepId: string; template: string; at: number }) =>
  `${new Date(m.at).toISOString()} ${m.externalId} ${m.stepId} ${m.template}`;

/** A one-mail sequence started by hand: the earlier mails the cap and the preferred hours read. */
const NEWS = loaded(`${head('news')}audience: { trigger: news }
steps:
  - { id: news, template: winback/new-arrivals, subject: News }
`);

describe('simulate equals the worker', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('gives the same mails on the same days: windows, cap per address, preferred hours, shared addresses, holdout', async () => {
    let clock;
    ({ engine, clock } = await engineWith(sqliteUrl(), [WINBACK, NEWS], START - 2 * DAY));
    const customers = syntheticCustomers(160, 11, START);
    // Pairs of records with one address (a guest order and an account).
    for (let i = 0; i < 40; i += 2) customers[i + 1]!.customer.email = customers[i]!.customer.email;
    await loadCustomers(engine, customers);
    const ids = (
      await engine.ctx.k
        .selectFrom('customers')
        .select(['id', 'external_id', 'email_hash', 'time_zone'])
        .orderBy('id')
        .execute()
    ).map((c) => ({ ...c }));

    // Two days before the start, half the customers got a mail of another sequence: the cap
    // (1 per 3 days, per address) holds their first win-back mail back until it has passed.
    for (const c of ids.filter((_, i) => i % 2 === 0)) await engine.trigger('news', c.id);
    await engine.runDue();
    const news = await engine.ctx.k
      .selectFrom('messages')
      .select(['id', 'customer_id', 'enrollment_id'])
      .where('sequence_id', '=', 'news')
      .where('status', '=', 'sent')
      .execute();
    expect(news.length).toBeGreaterThan(20);
    // Half of them opened it three times, always at 15:xx their time: follow-ups wait for that hour.
    const readers = new Set(news.filter((_, i) => i % 2 === 0).map((m) => m.customer_id));
    for (const m of news.filter((n) => readers.has(n.customer_id))) {
      const zone = ids.find((c) => c.id === m.customer_id)!.time_zone;
      let at = START - 2 * DAY;
      while (localHour(at, zone) !== OPEN_HOUR) at += HOUR;
      const opens = [0, 1, 2].map((d) => ({
        message_id: m.id,
        customer_id: m.customer_id,
        enrollment_id: m.enrollment_id,
        type: 'open',
        source: 'test',
        occurred_at: at - d * DAY + 10 * 60_000,
      }));
      await engine.ctx.k.insertInto('events').values(opens).execute();
    }

    clock.set(START);
    const tick = HOUR;
    const days = 14;
    const sim = await simulate(engine.ctx.k, WINBACK.definition, {
      start: START,
      days,
      tickMs: tick,
      assumptions: NO_ENGAGEMENT,
      preferredHourMinOpens: engine.ctx.config.worker.preferredHourMinOpens,
    });

    let sameAddress = 0;
    for (let t = START; t < START + days * DAY; t += tick) {
      clock.set(t);
      if ((t - START) % DAY === 0)
        sameAddress += (await enrollAudience(engine.ctx, 'winback')).skipped.same_address ?? 0;
      await engine.runDue();
    }
    const worker = await engine.ctx.k
      .selectFrom('messages')
      .innerJoin('customers', 'customers.id', 'messages.customer_id')
      .select([
        'customers.external_id',
        'customers.email_hash',
        'customers.time_zone',
        'messages.customer_id',
        'messages.step_id',
        'messages.variant_id',
        'messages.template',
        'messages.reserved_at',
        'messages.sent_at',
        'messages.status',
      ])
      .where('messages.sequence_id', '=', 'winback')
      .execute();
    expect(worker.every((m) => m.status === 'sent' && m.sent_at === m.reserved_at)).toBe(true);
    // Variants are left out: the worker's shares come from the optimiser, which learns from live
    // results while it runs (test/simulate/simulate.test.ts compares them under equal shares).
    const key = (m: { externalId: string; stepId: string; template: string; at: number }) =>
      `${new Date(m.at).toISOString()} ${m.externalId} ${m.stepId} ${m.template}`;
    const fromWorker = worker
      .map((m) =>
        key({ externalId: m.external_id, stepId: m.step_id, template: m.template, at: Number(m.reserved_at) }),
      )
      .sort();
    expect(sim.sends.map(key).sort()).toEqual(fromWorker);

    // The scenario exercises what it claims to.
    const total = (k: 'window' | 'cap' | 'entered' | 'holdout') => sim.rows.reduce((n, r) => n + r[k], 0);
    expect(fromWorker.length).toBeGreaterThan(80);
    expect(total('window')).toBeGreaterThan(0);
    expect(total('holdout')).toBeGreaterThan(0);
    expect(sameAddress).toBeGreaterThan(0);
    // The cap counted the other sequence's mail: no first mail within 3 days of it.
    const newsAt = START - 2 * DAY;
    const capped = worker.filter((m) => m.step_id === 'hello' && news.some((n) => n.customer_id === m.customer_id));
    expect(capped.length).toBeGreaterThan(0);
    expect(capped.every((m) => Number(m.reserved_at) >= newsAt + 3 * DAY)).toBe(true);
    // Preferred hours: every follow-up of a reader goes out in their reading hour.
    const followUps = worker.filter((m) => m.step_id !== 'hello' && readers.has(m.customer_id));
    expect(followUps.length).toBeGreaterThan(0);
    expect(followUps.every((m) => localHour(Number(m.reserved_at), m.time_zone) === OPEN_HOUR)).toBe(true);
    // Two records with one address: never both mailed on one day.
    const perAddressDay = new Map<string, Set<string>>();
    for (const m of worker) {
      const k = `${m.email_hash}|${Math.floor(Number(m.reserved_at) / DAY)}`;
      perAddressDay.set(k, new Set([...(perAddressDay.get(k) ?? []), m.external_id]));
    }
    expect([...perAddressDay.values()].every((s) => s.size === 1)).toBe(true);
  }, 180_000);

  it('gives the same mails with stored preferences (snooze, topic left, one a week) and a global control group', async () => {
    let clock;
    const controlGroup = { share: 0.2, rotation: '2026' };
    const before = START - 20 * DAY;
    ({ engine, clock } = await engineWith(sqliteUrl(), [OFFERS], before, { topics: ['offers'], controlGroup }));
    await loadCustomers(engine, syntheticCustomers(120, 5, before));
    const ids = (await engine.ctx.k.selectFrom('customers').select('id').orderBy('id').execute()).map((c) => c.id);
    // Twenty days ago a sixth snoozed for 30 days (mailed from day 11 on), a sixth left the topic,
    // a sixth asked for one mail a week (its follow-ups wait for that, not for 2 and 1 days).
    const choice = [{ snooze: 30 }, { topic: 'offers', subscribed: false }, { frequency: 'weekly' }] as const;
    for (const [i, id] of ids.entries()) if (i % 6 < 3) await engine.preferences.set(id, choice[i % 6]!);
    clock.set(START);
    const days = 14;
    const sim = await simulate(engine.ctx.k, OFFERS.definition, {
      start: START,
      days,
      tickMs: HOUR,
      assumptions: NO_ENGAGEMENT,
      preferredHourMinOpens: engine.ctx.config.worker.preferredHourMinOpens,
      controlGroup: engine.ctx.config.controlGroup,
    });
    const skipped: Record<string, number> = {};
    for (let t = START; t < START + days * DAY; t += HOUR) {
      clock.set(t);
      if ((t - START) % DAY === 0) {
        const r = await enrollAudience(engine.ctx, 'offers');
        for (const [k, n] of Object.entries(r.skipped)) skipped[k] = (skipped[k] ?? 0) + n;
      }
      await engine.runDue();
    }
    const worker = await engine.ctx.k
      .selectFrom('messages')
      .innerJoin('customers', 'customers.id', 'messages.customer_id')
      .select(['customers.external_id', 'messages.customer_id', 'messages.step_id', 'messages.template'])
      .select(['messages.reserved_at', 'messages.status'])
      .where('messages.sequence_id', '=', 'offers')
      .execute();
    expect(worker.every((m) => m.status === 'sent')).toBe(true);
    const fromWorker = worker
      .map((m) =>
        sendKey({ externalId: m.external_id, stepId: m.step_id, template: m.template, at: Number(m.reserved_at) }),
      )
      .sort();
    expect(sim.sends.map(sendKey).sort()).toEqual(fromWorker);

    // The same people entered, held out and in the control group, in both.
    const enrolments = await engine.ctx.k.selectFrom('enrollments').select(['holdout', 'control']).execute();
    const total = (k: 'entered' | 'holdout' | 'control' | 'preference') => sim.rows.reduce((n, r) => n + r[k], 0);
    expect([total('entered'), total('holdout'), total('control')]).toEqual([
      enrolments.length,
      enrolments.filter((e) => e.holdout === 1).length,
      enrolments.filter((e) => e.control === 1).length,
    ]);
    expect(total('control')).toBeGreaterThan(0);
    // Each preference took effect: nobody who left the topic is mailed or enrolled, snoozed
    // customers only after their snooze, weekly ones at least 7 days apart.
    const kind = new Map(
      ids.map((id, i) => [id, i % 6 < 3 ? (['snooze', 'topic', 'weekly'] as const)[i % 6]! : 'none']),
    );
    const mailsOf = (k: string) => worker.filter((m) => kind.get(m.customer_id) === k);
    expect(skipped.topic_opt_out).toBeGreaterThan(0);
    expect(mailsOf('topic')).toEqual([]);
    expect(mailsOf('snooze').length).toBeGreaterThan(0);
    expect(mailsOf('snooze').every((m) => Number(m.reserved_at) >= START + 10 * DAY)).toBe(true);
    const weekly = new Map<number, number[]>();
    for (const m of mailsOf('weekly'))
      weekly.set(m.customer_id, [...(weekly.get(m.customer_id) ?? []), Number(m.reserved_at)]);
    expect([...weekly.values()].some((t) => t.length > 1)).toBe(true);
    for (const t of weekly.values())
      for (let i = 1; i < t.length; i++) expect(t.sort()[i]! - t[i - 1]!).toBeGreaterThanOrEqual(7 * DAY);
    expect(total('preference')).toBeGreaterThan(0);
    console.log(
      `simulate = worker with preferences and a control group: ${fromWorker.length} mails, ${total('entered')} entered, ${total('control')} in the control group, ${skipped.topic_opt_out} audience skips for a topic left (evaluated daily), ${total('preference')} preference effects`,
    );
  }, 180_000);
});
