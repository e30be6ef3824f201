import { afterEach, describe, expect, it } from 'vitest';
import { PARK_OFFSET } from '../../src/engine/sequence-state.js';
import { DAY, MINUTE, type Engine } from '../../src/index.js';
import { dialects } from '../helpers/backends.js';
import { engineWith, head, loaded, shop } from '../sequences/helpers.js';

const SEQ = `${head('guarded')}audience: { dormant: { min_days: 45 } }
steps:
  - { id: first, template: winback/miss-you, subject: "First" }
  - { id: second, wait: 1d, template: winback/miss-you, subject: "Second" }
`;

/** Adds `n` sent messages of the sequence (one bulk insert) so the guard has volume to judge. */
async function bulkSent(engine: Engine, n: number): Promise<number[]> {
  const now = engine.ctx.clock.now();
  const customer = (await engine.customers.get('bulk'))!.id;
  const [enrollment] = await engine.ctx.k
    .insertInto('enrollments')
    .values({
      customer_id: customer,
      sequence_id: 'guarded',
      sequence_version: 1,
      status: 'completed',
      enrolled_at: now,
      ended_at: now,
    })
    .returning('id')
    .execute();
  const rows = Array.from({ length: n }, (_, i) => ({
    enrollment_id: enrollment!.id,
    customer_id: customer,
    sequence_id: 'guarded',
    step_id: `bulk-${i}`,
    template: 'winback/miss-you',
    status: 'sent',
    transport: 'memory',
    due_at: now,
    reserved_at: now,
    sent_at: now,
    updated_at: now,
  }));
  const ids: number[] = [];
  for (let i = 0; i < rows.length; i += 100)
    ids.push(
      ...(
        await engine.ctx.k
          .insertInto('messages')
          .values(rows.slice(i, i + 100))
          .returning('id')
          .execute()
      ).map((r) => r.id),
    );
  return ids;
}

