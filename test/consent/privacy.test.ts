import { mkdtempSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DAY } from '../../src/index.js';
import { hashEmail } from '../../src/util/email.js';
import { dialects } from '../helpers/backends.js';
import { addCustomer, grant, messagesOf, testEngine, type TestEngine } from './fixtures.js';

const csv = (body: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'comeback-consent-')), 'customers.csv');
  writeFileSync(file, body);
  return file;
};

/** A customer with history: a sent mail, an open, a conversion, a pending reservation. */
async function history(t: TestEngine): Promise<number> {
  const id = await addCustomer(t, 'hanna', 'hanna@example.com');
  await t.engine.customers.upsert({
    externalId: 'hanna',
    email: 'hanna@example.com',
    firstName: 'Hanna',
    lastName: 'Huber',
    locale: 'en',
    acquiredVia: 'sale',
    churnReason: 'price',
    attributes: { phone: '+49 30 1234' },
  });
  await grant(t, 'hanna', 'double_opt_in');
  await t.engine.trigger('any-basis', 'hanna');
  await t.engine.runDue();
  const [m] = await messagesOf(t.engine, id);
  await t.engine.events.record({
    messageId: m!.id,
    type: 'open',
    source: 'pixel',
    userAgent: 'Mozilla/5.0 (Macintosh) Hanna',
  });
  t.clock.advance(2 * DAY);
  await t.engine.orders.record({
    externalId: 'hanna-back',
    customerExternalId: 'hanna',
    orderedAt: t.clock.now(),
    totalMinor: 5000,
    items: [{ sku: 'TEA-2', name: 'Black tea', unitPriceMinor: 5000 }],
  });
  return id;
}

