/**
 * One-click unsubscribe is idempotent: a mail client that retries, a double click or 50 identical
 * POSTs at once record one unsubscribe event and one withdrawal; after a re-subscription the same
 * old link unsubscribes again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dialects } from '../helpers/backends.js';
import { events, seedMessage, startServer, type TestServer } from './helpers.js';

describe.each(dialects)('one-click unsubscribe once on $name', ({ url }) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  const withdrawals = (t: TestServer, customerId: number) =>
    t.engine.ctx.k
      .selectFrom('consents')
      .select('id')
      .where('customer_id', '=', customerId)
      .where('action', '=', 'withdraw')
      .execute();

  it('50 identical POSTs to one /u/<token> → one withdrawal, one event', async () => {
    s = await startServer({ database: await url() });
    const t = s;
    const { messageId, customerId } = await seedMessage(t);
    const path = new URL(t.engine.ctx.urls.unsubscribe(messageId)).pathname;
    const post = () =>
      fetch(`${t.url}${path}`, {
        method: 'POST',
        body: 'List-Unsubscribe=One-Click',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    const answers = await Promise.all(Array.from({ length: 50 }, post));
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(200));
    await t.flush();
    expect((await events(t)).filter((e) => e.type === 'unsubscribe')).toHaveLength(1);
    expect(await withdrawals(t, customerId)).toHaveLength(1);
    expect((await t.engine.consents.state(customerId)).active).toEqual([]);

    // A re-subscription makes the old link work again: one more withdrawal, one more event.
    await t.engine.consents.record({
      customer: customerId,
      action: 'grant',
      basis: 'double_opt_in',
      source: 'test',
      evidence: {},
    });
    const again = await Promise.all(Array.from({ length: 5 }, post));
    expect(again.map((r) => r.status)).toEqual(Array(5).fill(200));
    expect((await events(t)).filter((e) => e.type === 'unsubscribe')).toHaveLength(2);
    expect(await withdrawals(t, customerId)).toHaveLength(2);
  });
});
