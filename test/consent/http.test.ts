import { afterEach, describe, expect, it } from 'vitest';
import { HOUR } from '../../src/index.js';
import { dialects } from '../helpers/backends.js';
import { get, pathOf, seedMessage, startServer, type TestServer } from '../server/helpers.js';

/** Everything consent-related in the database, to show that a request changed nothing. */
async function snapshot(s: TestServer) {
  const k = s.engine.ctx.k;
  return {
    consents: await k.selectFrom('consents').selectAll().orderBy('id').execute(),
    suppressions: await k.selectFrom('suppressions').selectAll().orderBy('id').execute(),
    messages: await k.selectFrom('messages').select(['id', 'status', 'error']).orderBy('id').execute(),
    enrollments: await k.selectFrom('enrollments').select(['id', 'status']).orderBy('id').execute(),
    requests: await k.selectFrom('consent_requests').selectAll().orderBy('id').execute(),
  };
}

/** A sent message plus the next step already reserved for the same enrolment. */
async function seedWithReserved(s: TestServer) {
  const seeded = await seedMessage(s);
  const now = s.clock.now();
  await s.engine.ctx.k
    .insertInto('messages')
    .values({
      enrollment_id: seeded.enrollmentId,
      customer_id: seeded.customerId,
      sequence_id: 'winback-lapsed',
      step_id: 'offer',
      template: 'winback/offer',
      status: 'reserved',
      legal_basis: 'double_opt_in',
      due_at: now,
      reserved_at: now,
      updated_at: now,
    })
    .execute();
  return seeded;
}

const post = (s: TestServer, path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${s.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    redirect: 'manual',
  });

