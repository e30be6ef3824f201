/**
 * Test sends on both databases: to seed addresses only, recorded in `test_sends` and nowhere a
 * metric reads (`messages`, `events`, the webhook outbox); a provider refusal is recorded too.
 */
import { describe, expect, it } from 'vitest';
import { PermanentSendError } from '../../src/errors.js';
import { createEngine, type OutgoingMail } from '../../src/index.js';
import { MemoryTransport } from '../../src/testing.js';
import { sendTest, seedRecipients } from '../../src/studio/index.js';
import { dialects } from '../helpers/backends.js';
import { ROOT } from '../worker/fixture.js';
import { join } from 'node:path';

describe.each(dialects)('test sends on $name', ({ url }) => {
  it('go to the seed list only, are marked as tests, and count in no metric', async () => {
    const transport = new MemoryTransport();
    const engine = await createEngine(
      {
        database: await url(),
        sequencesDir: join(ROOT, 'sequences'),
        templatesDir: join(ROOT, 'templates'),
        seedList: ['team@shop.example', 'boss@shop.example'],
      },
      { transport, jobs: false },
    );
    try {
      await engine.customers.upsert({ externalId: 'anna', email: 'anna@example.com', firstName: 'Anna', locale: 'de' });
      const count = async (table: 'messages' | 'events' | 'webhook_outbox') =>
        Number(
          (
            await engine.ctx.k
              .selectFrom(table)
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const all = await sendTest(engine, { sequence: 'winback-lapsed', step: 'miss-you', customer: 'anna' });
      expect(all.map((s) => `${s.to} ${s.status}`)).toEqual(['team@shop.example sent', 'boss@shop.example sent']);
      expect(transport.sent.map((m: OutgoingMail) => m.to)).toEqual(['team@shop.example', 'boss@shop.example']);
      expect(transport.sent.every((m: OutgoingMail) => m.messageId < 0 && m.subject === 'Wir vermissen Sie')).toBe(
        true,
      );
      expect(transport.sent[0]!.headers['X-Comeback-Test']).toBe('winback-lapsed/miss-you');
      await expect(
        sendTest(engine, { sequence: 'winback-lapsed', step: 'miss-you', to: 'anna@example.com' }),
      ).rejects.toThrow(/anna@example\.com is not on the seedList/);
      expect(transport.sent).toHaveLength(2);
      const rows = await engine.ctx.k.selectFrom('test_sends').selectAll().orderBy('id').execute();
      expect(rows.map((r) => [r.to_address, r.status, r.locale, Number(r.customer_id) > 0])).toEqual([
        ['team@shop.example', 'sent', 'de', true],
        ['boss@shop.example', 'sent', 'de', true],
      ]);
      expect([await count('messages'), await count('events'), await count('webhook_outbox')]).toEqual([0, 0, 0]);
      // A refusal by the provider is recorded with its reason.
      engine.ctx.transport = {
        name: 'refusing',
        send: async () => {
          throw new PermanentSendError('550 mailbox unavailable', 'hard_bounce');
        },
      };
      const failed = await sendTest(engine, {
        sequence: 'winback-lapsed',
        step: 'offer',
        to: 'TEAM@shop.example',
        locale: 'en',
      });
      expect(failed).toMatchObject([{ to: 'team@shop.example', status: 'failed', error: '550 mailbox unavailable' }]);
      expect(
        (
          await engine.ctx.k
            .selectFrom('test_sends')
            .select(['status', 'error'])
            .orderBy('id', 'desc')
            .executeTakeFirstOrThrow()
        ).error,
      ).toBe('550 mailbox unavailable');
    } finally {
      await engine.close();
    }
  });

  it('need a seed list', () => {
    expect(() => seedRecipients([])).toThrow(/no seedList in the config/);
    expect(seedRecipients(['a@x.example'], 'A@X.example')).toEqual(['a@x.example']);
  });
});
