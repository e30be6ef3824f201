import { afterEach, describe, expect, it } from 'vitest';
import { HOUR, TransientSendError, type OutgoingMail } from '../../src/index.js';
import { hashEmail } from '../../src/util/email.js';
import { dialects } from '../helpers/backends.js';
import { addCustomer, grant, messagesOf, testEngine, type TestEngine } from './fixtures.js';

const tokenIn = (mail: OutgoingMail) => /\/confirm\/([A-Za-z0-9._-]+)/.exec(mail.text)![1]!;
const form = {
  source: 'newsletter_form',
  textVersion: 'newsletter-2026-01',
  ip: '198.51.100.4',
  userAgent: 'Mozilla/5.0 (Form)',
};

describe.each(dialects)('double opt-in on $name', ({ url }) => {
  let t: TestEngine | undefined;
  afterEach(async () => {
    await t?.engine.close();
    t = undefined;
  });

  it('sends a transactional confirmation mail and grants nothing until the link is confirmed; the confirm records the evidence', async () => {
    t = await testEngine(await url());
    const r = await t.engine.consents.requestOptIn({ email: ' New.Person@Example.com ', locale: 'de', ...form });
    expect(r).toMatchObject({ status: 'sent', expiresAt: t.clock.now() + 72 * HOUR });
    expect(t.transport.sent).toHaveLength(1);
    const mail = t.transport.sent[0]!;
    expect(mail.to).toBe('new.person@example.com');
    expect(mail.subject).toBe('Bitte bestätigen Sie Ihre Anmeldung bei Comeback Demo Shop');
    expect(mail.text).toContain('http://localhost:8080/confirm/');
    expect(mail.text).toContain('Musterstraße 1'); // the imprint
    expect(mail.headers['List-Unsubscribe']).toBeUndefined(); // not marketing
    expect(mail.html).not.toMatch(/\/o\/|\/c\//); // no tracking
    expect(mail.messageId).toBeLessThan(0); // never confused with a marketing message
    // Nothing granted, no customer yet.
    expect(await t.engine.ctx.k.selectFrom('customers').selectAll().execute()).toEqual([]);

    t.clock.advance(HOUR);
    const token = tokenIn(mail);
    const confirmed = await t.engine.consents.confirm(token, { ip: '203.0.113.9', userAgent: 'Mozilla/5.0 (Phone)' });
    expect(confirmed).toMatchObject({ status: 'confirmed', liftedSuppressions: [] });
    if (confirmed.status !== 'confirmed') throw new Error('not confirmed');
    const customer = (await t.engine.customers.get(confirmed.customerId))!;
    expect(customer).toMatchObject({ email: 'new.person@example.com', acquired_via: 'newsletter', locale: 'de' });
    const [entry] = await t.engine.consents.history(confirmed.customerId);
    expect(entry).toMatchObject({
      id: confirmed.consentId,
      action: 'grant',
      basis: 'double_opt_in',
      source: 'newsletter_form',
      textVersion: 'newsletter-2026-01',
      recordedAt: t.clock.now(),
      evidence: {
        requestIp: '198.51.100.4',
        requestUserAgent: 'Mozilla/5.0 (Form)',
        requestedAt: t.clock.now() - HOUR,
        confirmedAt: t.clock.now(),
        confirmIp: '203.0.113.9',
        confirmUserAgent: 'Mozilla/5.0 (Phone)',
        confirmationToken: token,
      },
    });
    // The pending request no longer holds the address.
    expect(
      await t.engine.ctx.k.selectFrom('consent_requests').select(['email', 'status', 'consent_id']).execute(),
    ).toEqual([{ email: null, status: 'confirmed', consent_id: confirmed.consentId }]);
    // Idempotent, and the new subscriber can now be enrolled.
    expect(await t.engine.consents.confirm(token)).toMatchObject({
      status: 'already_confirmed',
      consentId: confirmed.consentId,
    });
    expect((await t.engine.trigger('doi-only', confirmed.customerId)).enrollmentId).not.toBeNull();
    // Asking again for an address that is confirmed sends nothing.
    expect(await t.engine.consents.requestOptIn({ email: 'new.person@example.com', ...form })).toEqual({
      status: 'already_confirmed',
      consentId: confirmed.consentId,
    });
    expect(t.transport.sent).toHaveLength(1);
  });

  it('refuses forged, altered or foreign tokens', async () => {
    t = await testEngine(await url());
    await t.engine.consents.requestOptIn({ email: 'x@example.com', ...form });
    const token = tokenIn(t.transport.sent[0]!);
    const altered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const otherId = token.replace(/^k[0-9a-z]+/, 'k2');
    const unsubscribeToken = t.engine.ctx.signer.sign({ purpose: 'unsubscribe', id: 1 });
    for (const bad of [altered, otherId, unsubscribeToken, 'garbage', ''])
      expect(await t.engine.consents.confirm(bad)).toEqual({ status: 'invalid' });
    expect(await t.engine.ctx.k.selectFrom('consents').selectAll().execute()).toEqual([]);
  });

  it('unconfirmed requests expire and forget the address', async () => {
    t = await testEngine(await url());
    await t.engine.consents.requestOptIn({ email: 'late@example.com', ...form });
    const token = tokenIn(t.transport.sent[0]!);
    t.clock.advance(72 * HOUR);
    expect(await t.engine.consents.confirm(token)).toEqual({ status: 'expired' });
    expect(await t.engine.ctx.k.selectFrom('consent_requests').select(['email', 'status']).execute()).toEqual([
      { email: null, status: 'expired' },
    ]);
    await t.engine.consents.requestOptIn({ email: 'other@example.com', ...form });
    t.clock.advance(73 * HOUR);
    expect(await t.engine.consents.expireRequests()).toBe(1);
    expect(
      await t.engine.ctx.k.selectFrom('consent_requests').select('email').where('email', 'is not', null).execute(),
    ).toEqual([]);
    // The worker's pass expires them too.
    await t.engine.consents.requestOptIn({ email: 'third@example.com', ...form });
    t.clock.advance(73 * HOUR);
    await t.engine.runDue();
    expect(
      await t.engine.ctx.k.selectFrom('consent_requests').select('email').where('email', 'is not', null).execute(),
    ).toEqual([]);
  });

  it('takes the link lifetime and the daily limit from the consent configuration', async () => {
    t = await testEngine(await url(), { config: { consent: { optInTtlHours: 2, optInRequestsPerDay: 1 } } });
    const first = await t.engine.consents.requestOptIn({ email: 'config@example.com', ...form });
    expect(first).toMatchObject({ status: 'sent', expiresAt: t.clock.now() + 2 * HOUR });
    expect((await t.engine.consents.requestOptIn({ email: 'config@example.com', ...form })).status).toBe(
      'rate_limited',
    );
    t.clock.advance(3 * HOUR);
    expect(await t.engine.consents.confirm(tokenIn(t.transport.sent[0]!))).toMatchObject({ status: 'expired' });
  });

  it('sends at most three confirmation mails per address and day, and none to an address that complained or bounced', async () => {
    t = await testEngine(await url());
    const results = [];
    for (let i = 0; i < 4; i++)
      results.push((await t.engine.consents.requestOptIn({ email: 'victim@example.com', ...form })).status);
    expect(results).toEqual(['sent', 'sent', 'sent', 'rate_limited']);
    t.clock.advance(25 * HOUR);
    expect((await t.engine.consents.requestOptIn({ email: 'victim@example.com', ...form })).status).toBe('sent');
    await t.engine.ctx.k
      .insertInto('suppressions')
      .values({ email_hash: hashEmail('bad@example.com'), scope: 'all', reason: 'complaint', created_at: 0 })
      .execute();
    expect(await t.engine.consents.requestOptIn({ email: 'bad@example.com', ...form })).toEqual({
      status: 'blocked',
      reason: 'complaint',
    });
    expect(t.transport.sent).toHaveLength(4);
  });

  it('a known customer who unsubscribed can opt in again: the confirmed request lifts the unsubscribe suppression, with the proof in the ledger', async () => {
    t = await testEngine(await url(), { hold: true });
    const id = await addCustomer(t, 'gina', 'gina@example.com');
    await grant(t, 'gina', 'double_opt_in');
    await t.engine.trigger('doi-only', 'gina');
    await t.engine.runDue();
    const [m] = await messagesOf(t.engine, id);
    await t.engine.events.record({ messageId: m!.id, type: 'unsubscribe', source: 'one_click' });
    expect(await t.engine.trigger('doi-only', 'gina')).toEqual({ enrollmentId: null, reason: 'suppressed' });

    const r = await t.engine.consents.requestOptIn({ customer: 'gina', ...form });
    expect(r.status).toBe('sent');
    expect(t.transport.sent.at(-1)!.to).toBe('gina@example.com');
    const c = await t.engine.consents.confirm(tokenIn(t.transport.sent.at(-1)!), { ip: '203.0.113.1' });
    expect(c).toMatchObject({ status: 'confirmed', customerId: id, liftedSuppressions: ['unsubscribe'] });
    expect((await t.engine.consents.history('gina')).at(-1)!.evidence.liftedSuppressions).toMatchObject([
      { scope: 'all', reason: 'unsubscribe' },
    ]);
    expect(await t.engine.consents.state('gina')).toMatchObject({
      objected: false,
      active: [{ basis: 'double_opt_in' }],
    });
    expect((await t.engine.trigger('doi-only', 'gina')).enrollmentId).not.toBeNull();
  });

  it('a failed confirmation mail leaves no pending address behind', async () => {
    t = await testEngine(await url());
    t.transport.send = async () => {
      throw new TransientSendError('connection refused');
    };
    await expect(t.engine.consents.requestOptIn({ email: 'down@example.com', ...form })).rejects.toThrow(
      'connection refused',
    );
    expect(await t.engine.ctx.k.selectFrom('consent_requests').select(['email', 'status']).execute()).toEqual([
      { email: null, status: 'expired' },
    ]);
  });

  it('names the wrong field of a bad request', async () => {
    t = await testEngine(await url());
    await expect(
      t.engine.consents.requestOptIn({ email: 'not-an-address', source: 'api', textVersion: 'v1' }),
    ).rejects.toThrow(/email/);
    await expect(t.engine.consents.requestOptIn({ email: 'a@example.com', source: 'api' } as never)).rejects.toThrow(
      /textVersion/,
    );
  });
});
