import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DAY } from '../../src/index.js';
import { hashEmail } from '../../src/util/email.js';
import { suppress } from '../../src/consent/index.js';
import { Ledger } from '../../src/engine/ledger.js';
import { dialects } from '../helpers/backends.js';
import { addCustomer, grant, messagesOf, testEngine, type TestEngine } from './fixtures.js';

describe.each(dialects)('consent enforcement on $name', ({ url }) => {
  let t: TestEngine | undefined;
  afterEach(async () => {
    await t?.engine.close();
    t = undefined;
  });

  it('no consent → never enrolled, and never mailed', async () => {
    t = await testEngine(await url());
    await addCustomer(t, 'nobody', 'nobody@example.com');
    await addCustomer(t, 'form', 'form@example.com', 'newsletter');
    await grant(t, 'form', 'existing_customer'); // not from a sale: the exception does not hold
    await addCustomer(t, 'optin', 'optin@example.com');
    await grant(t, 'optin', 'opt_in');
    expect(await t.engine.trigger('any-basis', 'nobody')).toEqual({ enrollmentId: null, reason: 'no_consent' });
    expect(await t.engine.trigger('any-basis', 'form')).toEqual({
      enrollmentId: null,
      reason: 'existing_customer_conditions',
    });
    expect(await t.engine.trigger('doi-only', 'optin')).toEqual({ enrollmentId: null, reason: 'basis_not_accepted' });
    await t.engine.runDue();
    expect(t.transport.sent).toHaveLength(0);
    expect(await t.engine.ctx.k.selectFrom('enrollments').selectAll().execute()).toEqual([]);
  });

  it('withdrawn consent → reserved messages cancelled at once and the enrolment ends', async () => {
    t = await testEngine(await url(), { hold: true });
    const id = await addCustomer(t, 'anna', 'anna@example.com');
    await grant(t, 'anna', 'double_opt_in');
    expect((await t.engine.trigger('doi-only', 'anna')).enrollmentId).not.toBeNull();
    await t.engine.runDue();
    expect((await messagesOf(t.engine, id)).map((m) => m.status)).toEqual(['reserved']);

    const r = await t.engine.consents.withdraw('anna', {
      basis: 'double_opt_in',
      source: 'api',
      evidence: { via: 'account settings' },
    });
    expect(r).toMatchObject({ cancelled: 1, exited: 1 });
    const [m] = await messagesOf(t.engine, id);
    expect(m).toMatchObject({ status: 'cancelled', error: 'consent: no_consent' });
    const enrollment = await t.engine.ctx.k.selectFrom('enrollments').selectAll().executeTakeFirstOrThrow();
    expect(enrollment).toMatchObject({ status: 'exited', exit_reason: 'no_consent' });
    expect(await t.engine.sendMessage(m!.id)).toBe('lost_claim');
    t.clock.advance(8 * DAY);
    await t.engine.runDue();
    expect(t.transport.sent).toHaveLength(0);
    expect(await messagesOf(t.engine, id)).toHaveLength(1);
    // The ledger keeps both entries: history is never rewritten.
    expect((await t.engine.consents.history('anna')).map((h) => `${h.action}:${h.basis}`)).toEqual([
      'grant:double_opt_in',
      'withdraw:double_opt_in',
    ]);
  });

  it('an objection imported from CSV cancels reserved messages at once; importing the file again changes nothing', async () => {
    t = await testEngine(await url(), { hold: true });
    const id = await addCustomer(t, 'olga', 'olga@example.com');
    await grant(t, 'olga', 'double_opt_in');
    await t.engine.trigger('doi-only', 'olga');
    await t.engine.runDue();
    expect((await messagesOf(t.engine, id)).map((m) => m.status)).toEqual(['reserved']);
    const dir = mkdtempSync(join(tmpdir(), 'comeback-objection-'));
    const file = join(dir, 'customers.csv');
    writeFileSync(file, 'external_id,email,objected_at\nolga,olga@example.com,2026-06-01T10:30:00Z\n');
    const first = await t.engine.import('customers', file);
    expect(first.objected).toEqual([id]);
    expect(await messagesOf(t.engine, id)).toMatchObject([{ status: 'cancelled', error: 'consent: objected' }]);
    expect((await t.engine.import('customers', file)).objected).toEqual([]);
    expect(await t.engine.sendMessage((await messagesOf(t.engine, id))[0]!.id)).toBe('lost_claim');
    expect(t.transport.sent).toHaveLength(0);
  });

  it('withdrawal through engine.consents.record also cancels; a remaining basis the sequence accepts keeps the mail', async () => {
    t = await testEngine(await url(), { hold: true });
    const id = await addCustomer(t, 'ben', 'ben@example.com');
    await grant(t, 'ben', 'double_opt_in');
    await grant(t, 'ben', 'existing_customer');
    await t.engine.trigger('any-basis', 'ben');
    await t.engine.trigger('doi-only', 'ben');
    await t.engine.runDue();
    await t.engine.consents.record({ customer: 'ben', action: 'withdraw', basis: 'double_opt_in', source: 'api' });
    const byseq = Object.fromEntries((await messagesOf(t.engine, id)).map((m) => [m.sequence_id, m.status]));
    expect(byseq).toEqual({ 'any-basis': 'reserved', 'doi-only': 'cancelled' });
    const kept = (await messagesOf(t.engine, id)).find((m) => m.sequence_id === 'any-basis')!;
    const existing = (await t.engine.consents.state('ben')).active.find((a) => a.basis === 'existing_customer')!;
    expect(kept).toMatchObject({ legal_basis: 'existing_customer', consent_id: existing.consentId }); // re-bound to the basis that still holds
    expect(await t.engine.sendMessage(kept.id)).toBe('sent');
    expect(t.transport.sent).toHaveLength(1);
  });

  it('unsubscribe between reservation and send → not sent (the opt-out cancels, and the sender checks again)', async () => {
    t = await testEngine(await url(), { hold: true });
    const id = await addCustomer(t, 'cleo', 'cleo@example.com');
    await grant(t, 'cleo', 'double_opt_in');
    await t.engine.trigger('doi-only', 'cleo');
    await t.engine.runDue();
    const [reserved] = await messagesOf(t.engine, id);
    expect(t.backend!.held).toEqual([reserved!.id]);
    // An earlier message of this customer carries the unsubscribe link; here the reserved one stands in.
    await t.engine.events.record({ messageId: reserved!.id, type: 'unsubscribe', source: 'one_click' });
    expect(await t.engine.sendMessage(reserved!.id)).toBe('lost_claim');
    expect((await messagesOf(t.engine, id))[0]).toMatchObject({ status: 'cancelled', sent_at: null });
    expect(t.transport.sent).toHaveLength(0);
  });

  it('unsubscribe after a worker claimed the message but before it rendered and sent → not sent', async () => {
    t = await testEngine(await url(), { hold: true });
    const id = await addCustomer(t, 'cora', 'cora@example.com');
    await grant(t, 'cora', 'double_opt_in');
    await t.engine.trigger('doi-only', 'cora');
    await t.engine.runDue();
    const [reserved] = await messagesOf(t.engine, id);
    const claimed = await new Ledger(t.engine.ctx).claim(reserved!.id);
    expect(['claimed', 'sending']).toContain(claimed?.status);
    await t.engine.events.record({ messageId: reserved!.id, type: 'unsubscribe', source: 'one_click' });
    expect(await t.engine.sending.sendClaimed(claimed!)).toBe('cancelled');
    expect((await messagesOf(t.engine, id))[0]).toMatchObject({
      status: 'cancelled',
      error: expect.stringMatching(/suppressed/),
      sent_at: null,
    });
    expect(t.transport.sent).toHaveLength(0);
  });

  it('a suppression that bypasses the cancelling (e.g. written by another process) is still caught by the check right before the send', async () => {
    t = await testEngine(await url(), { hold: true });
    const id = await addCustomer(t, 'dora', 'dora@example.com');
    await grant(t, 'dora', 'double_opt_in');
    await t.engine.trigger('doi-only', 'dora');
    await t.engine.runDue();
    const [reserved] = await messagesOf(t.engine, id);
    await suppress(t.engine.ctx.k, hashEmail('DORA@example.com '), 'complaint', t.clock.now());
    expect(await t.engine.sendMessage(reserved!.id)).toBe('cancelled');
    expect((await messagesOf(t.engine, id))[0]).toMatchObject({ status: 'cancelled', error: 'suppressed' });
    expect(t.transport.sent).toHaveLength(0);
  });

  it('unsubscribe from one sequence stops that sequence only; a complaint stops everything and is recorded as an objection', async () => {
    t = await testEngine(await url(), { hold: true });
    const id = await addCustomer(t, 'emil', 'emil@example.com');
    await grant(t, 'emil', 'double_opt_in');
    await t.engine.trigger('doi-only', 'emil');
    await t.engine.trigger('any-basis', 'emil');
    await t.engine.runDue();
    const doi = (await messagesOf(t.engine, id)).find((m) => m.sequence_id === 'doi-only')!;
    await t.engine.events.record({
      messageId: doi.id,
      type: 'unsubscribe',
      source: 'page',
      detail: { scope: 'doi-only' },
    });
    expect(Object.fromEntries((await messagesOf(t.engine, id)).map((m) => [m.sequence_id, m.status]))).toEqual({
      'doi-only': 'cancelled',
      'any-basis': 'reserved',
    });
    expect((await t.engine.consents.state('emil')).objected).toBe(false);

    const other = (await messagesOf(t.engine, id)).find((m) => m.sequence_id === 'any-basis')!;
    await t.engine.events.record({
      messageId: other.id,
      type: 'complaint',
      source: 'sendgrid',
      providerEventId: 'evt-1',
    });
    expect((await messagesOf(t.engine, id)).every((m) => m.status === 'cancelled')).toBe(true);
    expect((await t.engine.consents.state('emil')).objected).toBe(true);
    expect((await t.engine.consents.history('emil')).at(-1)).toMatchObject({
      action: 'withdraw',
      basis: null,
      source: 'complaint',
    });
  });

  it('every sent message stores the legal basis and the ledger entry it was sent under', async () => {
    t = await testEngine(await url());
    const id = await addCustomer(t, 'finn', 'finn@example.com');
    const consentId = await grant(t, 'finn', 'existing_customer');
    await t.engine.trigger('any-basis', 'finn');
    await t.engine.runDue();
    expect(await messagesOf(t.engine, id)).toMatchObject([
      { status: 'sent', legal_basis: 'existing_customer', consent_id: consentId },
    ]);
    const mail = t.transport.sent[0]!;
    expect(mail.headers['List-Unsubscribe']).toMatch(/^<https?:\/\/[^>]+\/u\/[^>]+>, <mailto:[^>]+>$/);
    expect(mail.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(mail.html).toContain('/u/'); // the visible unsubscribe link in the body
    expect(mail.text).toMatch(/object to the use of your email address/); // the notice of the right to object
  });
});
