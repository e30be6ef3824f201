import { afterEach, describe, expect, it } from 'vitest';
import { DAY } from '../../src/index.js';
import { foldPreferences, NO_PREFERENCES, preferenceGate, type Preferences } from '../../src/consent/preferences.js';
import { dialects } from '../helpers/backends.js';
import { addCustomer, grant, messagesOf, sequenceYaml, testEngine, type TestEngine } from './fixtures.js';

const TOPICS = { topics: ['offers', 'news'] };
const withTopic = (yaml: string, topic: string) => yaml.replace('steps:', `topic: ${topic}\nsteps:`);
const TEXTS = {
  'offers.yaml': withTopic(sequenceYaml('offers-seq', ['existing_customer'], true), 'offers'),
  'news.yaml': withTopic(sequenceYaml('news-seq', ['existing_customer'], true), 'news'),
};

describe('preferenceGate (pure)', () => {
  const at = Date.UTC(2026, 0, 1);
  const p = (over: Partial<Preferences>): Preferences => ({ ...NO_PREFERENCES, ...over });
  it('allows without choices, blocks a topic left, defers to the end of a snooze', () => {
    expect(preferenceGate(NO_PREFERENCES, at, [at - DAY], 'offers')).toEqual({ kind: 'allow' });
    expect(preferenceGate(p({ topicsOut: ['offers'] }), at, [], 'offers')).toEqual({
      kind: 'block',
      reason: 'topic_opt_out',
    });
    expect(preferenceGate(p({ topicsOut: ['offers'] }), at, [], 'news')).toEqual({ kind: 'allow' });
    expect(preferenceGate(p({ snoozedUntil: at + 90 * DAY }), at, [], null)).toEqual({
      kind: 'defer',
      until: at + 90 * DAY,
    });
    expect(preferenceGate(p({ snoozedUntil: at - 1 }), at, [], null)).toEqual({ kind: 'allow' });
  });
  it('one a month: defers until 30 days after the last mail to the address, in any sequence', () => {
    const monthly = p({ frequency: 'monthly' });
    expect(preferenceGate(monthly, at, [at - 10 * DAY, at - 40 * DAY], null)).toEqual({
      kind: 'defer',
      until: at + 20 * DAY,
    });
    expect(preferenceGate(monthly, at, [at - 31 * DAY], null)).toEqual({ kind: 'allow' });
    expect(preferenceGate(p({ frequency: 'weekly' }), at, [at - 2 * DAY], null)).toEqual({
      kind: 'defer',
      until: at + 5 * DAY,
    });
    // A snooze and the frequency together: the later of both.
    expect(preferenceGate(p({ frequency: 'weekly', snoozedUntil: at + DAY }), at, [at - 2 * DAY], null)).toEqual({
      kind: 'defer',
      until: at + 5 * DAY,
    });
  });
  it('folds the ledger in time order; the latest choice of a kind wins; other actions are ignored', () => {
    const row = (id: number, at0: number, choice: object, until?: number) => ({
      id,
      action: 'preference',
      recorded_at: at0,
      evidence: JSON.stringify({ choice, until }),
    });
    const prefs = foldPreferences([
      row(3, 30, { topic: 'news', subscribed: true }),
      row(1, 10, { topic: 'news', subscribed: false }),
      row(2, 20, { snooze: 90 }, 20 + 90 * DAY),
      row(4, 40, { frequency: 'monthly' }),
      row(5, 50, { locale: 'de' }),
      { id: 6, action: 'withdraw', recorded_at: 60, evidence: '{}' },
    ]);
    expect(prefs).toEqual({
      snoozedUntil: 20 + 90 * DAY,
      snooze: { days: 90, at: 20 },
      frequency: 'monthly',
      topicsOut: [],
      locale: 'de',
    });
    expect(
      foldPreferences([row(1, 10, { snooze: 30 }, 10 + 30 * DAY), row(2, 20, { snooze: 0 })]).snoozedUntil,
    ).toBeNull();
  });
});

