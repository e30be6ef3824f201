import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { explainAudience } from '../../src/engine/audience-explain.js';
import { dormantCandidates } from '../../src/engine/audience.js';
import { formatCustomerReport } from '../../src/cli/commands/customer.js';
import { customerReport } from '../../src/dormancy/index.js';
import { scheduleBatch } from '../../src/engine/scheduler.js';
import { DAY, type Engine } from '../../src/index.js';
import { type ManualClock, type MemoryTransport } from '../../src/testing.js';
import { dialects } from '../helpers/backends.js';
import { engineWith, head, loaded, shop } from '../sequences/helpers.js';

const STEP = (id: string, wait = '0d', template = 'winback/miss-you') =>
  `  - { id: ${id}, wait: ${wait}, template: ${template}, subject: "${id}" }\n`;

describe.each(dialects)('sequences in the engine on $name', ({ url }) => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  /** A fresh engine with the trigger-started sequence `cancelled` of these steps, and customers who bought 90 days ago. */
  async function triggeredShop(
    database: string,
    steps: string,
    customers: string[],
  ): Promise<{ e: Engine; clock: ManualClock; transport: MemoryTransport }> {
    const r = await engineWith(database, [
      loaded(`${head('cancelled')}audience:\n  trigger: cancelled\nsteps:\n${steps}`),
    ]);
    engine = r.engine;
    await shop(
      r.engine,
      customers.map((id) => ({ id, daysAgo: [90] })),
    );
    return { e: r.engine, clock: r.clock, transport: r.transport };
  }

  it('selects the audience by dormancy and a where filter over documented fields, and explains each rule', async () => {
    const seq = loaded(`${head('lapsed')}audience:
  dormant: { overdue_factor: 2, min_days: 45 }
  where: 'discount_share < 0.6 and late_payments < 2 and (total_spent >= 140 or "vip" in tags)'
steps:
${STEP('a')}`);
    ({ engine } = await engineWith(await url(), [seq]));
    const lapsed = [200, 170, 140];
    await shop(engine, [
      { id: 'anna', daysAgo: lapsed },
      { id: 'bargain', daysAgo: lapsed, discount: 1000 },
      { id: 'late', daysAgo: lapsed, latePayments: 3 },
      { id: 'once', daysAgo: [300] },
      { id: 'active', daysAgo: [60, 30, 5] },
      { id: 'noconsent', daysAgo: lapsed, consent: false },
      { id: 'small', daysAgo: lapsed, total: 1000 },
      { id: 'vip', daysAgo: lapsed, total: 1000, tags: ['vip'] },
    ]);
    const x = await explainAudience(engine.ctx.k, seq.definition, engine.ctx.clock.now(), { pageSize: 3 });
    expect(x.steps.map((s) => [s.key, s.remaining, s.excluded])).toEqual([
      ['customers', 8, 0],
      ['orders', 8, 0],
      ['dormant.min_days', 7, 1],
      ['dormant.overdue_factor', 6, 1],
      ['where', 3, 3],
      ['consent', 2, 1],
      ['not_enrolled', 2, 0],
    ]);
    const where = x.steps.find((s) => s.key === 'where')!;
    expect(where.samples.map((s) => s.customer).sort()).toEqual(['bargain', 'late', 'small']);
    expect(where.samples.find((s) => s.customer === 'bargain')!.reason).toContain('discount_share=1');
    expect(x.steps.find((s) => s.key === 'consent')!.samples).toEqual([
      { customer: 'noconsent', reason: 'no_consent' },
    ]);
    const r = await engine.enrollAudience('lapsed');
    expect(r).toMatchObject({ enrolled: 2, skipped: { no_consent: 1 } });
    const again = await explainAudience(engine.ctx.k, seq.definition, engine.ctx.clock.now());
    expect(again.steps.at(-1)).toMatchObject({ key: 'not_enrolled', remaining: 0, excluded: 2 });
  });

  it('one address gets a sequence once, also when the shop has two customer records for it', async () => {
    const lapsedSeq = loaded(`${head('lapsed')}audience:
  dormant: { min_days: 45 }
steps:
${STEP('a')}`);
    const triggered = loaded(`${head('cancelled')}audience:
  trigger: cancelled
steps:
${STEP('a')}`);
    ({ engine } = await engineWith(await url(), [lapsedSeq, triggered]));
    await shop(engine, [
      { id: 'anna', daysAgo: [200, 120] },
      { id: 'anna-guest', daysAgo: [90] },
      { id: 'bob', daysAgo: [100] },
    ]);
    // The guest order was placed with the same address, written differently.
    await engine.customers.upsert({ externalId: 'anna-guest', email: 'ANNA@example.com' });
    const r = await engine.enrollAudience('lapsed');
    expect(r).toMatchObject({ considered: 3, enrolled: 2, skipped: { same_address: 1 } });
    const enrolled = await engine.ctx.k
      .selectFrom('enrollments as e')
      .innerJoin('customers as c', 'c.id', 'e.customer_id')
      .select('c.external_id')
      .where('e.sequence_id', '=', 'lapsed')
      .orderBy('c.external_id')
      .execute();
    expect(enrolled.map((x) => x.external_id)).toEqual(['anna', 'bob']);
    expect((await engine.trigger('cancelled', 'anna-guest')).enrollmentId).not.toBeNull();
    expect(await engine.trigger('cancelled', 'anna')).toEqual({ enrollmentId: null, reason: 'same_address' });
    // The same record again is what it was before: already enrolled.
    expect(await engine.trigger('cancelled', 'anna-guest')).toEqual({ enrollmentId: null, reason: 'already_enrolled' });
  });

  it('the database holds one active enrolment per address, also when two enrolment paths race', async () => {
    const triggered = loaded(`${head('cancelled')}audience:
  trigger: cancelled
steps:
${STEP('a')}`);
    ({ engine } = await engineWith(await url(), [triggered]));
    await shop(engine, [
      { id: 'anna', daysAgo: [200] },
      { id: 'anna-guest', daysAgo: [90] },
    ]);
    await engine.customers.upsert({ externalId: 'anna-guest', email: 'ANNA@example.com' });
    // Both checks run before either insert: the unique index decides, and the loser is skipped.
    const results = await Promise.all([engine.trigger('cancelled', 'anna'), engine.trigger('cancelled', 'anna-guest')]);
    expect(results.filter((r) => r.enrollmentId !== null)).toHaveLength(1);
    expect(results.filter((r) => r.enrollmentId === null).map((r) => r.reason)).toEqual(['same_address']);
    const active = await engine.ctx.k
      .selectFrom('enrollments')
      .select(['id', 'customer_id', 'address_hash'])
      .where('sequence_id', '=', 'cancelled')
      .where('status', '=', 'active')
      .execute();
    expect(active).toHaveLength(1);
    const other = (await engine.customers.get(
      active[0]!.customer_id === (await engine.customers.get('anna'))!.id ? 'anna-guest' : 'anna',
    ))!;
    const row = {
      customer_id: other.id,
      sequence_id: 'cancelled',
      sequence_version: 1,
      status: 'active',
      next_due_at: 0,
      enrolled_at: 0,
      address_hash: active[0]!.address_hash,
    };
    await expect(engine.ctx.k.insertInto('enrollments').values(row).execute()).rejects.toThrow(/unique|UNIQUE/);
    // Once the enrolment ends, the address may enter again.
    await engine.ctx.k
      .updateTable('enrollments')
      .set({ status: 'completed' })
      .where('id', '=', active[0]!.id)
      .execute();
    await engine.ctx.k.insertInto('enrollments').values(row).execute();
  });

  it('an enrolment follows its customer to a new address; into an address that has the sequence already, it ends', async () => {
    const { e, clock, transport } = await triggeredShop(await url(), STEP('a', '1d'), ['anna', 'bob', 'carl', 'dora']);
    const hashOf = async (id: string) => (await e.customers.get(id))!.email_hash;
    const enrolment = async (id: string) =>
      e.ctx.k
        .selectFrom('enrollments as e')
        .innerJoin('customers as c', 'c.id', 'e.customer_id')
        .select(['e.status', 'e.exit_reason', 'e.address_hash'])
        .where('c.external_id', '=', id)
        .executeTakeFirstOrThrow();
    for (const id of ['anna', 'bob', 'carl']) expect((await e.trigger('cancelled', id)).enrollmentId).not.toBeNull();
    const annaOld = await hashOf('anna');
    // Anna moves to a new address: her enrolment goes with it, and her old address is free again.
    await e.customers.upsert({ externalId: 'anna', email: 'anna.new@example.com' });
    expect(await enrolment('anna')).toEqual({
      status: 'active',
      exit_reason: null,
      address_hash: await hashOf('anna'),
    });
    await e.customers.upsert({ externalId: 'dora', email: 'anna@example.com' });
    expect(await hashOf('dora')).toBe(annaOld);
    expect((await e.trigger('cancelled', 'dora')).enrollmentId).not.toBeNull();
    // Carl's record takes Bob's address (a merged account): Bob's enrolment has the sequence for
    // that address already, so Carl's ends instead of mailing the person twice.
    const carlBefore = await enrolment('carl');
    await e.customers.upsert([{ externalId: 'carl', email: 'bob@example.com' }]);
    expect(await enrolment('carl')).toEqual({
      status: 'exited',
      exit_reason: 'same_address',
      address_hash: carlBefore.address_hash,
    });
    expect(await enrolment('bob')).toMatchObject({ status: 'active', address_hash: await hashOf('bob') });
    // An address removed frees it too.
    await e.customers.upsert({ externalId: 'bob', email: null });
    expect(await enrolment('bob')).toEqual({ status: 'active', exit_reason: null, address_hash: null });
    // When the step is due: Anna's mail goes to her new address, Dora's to Anna's old one, Carl's
    // ended enrolment sends nothing, and Bob, without an address, gets nothing.
    clock.advance(2 * DAY);
    await e.runDue();
    const statuses = await e.ctx.k
      .selectFrom('messages as m')
      .innerJoin('customers as c', 'c.id', 'm.customer_id')
      .select(['c.external_id', 'm.status'])
      .orderBy('c.external_id')
      .execute();
    expect(statuses).toEqual([
      { external_id: 'anna', status: 'sent' },
      { external_id: 'bob', status: 'cancelled' },
      { external_id: 'dora', status: 'sent' },
    ]);
    expect(transport.sent.map((m) => m.to).sort()).toEqual(['anna.new@example.com', 'anna@example.com']);
  });

  it('a paused sequence keeps the planned times of its steps: resumed early they wait, resumed late they go out at once', async () => {
    const { e, clock, transport } = await triggeredShop(await url(), `${STEP('a')}${STEP('b', '7d')}`, ['anna', 'bob']);
    for (const id of ['anna', 'bob']) await e.trigger('cancelled', id);
    await e.runDue();
    expect(transport.sent.map((m) => m.subject)).toEqual(['a', 'a']);
    const due = async () =>
      (await e.ctx.k.selectFrom('enrollments').select('next_due_at').orderBy('id').execute()).map((r) =>
        Number(r.next_due_at),
      );
    const planned = await due();
    expect(planned.every((t) => t >= clock.now() + 7 * DAY)).toBe(true);

    expect(await e.pause('cancelled', 'the offer ran out')).toBe(true);
    expect(await e.pause('cancelled', 'again')).toBe(false);
    expect(await e.ctx.sequences.status('cancelled')).toMatchObject({ status: 'paused', reason: 'the offer ran out' });
    expect(await e.trigger('cancelled', 'anna')).toMatchObject({ enrollmentId: null, reason: 'paused' });
    // comeback customer shows the planned time of paused work, not the parking time.
    const shown = formatCustomerReport(await customerReport({ db: e.ctx.db }, 'anna'), 'EUR');
    expect(shown).toContain(`paused (${new Date(planned[0]!).toISOString().slice(0, 16).replace('T', ' ')})`);
    clock.advance(3_600_000);
    expect(await e.resume('cancelled')).toBe('the offer ran out');
    expect(await due()).toEqual(planned); // a week out, as planned, not now
    await e.runDue();
    expect(transport.sent).toHaveLength(2);

    await e.pause('cancelled');
    clock.advance(8 * DAY);
    await e.runDue();
    expect(transport.sent).toHaveLength(2); // paused: nothing goes out
    await e.resume('cancelled');
    expect(await due()).toEqual([clock.now(), clock.now()]); // came due while paused: at once
    await e.runDue();
    expect(transport.sent.map((m) => m.subject)).toEqual(['a', 'a', 'b', 'b']);
  });

  it('reads model thresholds from customer_scores, and says clearly when there are none', async () => {
    const seq = loaded(`${head('model')}audience:
  dormant: { min_days: 45 }
  p_alive_below: 0.5
  where: "worth_winning_back == 1"
steps:
${STEP('a')}`);
    ({ engine } = await engineWith(await url(), [seq]));
    await shop(engine, [
      { id: 'pausing', daysAgo: [100, 90] },
      { id: 'gone', daysAgo: [100, 90] },
    ]);
    const all = async () => {
      const ids: number[] = [];
      for await (const page of dormantCandidates(
        engine!.ctx.k,
        'model',
        seq.definition.audience,
        engine!.ctx.clock.now(),
      ))
        ids.push(...page.map((c) => c.customer_id));
      return ids;
    };
    await expect(all()).rejects.toMatchObject({
      code: 'E_NO_SCORES',
      message: expect.stringContaining('run `comeback score` first'),
    });
    const now = engine.ctx.clock.now();
    for (const [id, pAlive] of [
      [1, 0.8],
      [2, 0.2],
    ] as const) {
      await sql`insert into customer_scores (customer_id, run_id, orders_count, total_spent_minor, avg_order_minor, frequency, recency, t, recovery_cost_minor, scored_at, p_alive, expected_value_minor, worth_winning_back)
                values (${id}, 1, 2, 10000, 5000, 1, 10, 100, 300, ${now}, ${pAlive}, 4000, 1)`.execute(engine.ctx.k);
    }
    expect(await all()).toEqual([2]);
  });

  it('lets running enrolments finish on their version while new ones start on the new version', async () => {
    const v1 = loaded(
      `${head('versioned', 1)}audience: { dormant: { min_days: 45 } }\nsteps:\n${STEP('hello')}${STEP('offer', '2d', 'winback/offer')}${STEP('last', '2d', 'winback/apology')}`,
    );
    const db = await url();
    let clock;
    ({ engine, clock } = await engineWith(db, [v1]));
    await shop(engine, [{ id: 'early', daysAgo: [100] }]);
    await engine.enrollAudience('versioned');
    await engine.runDue();
    const start = clock.now();
    await engine.close();

    // Same content with the same version number is refused: running enrolments would change under them.
    const sneaky = loaded(`${head('versioned', 1)}audience: { dormant: { min_days: 45 } }\nsteps:\n${STEP('hello')}`);
    await expect(engineWith(db, [sneaky], start)).rejects.toThrow(/raise version to 2/);

    const v2 = loaded(
      `${head('versioned', 2)}audience: { dormant: { min_days: 45 } }\nsteps:\n${STEP('welcome', '0d', 'winback/new-arrivals')}${STEP('reminder', '1d')}`,
    );
    ({ engine, clock } = await engineWith(db, [v2], start + DAY));
    await shop(engine, [{ id: 'late', daysAgo: [100] }]);
    expect((await engine.enrollAudience('versioned')).enrolled).toBe(1);
    for (let i = 0; i < 5 * 4; i++) {
      await engine.runDue();
      clock.advance(6 * 3_600_000);
    }
    const rows = await engine.ctx.k
      .selectFrom('messages')
      .innerJoin('enrollments', 'enrollments.id', 'messages.enrollment_id')
      .innerJoin('customers', 'customers.id', 'messages.customer_id')
      .select([
        'customers.external_id',
        'enrollments.sequence_version',
        'messages.step_id',
        'messages.template',
        'messages.status',
      ])
      .orderBy('messages.id')
      .execute();
    expect(rows.map((r) => [r.external_id, Number(r.sequence_version), r.step_id, r.template, r.status])).toEqual([
      ['early', 1, 'hello', 'winback/miss-you', 'sent'],
      ['late', 2, 'welcome', 'winback/new-arrivals', 'sent'],
      ['early', 1, 'offer', 'winback/offer', 'sent'],
      ['late', 2, 'reminder', 'winback/miss-you', 'sent'],
      ['early', 1, 'last', 'winback/apology', 'sent'],
    ]);
  });

  it('records the branch case at reservation, so that the sender renders what the scheduler decided', async () => {
    const seq = loaded(`${head('facts')}audience: { dormant: { min_days: 45 } }
steps:
${STEP('first')}  - id: second
    wait: 2d
    branch:
      when:
        - { if: clicked, template: winback/new-arrivals, subject: "For the curious" }
      default: { template: winback/apology, subject: "Sorry" }
`);
    let clock;
    let transport;
    ({ engine, clock, transport } = await engineWith(await url(), [seq]));
    await shop(engine, [{ id: 'anna', daysAgo: [100] }]);
    await engine.enrollAudience('facts');
    await engine.runDue();
    const first = await engine.ctx.k.selectFrom('messages').select('id').executeTakeFirstOrThrow();
    await engine.events.record({ messageId: first.id, type: 'click', source: 'test', linkIndex: 0 });
    clock.advance(2 * DAY);
    expect(await scheduleBatch(engine.ctx)).toMatchObject({ reserved: 1 });
    const reserved = await engine.ctx.k
      .selectFrom('messages')
      .selectAll()
      .where('step_id', '=', 'second')
      .executeTakeFirstOrThrow();
    expect(reserved.template).toBe('winback/new-arrivals');
    expect(await engine.sendMessage(reserved.id)).toBe('sent');
    expect(transport.sent.at(-1)!.subject).toBe('For the curious');
  });

  it('ends on a survey goal, counts a purchase only in a new category, and starts welcome-back on success', async () => {
    const survey = loaded(
      `${head('survey')}audience: { dormant: { min_days: 45 } }\ngoal: { survey_answered: true }\nsteps:\n${STEP('ask', '0d', 'winback/reason-survey')}${STEP('more', '3d')}on_success: { tag: answered, start: welcome }\n`,
    );
    const cancelled = loaded(`${head('cancelled')}audience: { trigger: subscription_cancelled }
goal: { purchase: { within: 30d, new_category: true } }
steps:
${STEP('come-back', '1d')}on_success: { tag: returning, start: welcome }
`);
    const welcome = loaded(
      `${head('welcome')}audience: { trigger: returned }\nsteps:\n${STEP('thanks', '1d', 'winback/welcome-back')}`,
    );
    let clock;
    ({ engine, clock } = await engineWith(await url(), [survey, cancelled, welcome]));
    await shop(engine, [
      { id: 'anna', daysAgo: [100], category: 'tea' },
      { id: 'ben', daysAgo: [10], category: 'tea' },
    ]);
    await engine.enrollAudience('survey');
    await engine.runDue();
    const ask = await engine.ctx.k
      .selectFrom('messages')
      .select('id')
      .where('step_id', '=', 'ask')
      .executeTakeFirstOrThrow();
    await engine.events.record({ messageId: ask.id, type: 'reason', source: 'test', linkIndex: 4 });
    clock.advance(3 * DAY);
    await engine.runDue();
    const anna = await engine.ctx.k
      .selectFrom('enrollments')
      .selectAll()
      .where('sequence_id', '=', 'survey')
      .executeTakeFirstOrThrow();
    expect([anna.status, anna.exit_reason]).toEqual(['exited', 'survey_answered']);
    expect((await engine.customers.get('anna'))!.churn_reason).toBe('price');
    // The survey goal succeeds like a purchase: its own tag (no `returning`, nobody bought) and the on_success sequence.
    expect(JSON.parse((await engine.customers.get('anna'))!.tags)).toEqual(['answered']);
    const annaWelcome = await engine.ctx.k
      .selectFrom('enrollments')
      .select('status')
      .where('sequence_id', '=', 'welcome')
      .where('customer_id', '=', anna.customer_id)
      .execute();
    expect(annaWelcome).toEqual([{ status: 'active' }]);

    expect((await engine.trigger('cancelled', 'ben')).enrollmentId).not.toBeNull();
    const order = (id: string, category: string) =>
      engine!.orders.record({
        externalId: id,
        customerExternalId: 'ben',
        orderedAt: clock.now(),
        totalMinor: 3000,
        items: [{ sku: id, name: 'x', category, unitPriceMinor: 3000 }],
      });
    clock.advance(DAY);
    expect((await order('same-category', 'tea')).conversions).toHaveLength(0);
    expect((await order('new-category', 'coffee')).conversions).toHaveLength(1);
    const ben = await engine.ctx.k
      .selectFrom('enrollments')
      .select(['sequence_id', 'status'])
      .where('customer_id', '=', 2)
      .orderBy('id')
      .execute();
    expect(ben).toEqual([
      { sequence_id: 'cancelled', status: 'converted' },
      { sequence_id: 'welcome', status: 'active' },
    ]);
  });
});