describe.each(dialects)('data subject rights on $name', ({ url }) => {
  let t: TestEngine | undefined;
  afterEach(async () => {
    await t?.engine.close();
    t = undefined;
  });

  it('export returns everything stored about the person as JSON', async () => {
    t = await testEngine(await url());
    const id = await history(t);
    const x = await t.engine.privacy.export('Hanna@Example.com');
    expect(x).toMatchObject({
      email: 'hanna@example.com',
      emailHash: hashEmail('hanna@example.com'),
      suppressions: [],
    });
    expect(x.customers).toHaveLength(1);
    const c = x.customers[0] as any;
    expect(c).toMatchObject({
      id,
      first_name: 'Hanna',
      last_name: 'Huber',
      churn_reason: 'price',
      attributes: { phone: '+49 30 1234' },
    });
    expect(c.consents).toMatchObject([{ action: 'grant', basis: 'double_opt_in', evidence: { ip: '192.0.2.7' } }]);
    expect(c.consentState.active).toMatchObject([{ basis: 'double_opt_in' }]);
    expect(c.orders.map((o: any) => o.external_id)).toEqual(['hanna-0', 'hanna-1', 'hanna-back']);
    expect(c.orders[2].items).toMatchObject([{ sku: 'TEA-2' }]);
    expect(c.messages).toMatchObject([{ status: 'sent', legal_basis: 'double_opt_in', subject: 'We miss you' }]);
    expect(c.events).toMatchObject([{ type: 'open', user_agent: 'Mozilla/5.0 (Macintosh) Hanna' }]);
    expect(c.conversions).toHaveLength(1);
    expect(c.enrollments).toMatchObject([{ sequence_id: 'any-basis', status: 'converted' }]);
    expect(JSON.parse(JSON.stringify(x))).toEqual(x); // plain JSON
  });

  it('forget erases personal data, keeps statistics and the hashed suppression; a re-import or upsert does not store the erased address again', async () => {
    t = await testEngine(await url(), { hold: true });
    const id = await addCustomer(t, 'ida', 'ida@example.com');
    await t.engine.consents.requestOptIn({ email: 'ida@example.com', source: 'api', textVersion: 'v1' }); // a pending request is erased too
    await grant(t, 'ida', 'double_opt_in');
    await t.engine.trigger('doi-only', 'ida');
    await t.engine.runDue();
    const [m] = await messagesOf(t.engine, id);
    expect(await t.engine.sendMessage(m!.id)).toBe('sent');
    await t.engine.events.record({
      messageId: m!.id,
      type: 'click',
      linkIndex: 0,
      source: 'link',
      userAgent: 'Mozilla/5.0 (Ida)',
    });
    t.clock.advance(7 * DAY);
    await t.engine.runDue(); // step 2 reserved, not yet sent
    const statsBefore = await t.engine.stats('doi-only');

    const r = await t.engine.privacy.forget('IDA@example.com');
    expect(r).toMatchObject({
      customers: 1,
      messagesCancelled: 1,
      consentRequestsDeleted: 1,
      ordersDeleted: 2,
      suppressed: true,
    });

    const row = (await t.engine.ctx.k
      .selectFrom('customers')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow())!;
    expect(row).toMatchObject({
      external_id: `erased-${id}`,
      email: null,
      email_hash: null,
      first_name: null,
      last_name: null,
      churn_reason: null,
      attributes: '{}',
    });
    expect(row.erased_at).toBe(t.clock.now());
    const messages = await messagesOf(t.engine, id);
    expect(messages.map((x) => [x.status, x.legal_basis, x.subject, x.links])).toEqual([
      ['sent', 'double_opt_in', null, '[]'],
      ['cancelled', 'double_opt_in', null, '[]'],
    ]);
    const events = await t.engine.ctx.k
      .selectFrom('events')
      .select(['type', 'user_agent'])
      .where('customer_id', '=', id)
      .execute();
    expect(events).toEqual([{ type: 'click', user_agent: null }]);
    const ledger = await t.engine.consents.history(id);
    expect(ledger.map((e) => `${e.action}:${e.source}`)).toEqual(['grant:api', 'withdraw:erasure']);
    expect(ledger[0]!.evidence).toMatchObject({ redacted: true, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(ledger[0]!.evidence.ip).toBeUndefined();
    expect(await t.engine.ctx.k.selectFrom('order_items').selectAll().execute()).toEqual([]);
    expect(
      await t.engine.ctx.k
        .selectFrom('enrollments')
        .select(['trigger_data', 'address_hash'])
        .where('customer_id', '=', id)
        .execute(),
    ).toEqual([{ trigger_data: '{}', address_hash: null }]);
    const dump =
      JSON.stringify(await t.engine.ctx.k.selectFrom('consent_requests').selectAll().execute()) + JSON.stringify(row);
    expect(dump).not.toMatch(/ida@example\.com/i);
    // Statistics stay right.
    const statsAfter = await t.engine.stats('doi-only');
    expect(statsAfter[0]).toMatchObject({
      enrolled: statsBefore[0]!.enrolled,
      sent: statsBefore[0]!.sent,
      clicked: statsBefore[0]!.clicked,
    });
    // Export and audit of the address now find nothing personal, only the suppression.
    const x = await t.engine.privacy.export('ida@example.com');
    expect(x.customers).toEqual([]);
    expect(x.suppressions).toMatchObject([{ scope: 'all', reason: 'erasure' }]);

    // The shop re-imports its customer file with the old row, consent column and all: the
    // address is not stored again, and the row is reported with the reason.
    const file = csv(
      'external_id,email,first_name,acquired_via,consent,consent_at\nida,Ida@Example.com,Ida,sale,double_opt_in,2026-01-01T00:00:00Z\n',
    );
    const again = await t.engine.import('customers', file);
    expect(again).toMatchObject({ imported: 0, rejected: [{ line: 2, reason: expect.stringMatching(/erased/) }] });
    await expect(t.engine.trigger('doi-only', 'ida')).rejects.toThrow(/not found/);
    // ... nor when the same person is created again through the library under a new id.
    expect(await t.engine.customers.upsert({ externalId: 'ida-2', email: 'ida@example.com', locale: 'en' })).toEqual(
      new Map(),
    );
    const all = JSON.stringify(await t.engine.ctx.k.selectFrom('customers').selectAll().execute());
    expect(all).not.toMatch(/ida@example\.com/i);
    expect((await t.engine.privacy.export('ida@example.com')).customers).toEqual([]);
  });

  it('forget keeps the orders a conversion counts, without their number or items', async () => {
    t = await testEngine(await url());
    const id = await history(t);
    const before = (await t.engine.stats('any-basis'))[0]!;
    const r = await t.engine.privacy.forget('hanna@example.com');
    expect(r).toMatchObject({ ordersDeleted: 2, ordersKeptAnonymised: 1 });
    const orders = await t.engine.ctx.k
      .selectFrom('orders')
      .select(['external_id', 'total_minor'])
      .where('customer_id', '=', id)
      .execute();
    expect(orders).toEqual([{ external_id: expect.stringMatching(/^erased-\d+$/), total_minor: 5000 }]);
    expect((await t.engine.stats('any-basis'))[0]).toMatchObject({
      converted: before.converted,
      revenueMinor: 5000,
      opened: before.opened,
    });
  });

  it('forget removes the outbox .eml files of the person', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-outbox-'));
    t = await testEngine(await url(), { config: { transport: { type: 'outbox', dir } } });
    // The memory transport of the test engine is replaced by the configured outbox here.
    await t.engine.close();
    const { createEngine } = await import('../../src/index.js');
    const { sequences, DEFAULT_SEQUENCES } = await import('./fixtures.js');
    const engine = await createEngine(
      { database: await url(), transport: { type: 'outbox', dir } },
      { clock: t.clock, sequences: sequences(DEFAULT_SEQUENCES) },
    );
    t = { ...t, engine };
    await addCustomer(t, 'jo', 'jo@example.com');
    await grant(t, 'jo', 'opt_in');
    await engine.trigger('any-basis', 'jo');
    await engine.runDue();
    expect(readdirSync(dir).filter((f) => f.endsWith('.eml'))).toHaveLength(1);
    const r = await engine.privacy.forget('jo@example.com');
    expect(r.outboxFilesDeleted).toBe(1);
    expect(readdirSync(dir).filter((f) => f.endsWith('.eml'))).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  });

  it('a mail to the List-Unsubscribe mailto address unsubscribes only when it comes from the recipient', async () => {
    t = await testEngine(await url(), { hold: true });
    const id = await addCustomer(t, 'lea', 'lea@example.com');
    await grant(t, 'lea', 'double_opt_in');
    await t.engine.trigger('doi-only', 'lea');
    await t.engine.runDue();
    const [m] = await messagesOf(t.engine, id);
    expect(
      await t.engine.consents.unsubscribeByMail({ from: 'mallory@example.com', subject: `unsubscribe-${m!.id}` }),
    ).toEqual({ status: 'ignored', reason: 'sender_mismatch' });
    expect(await t.engine.consents.unsubscribeByMail({ from: 'Lea <lea@example.com>', subject: 'hello' })).toEqual({
      status: 'ignored',
      reason: 'no_message_reference',
    });
    expect(
      await t.engine.consents.unsubscribeByMail({ from: 'Lea <lea@example.com>', subject: 'unsubscribe-999999' }),
    ).toEqual({ status: 'ignored', reason: 'unknown_message' });
    expect((await t.engine.consents.state('lea')).objected).toBe(false);
    expect(
      await t.engine.consents.unsubscribeByMail({ from: 'Lea <LEA@example.com>', subject: `Re: unsubscribe-${m!.id}` }),
    ).toEqual({ status: 'unsubscribed', messageId: m!.id });
    expect((await t.engine.consents.state('lea')).objected).toBe(true);
    expect((await messagesOf(t.engine, id))[0]!.status).toBe('cancelled');
    expect((await t.engine.consents.history('lea')).at(-1)).toMatchObject({
      source: 'unsubscribe',
      evidence: { via: 'mailto' },
    });
    // With the request's Message-ID, the same mail handled twice is recorded once (the sender in
    // the comment form of a From header this time).
    const request = { from: 'lea@example.com (Lea Berg)', subject: `unsubscribe-${m!.id}`, id: '<req-1@mail.example>' };
    expect(await t.engine.consents.unsubscribeByMail(request)).toEqual({ status: 'unsubscribed', messageId: m!.id });
    const entries = (await t.engine.consents.history('lea')).length;
    expect(await t.engine.consents.unsubscribeByMail(request)).toEqual({ status: 'duplicate', messageId: m!.id });
    expect(await t.engine.consents.history('lea')).toHaveLength(entries);
  });

  it('audit shows why each mail was allowed and what the policy says now', async () => {
    t = await testEngine(await url());
    const id = await history(t);
    await t.engine.consents.withdraw('hanna', { source: 'objection', evidence: { channel: 'phone' } });
    const a = await t.engine.privacy.audit('hanna@example.com');
    expect(a.customers).toHaveLength(1);
    const c = a.customers[0]!;
    expect(c).toMatchObject({ customerId: id, externalId: 'hanna', acquiredVia: 'sale', state: { objected: true } });
    expect(c.messages).toMatchObject([
      {
        status: 'sent',
        legalBasis: 'double_opt_in',
        inForceAtSend: true,
        consent: {
          action: 'grant',
          basis: 'double_opt_in',
          source: 'api',
          textVersion: 'v1',
          evidence: { ip: '192.0.2.7' },
        },
      },
    ]);
    expect(c.now).toEqual([
      { sequenceId: 'doi-only', allowed: false, reason: 'objected' },
      { sequenceId: 'any-basis', allowed: false, reason: 'objected' },
    ]);
  });
});