describe.each(dialects)('preferences through the library on $name', ({ url }) => {
  let t: TestEngine | undefined;
  afterEach(async () => {
    await t?.engine.close();
    t = undefined;
  });

  async function customer(name: string): Promise<number> {
    const id = await addCustomer(t!, name, `${name}@example.com`);
    await grant(t!, name, 'existing_customer');
    return id;
  }

  it('snooze 90 days: nothing for 90 days, the next step on day 91; posted twice, recorded once', async () => {
    t = await testEngine(await url(), { texts: TEXTS, config: TOPICS });
    const id = await customer('sina');
    await t.engine.trigger('offers-seq', 'sina');
    await t.engine.runDue();
    expect(t.transport.sent).toHaveLength(1);
    const start = t.clock.now();
    const first = await t.engine.preferences.set(
      'sina',
      { snooze: 90 },
      { messageId: (await messagesOf(t.engine, id))[0]!.id },
    );
    expect(first).toMatchObject({ recorded: true, preferences: { snoozedUntil: start + 90 * DAY, frequency: 'any' } });
    expect(await t.engine.preferences.set('sina', { snooze: 90 })).toMatchObject({ recorded: false });
    for (let day = 1; day <= 90; day++) {
      t.clock.set(start + day * DAY - 1);
      await t.engine.runDue();
    }
    expect(t.transport.sent).toHaveLength(1);
    t.clock.set(start + 91 * DAY);
    await t.engine.runDue();
    expect(t.transport.sent).toHaveLength(2);
    const sentAt = (await messagesOf(t.engine, id))[1]!.sent_at!;
    expect(sentAt).toBeGreaterThanOrEqual(start + 90 * DAY);
    const history = await t.engine.consents.history('sina');
    const prefs = history.filter((h) => h.action === 'preference');
    expect(prefs).toHaveLength(1);
    expect(prefs[0]).toMatchObject({
      source: 'preferences:library',
      evidence: { choice: { snooze: 90 }, via: 'library' },
    });
    // A snooze is no objection: consent is untouched.
    expect((await t.engine.consents.state('sina')).objected).toBe(false);
  });

  it('one a month is shared by two sequences; a topic opt-out stops only that topic', async () => {
    t = await testEngine(await url(), { texts: TEXTS, config: TOPICS });
    const id = await customer('mona');
    await t.engine.preferences.set('mona', { frequency: 'monthly' });
    await t.engine.trigger('offers-seq', 'mona');
    await t.engine.trigger('news-seq', 'mona');
    const start = t.clock.now();
    for (let day = 0; day <= 70; day++) {
      t.clock.set(start + day * DAY);
      await t.engine.runDue();
    }
    const sent = (await messagesOf(t.engine, id))
      .filter((m) => m.status === 'sent')
      .map((m) => m.sent_at!)
      .sort((a, b) => a - b);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < sent.length; i++) expect(sent[i]! - sent[i - 1]!).toBeGreaterThanOrEqual(30 * DAY);

    // Topic opt-out: a new enrolment in news is refused, offers still enrols.
    const ina = await customer('ina');
    const r = await t.engine.preferences.set('ina', { topic: 'news', subscribed: false });
    expect(r.recorded).toBe(true);
    expect(await t.engine.trigger('news-seq', 'ina')).toEqual({ enrollmentId: null, reason: 'topic_opt_out' });
    expect((await t.engine.trigger('offers-seq', 'ina')).enrollmentId).not.toBeNull();
    await t.engine.runDue();
    expect((await messagesOf(t.engine, ina)).map((m) => m.sequence_id)).toEqual(['offers-seq']);
  });

  it('a topic opt-out ends a running enrolment of that topic; a language survives a re-import', async () => {
    t = await testEngine(await url(), { texts: TEXTS, config: TOPICS });
    const id = await customer('lea');
    await t.engine.trigger('news-seq', 'lea');
    await t.engine.trigger('offers-seq', 'lea');
    await t.engine.runDue();
    const out = await t.engine.preferences.set('lea', { topic: 'news', subscribed: false });
    expect(out.exited).toBe(1);
    const news = await t.engine.ctx.k
      .selectFrom('enrollments')
      .selectAll()
      .where('sequence_id', '=', 'news-seq')
      .executeTakeFirstOrThrow();
    expect(news).toMatchObject({ status: 'exited', exit_reason: 'topic_opt_out' });
    await t.engine.preferences.set('lea', { locale: 'de' });
    expect((await t.engine.customers.get('lea'))!.locale).toBe('de');
    // The shop sends its record again with its own locale: the customer's choice still wins.
    await t.engine.customers.upsert({ externalId: 'lea', email: 'lea@example.com', locale: 'en' });
    t.clock.advance(8 * DAY);
    await t.engine.runDue();
    const last = t.transport.sent.at(-1)!;
    expect(last.to).toBe('lea@example.com');
    expect(last.html).toContain('Abmelden');
    expect(
      (await messagesOf(t.engine, id)).filter((m) => m.sequence_id === 'news-seq' && m.status === 'sent'),
    ).toHaveLength(1);
  });

  it('a snooze moves a mail already reserved to its end; the sender makes a due one wait too', async () => {
    t = await testEngine(await url(), { texts: TEXTS, config: TOPICS, hold: true });
    const id = await customer('rita');
    await t.engine.trigger('offers-seq', 'rita');
    await t.engine.runDue();
    const [m] = await messagesOf(t.engine, id);
    expect(m!.status).toBe('reserved');
    const r = await t.engine.preferences.set('rita', { snooze: 30 });
    expect(r.deferred).toBe(1);
    expect((await messagesOf(t.engine, id))[0]).toMatchObject({ status: 'reserved', due_at: t.clock.now() + 30 * DAY });
    expect(await t.engine.sendMessage(m!.id)).toBe('lost_claim');
    expect(t.transport.sent).toHaveLength(0);
    // A mail the scheduler reserved with an older due time (a snooze recorded around it): the sender defers it.
    await t.engine.ctx.k.updateTable('messages').set({ due_at: t.clock.now() }).where('id', '=', m!.id).execute();
    expect(await t.engine.sendMessage(m!.id)).toBe('paused');
    expect((await messagesOf(t.engine, id))[0]).toMatchObject({ status: 'reserved', due_at: t.clock.now() + 30 * DAY });
    t.clock.advance(30 * DAY);
    expect(await t.engine.sendMessage(m!.id)).toBe('sent');
  });

  it('bad input: a snooze length not offered, an unknown topic, an erased customer; nothing recorded', async () => {
    t = await testEngine(await url(), { texts: TEXTS, config: TOPICS });
    await customer('otto');
    await expect(t.engine.preferences.set('otto', { snooze: 45 } as never)).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(t.engine.preferences.set('otto', { topic: 'newz', subscribed: false })).rejects.toThrow(
      /unknown topic "newz" \(did you mean "news"\?\)/,
    );
    await expect(t.engine.preferences.set('nobody', { frequency: 'weekly' })).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
    });
    expect((await t.engine.consents.history('otto')).filter((h) => h.action === 'preference')).toEqual([]);
    await t.engine.privacy.forget('otto@example.com');
    await expect(t.engine.preferences.set('otto', { frequency: 'weekly' })).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
    });
  });
});