describe.each(dialects)('opt-out and opt-in over HTTP on $name', ({ url }) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('GET on the unsubscribe URL shows a confirm page and changes nothing', async () => {
    s = await startServer({ database: await url() });
    const { messageId } = await seedWithReserved(s);
    const before = await snapshot(s);
    for (const ua of ['Mozilla/5.0 (Windows NT 10.0) Chrome/126', 'Mimecast URL scanner', '']) {
      const r = await get(s, pathOf(s.engine.ctx.urls.unsubscribe(messageId)), ua ? { 'user-agent': ua } : {});
      expect(r.status).toBe(200);
      expect(await r.text()).toMatch(/<form method="post">[\s\S]*<button type="submit">/);
      await s.flush();
    }
    const head = await get(s, pathOf(s.engine.ctx.urls.unsubscribe(messageId)), {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(await snapshot(s)).toEqual(before);
  });

  it('POST with a forged or altered token → 4xx and nothing changes', async () => {
    s = await startServer({ database: await url() });
    const { messageId } = await seedWithReserved(s);
    const token = pathOf(s.engine.ctx.urls.unsubscribe(messageId)).slice(3);
    const before = await snapshot(s);
    const forged = [
      token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA'), // altered signature
      token.replace(/^u[0-9a-z]+/, `u${(messageId + 1).toString(36)}`), // another message id, same signature
      s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index: 0 }), // a click token
      'u1.AAAAAAAAAAAAAAAAAAAAAA',
      'nonsense',
    ];
    for (const bad of forged) {
      const r = await post(s, `/u/${bad}`, 'List-Unsubscribe=One-Click');
      expect(r.status, bad).toBeGreaterThanOrEqual(400);
      expect(r.status, bad).toBeLessThan(500);
    }
    await s.flush();
    expect(await snapshot(s)).toEqual(before);
  });

  it('POST List-Unsubscribe=One-Click works without cookies, answers 200 without redirect, and stops the reserved mail at once', async () => {
    s = await startServer({ database: await url() });
    const { messageId, customerId } = await seedWithReserved(s);
    const r = await post(s, pathOf(s.engine.ctx.urls.unsubscribe(messageId)), 'List-Unsubscribe=One-Click');
    expect(r.status).toBe(200);
    expect(r.headers.get('location')).toBeNull();
    expect(r.headers.get('set-cookie')).toBeNull();
    const after = await snapshot(s);
    expect(after.suppressions).toMatchObject([{ scope: 'all', reason: 'unsubscribe' }]);
    expect(after.consents.at(-1)).toMatchObject({
      customer_id: customerId,
      action: 'withdraw',
      basis: null,
      source: 'unsubscribe',
    });
    expect(after.messages.map((m) => m.status)).toEqual(['sent', 'cancelled']);
    expect(after.enrollments.map((e) => e.status)).toEqual(['exited']);
    expect(s.transport.sent).toHaveLength(0);
    // Again: still 200, nothing new suppressed.
    expect((await post(s, pathOf(s.engine.ctx.urls.unsubscribe(messageId)), 'List-Unsubscribe=One-Click')).status).toBe(
      200,
    );
    expect((await snapshot(s)).suppressions).toHaveLength(1);
  });

  it('the unsubscribe page can leave one series only; other series keep mailing', async () => {
    s = await startServer({ database: await url() });
    const { messageId, customerId } = await seedWithReserved(s);
    const r = await post(
      s,
      pathOf(s.engine.ctx.urls.unsubscribe(messageId)),
      'confirm=1&scope=sequence&reason=too_many',
    );
    expect(r.status).toBe(200);
    const after = await snapshot(s);
    expect(after.suppressions).toMatchObject([{ scope: 'winback-lapsed', reason: 'unsubscribe' }]);
    expect(after.messages.map((m) => m.status)).toEqual(['sent', 'cancelled']);
    expect((await s.engine.consents.state(customerId)).objected).toBe(false);
  });

  it('double opt-in confirm link: GET shows a button and records nothing; POST records IP and user agent; forged → 404; expired → 410', async () => {
    s = await startServer({ database: await url() });
    await s.engine.consents.requestOptIn({
      email: 'new@example.com',
      source: 'newsletter_form',
      textVersion: 'nl-1',
      ip: '198.51.100.4',
      locale: 'de',
    });
    const link = /http:\/\/track\.test(\/confirm\/\S+)/.exec(s.transport.sent[0]!.text)![1]!;
    const before = await snapshot(s);
    const page = await get(s, link, { 'user-agent': 'Mimecast URL scanner' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Ja, ich möchte E-Mails erhalten');
    expect(await snapshot(s)).toEqual(before);

    expect((await post(s, link.slice(0, -1) + (link.endsWith('A') ? 'B' : 'A'), 'confirm=1')).status).toBe(404);
    expect((await post(s, link, '')).status).toBe(400);
    expect(await snapshot(s)).toEqual(before);

    const ok = await post(s, link, 'confirm=1', { 'user-agent': 'Mozilla/5.0 (iPhone)' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('location')).toBeNull();
    const [grant] = (await snapshot(s)).consents;
    expect(grant).toMatchObject({
      action: 'grant',
      basis: 'double_opt_in',
      source: 'newsletter_form',
      text_version: 'nl-1',
    });
    expect(JSON.parse(grant!.evidence)).toMatchObject({
      requestIp: '198.51.100.4',
      confirmIp: '127.0.0.1',
      confirmUserAgent: 'Mozilla/5.0 (iPhone)',
      confirmationToken: link.slice('/confirm/'.length),
    });
    expect((await post(s, link, 'confirm=1')).status).toBe(200); // idempotent
    expect((await snapshot(s)).consents).toHaveLength(1);

    await s.engine.consents.requestOptIn({ email: 'slow@example.com', source: 'newsletter_form', textVersion: 'nl-1' });
    const late = /http:\/\/track\.test(\/confirm\/\S+)/.exec(s.transport.sent[1]!.text)![1]!;
    s.clock.advance(73 * HOUR);
    expect((await get(s, late)).status).toBe(410);
    expect((await post(s, late, 'confirm=1')).status).toBe(410);
    expect((await snapshot(s)).consents).toHaveLength(1);
  });
});
