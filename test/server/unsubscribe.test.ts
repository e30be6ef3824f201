import { afterEach, describe, expect, it } from 'vitest';
import { dialects } from '../helpers/backends.js';
import { events, get, seedMessage, startServer, UA, type TestServer } from './helpers.js';

async function state(s: TestServer, customerId: number) {
  const k = s.engine.ctx.k;
  const c = await k.selectFrom('customers').select('email_hash').where('id', '=', customerId).executeTakeFirstOrThrow();
  const suppressions = await k
    .selectFrom('suppressions')
    .select(['scope', 'reason'])
    .where('email_hash', '=', c.email_hash!)
    .execute();
  const consent = await s.engine.consents.state(customerId);
  return { suppressions, consent };
}

function post(
  s: TestServer,
  path: string,
  body: string,
  contentType = 'application/x-www-form-urlencoded',
): Promise<Response> {
  return fetch(`${s.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': contentType },
    redirect: 'manual',
  });
}

describe.each(dialects)('unsubscribe over HTTP on $name', ({ url }) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('GET shows a page with a confirm button and changes nothing', async () => {
    s = await startServer({ database: await url() });
    const { messageId, customerId } = await seedMessage(s, { locale: 'de' });
    const before = await state(s, customerId);
    const path = new URL(s.engine.ctx.urls.unsubscribe(messageId)).pathname;
    for (const ua of [UA.chromeMac, 'Mimecast URL Protect', '']) {
      const res = await get(s, path, { 'user-agent': ua });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('<form method="post">');
      expect(html).toContain('Abmelden');
      expect(html).toContain('name="reason"');
    }
    expect((await get(s, path, {}, 'HEAD')).status).toBe(200);
    await s.flush();
    expect(await events(s)).toHaveLength(0);
    expect(await state(s, customerId)).toEqual(before);
  });

  it('POST List-Unsubscribe=One-Click unsubscribes without cookie or redirect and answers 200', async () => {
    s = await startServer({ database: await url() });
    const { messageId, customerId } = await seedMessage(s);
    expect((await state(s, customerId)).suppressions).toEqual([]);
    const res = await post(s, new URL(s.engine.ctx.urls.unsubscribe(messageId)).pathname, 'List-Unsubscribe=One-Click');
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
    const after = await state(s, customerId);
    expect(after.suppressions).toEqual([{ scope: 'all', reason: 'unsubscribe' }]);
    expect(after.consent.active).toEqual([]);
    const rows = await events(s);
    expect(rows.map((e) => [e.type, e.source, JSON.parse(e.detail).scope])).toEqual([
      ['unsubscribe', 'one_click', 'all'],
    ]);
  });

  it('accepts the one-click body as multipart/form-data too', async () => {
    s = await startServer({ database: await url() });
    const { messageId, customerId } = await seedMessage(s);
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const res = await fetch(`${s.url}${new URL(s.engine.ctx.urls.unsubscribe(messageId)).pathname}`, {
      method: 'POST',
      body: form,
      redirect: 'manual',
    });
    expect(res.status).toBe(200);
    expect((await state(s, customerId)).suppressions).toEqual([{ scope: 'all', reason: 'unsubscribe' }]);
  });

  it('the page form unsubscribes from one sequence only, with the reason given', async () => {
    s = await startServer({ database: await url() });
    const { messageId, customerId } = await seedMessage(s);
    const res = await post(
      s,
      new URL(s.engine.ctx.urls.unsubscribe(messageId)).pathname,
      'confirm=1&scope=sequence&reason=too_many',
    );
    expect(res.status).toBe(200);
    expect((await state(s, customerId)).suppressions).toEqual([{ scope: 'winback-lapsed', reason: 'unsubscribe' }]);
    const [e] = await events(s);
    // The keyed hashes of IP and user agent are kept as evidence, never the values.
    expect(JSON.parse(e!.detail)).toEqual({
      scope: 'winback-lapsed',
      reason: 'too_many',
      evidence: {
        via: 'page',
        ipHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        userAgentHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
    expect(e!.source).toBe('page');
  });

  it('POST with a forged or altered token → 4xx and nothing changes; a POST without the one-click body → 400', async () => {
    s = await startServer({ database: await url() });
    const { messageId, customerId } = await seedMessage(s);
    const good = s.engine.ctx.signer.sign({ purpose: 'unsubscribe', id: messageId });
    const altered = good.slice(0, -2) + (good.endsWith('AA') ? 'BB' : 'AA');
    const otherMessage = good.replace(/^u[0-9a-z]+/, `u${(messageId + 1).toString(36)}`);
    const wrongPurpose = s.engine.ctx.signer.sign({ purpose: 'open', id: messageId });
    for (const token of [altered, otherMessage, wrongPurpose, 'nonsense']) {
      const res = await post(s, `/u/${token}`, 'List-Unsubscribe=One-Click');
      expect(res.status, token).toBeGreaterThanOrEqual(400);
      expect(res.status, token).toBeLessThan(500);
    }
    expect((await post(s, `/u/${good}`, 'something=else')).status).toBe(400);
    expect(await events(s)).toHaveLength(0);
    expect((await state(s, customerId)).suppressions).toEqual([]);
  });
});