describe.each(dialects)('deliverability guard in the loop on $name', ({ url }) => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('warns above 0.1% complaints, pauses on evidence (nothing enrols or sends), and resumes with comeback resume', async () => {
    let clock;
    let transport;
    ({ engine, clock, transport } = await engineWith(await url(), [loaded(SEQ)]));
    const e = engine;
    await shop(e, [
      { id: 'anna', daysAgo: [100] },
      { id: 'bulk', daysAgo: [1] },
    ]);
    await e.enrollAudience('guarded');
    await e.runDue();
    expect(transport.sent.map((m) => m.subject)).toEqual(['First']);

    // 1 complaint in 500 sends: 0.2%, over the acceptable rate, far from evidence.
    const ids = await bulkSent(e, 499);
    await e.events.record({ messageId: ids[0]!, type: 'complaint', source: 'test' });
    let [finding] = await e.checkDeliverability();
    expect(finding).toMatchObject({ sequenceId: 'guarded', level: 'warn', paused: false });
    expect(finding!.reasons[0]).toContain(
      'complaint rate 0.20% (1 of 500) is 0.68× as likely at the harmful 0.50% as at the acceptable 0.10%',
    );
    expect((await e.ctx.sequences.status('guarded')).status).toBe('active');

    // Four more: 5 of 500 (1%) are 429× as likely at 0.5% as at 0.1%; the sequence pauses itself and says why.
    for (const id of ids.slice(1, 5)) await e.events.record({ messageId: id, type: 'complaint', source: 'test' });
    clock.advance(DAY); // anna's second mail is due now, but must wait
    await e.runDue(); // the guard runs before the pass
    const status = await e.ctx.sequences.status('guarded');
    expect(status.status).toBe('paused');
    expect(status.reason).toContain(
      'complaint rate 1.00% (5 of 500) is 429× as likely at the harmful 0.50% as at the acceptable 0.10%: evidence reached 2.75×, pausing',
    );
    expect(transport.sent).toHaveLength(1);
    const anna = await e.ctx.k
      .selectFrom('enrollments')
      .select(['status', 'next_due_at'])
      .where('customer_id', '=', (await e.customers.get('anna'))!.id)
      .executeTakeFirstOrThrow();
    expect(anna.status).toBe('active');
    expect(Number(anna.next_due_at)).toBeGreaterThanOrEqual(PARK_OFFSET); // parked, its planned time kept under the offset
    expect(Number(anna.next_due_at) - PARK_OFFSET).toBeLessThanOrEqual(clock.now());
    expect((await e.enrollAudience('guarded')).skipped.paused).toBe(1);
    const report = await e.report({ sequence: 'guarded' });
    expect(report.sequences[0]).toMatchObject({
      status: 'paused',
      pausedReason: status.reason,
      deliverability: { level: 'pause', sent: 500, complaints: 5 },
    });

    // Resuming: parked mail goes out, and the complaints before the resume no longer count.
    expect(await e.resume('guarded')).toBe(status.reason);
    expect(await e.resume('guarded')).toBeNull();
    await e.runDue();
    expect(transport.sent.map((m) => m.subject)).toEqual(['First', 'Second']);
    expect((await e.ctx.sequences.status('guarded')).status).toBe('active');
    [finding] = await e.checkDeliverability();
    expect(finding).toMatchObject({ level: 'ok', paused: false });
    const after = (await e.report({ sequence: 'guarded' })).sequences[0]!;
    expect(after).toMatchObject({
      status: 'active',
      pausedReason: null,
      deliverability: { sent: 1, complaints: 0, level: 'ok', windowStart: new Date(clock.now()).toISOString() },
    });
  });

  it('pauses on hard bounces above 5% per sender', async () => {
    ({ engine } = await engineWith(await url(), [loaded(SEQ)]));
    await shop(engine, [{ id: 'bulk', daysAgo: [1] }]);
    const ids = await bulkSent(engine, 200);
    for (const id of ids.slice(0, 10)) await engine.events.record({ messageId: id, type: 'bounce', source: 'test' });
    const [finding] = await engine.checkDeliverability();
    expect(finding).toMatchObject({ sequenceId: 'guarded', level: 'pause', paused: true });
    expect(finding!.reasons.join(' ')).toContain('hard-bounce rate 5.00% (10 of 200)');
    const s = (await engine.report()).sequences[0]!;
    expect(s.deliverability.bySender).toEqual([
      expect.objectContaining({ sender: 'memory', sent: 200, hardBounces: 10, level: 'pause' }),
    ]);
  });

  it('runs on the configured check interval', async () => {
    let clock;
    ({ engine, clock } = await engineWith(await url(), [loaded(SEQ)], undefined, {
      guard: { checkIntervalMinutes: 60 },
    }));
    const e = engine;
    await shop(e, [{ id: 'bulk', daysAgo: [1] }]);
    await e.runDue(); // the first pass runs the guard: nothing to judge yet
    const ids = await bulkSent(e, 500);
    for (const id of ids.slice(0, 10)) await e.events.record({ messageId: id, type: 'complaint', source: 'test' });
    clock.advance(59 * MINUTE);
    await e.runDue();
    expect((await e.ctx.sequences.status('guarded')).status).toBe('active'); // not checked again yet
    clock.advance(MINUTE);
    await e.runDue();
    expect((await e.ctx.sequences.status('guarded')).status).toBe('paused');
  });

  it('takes its window and thresholds from the guard configuration', async () => {
    ({ engine } = await engineWith(await url(), [loaded(SEQ)], undefined, {
      guard: { windowDays: 7, hardBounceWarn: 0.06, hardBouncePause: 0.1, complaintWarn: 0.01, complaintPause: 0.02 },
    }));
    await shop(engine, [{ id: 'bulk', daysAgo: [1] }]);
    const ids = await bulkSent(engine, 200);
    // 5 % hard bounces would pause at the defaults; here they are under the acceptable 6 %.
    for (const id of ids.slice(0, 10)) await engine.events.record({ messageId: id, type: 'bounce', source: 'test' });
    await engine.events.record({ messageId: ids[20]!, type: 'complaint', source: 'test' });
    const [finding] = await engine.checkDeliverability();
    expect(finding).toMatchObject({ sequenceId: 'guarded', level: 'ok', paused: false });
    const d = (await engine.report()).sequences[0]!.deliverability;
    expect(d).toMatchObject({ windowDays: 7, level: 'ok', hardBounces: 10, complaints: 1 });
    expect(new Date(d.windowStart).getTime()).toBe(engine.ctx.clock.now() - 7 * DAY);
  });
});

it('refuses a guard configuration whose warning threshold is above its pause threshold', async () => {
  await expect(
    engineWith(':memory:', [loaded(SEQ)], undefined, { guard: { complaintWarn: 0.01, complaintPause: 0.005 } }),
  ).rejects.toThrow(/complaintWarn must be below complaintPause/);
});
