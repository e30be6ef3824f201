import { afterEach, describe, expect, it } from 'vitest';
import { DAY } from '../../src/index.js';
import { dialects } from '../helpers/backends.js';
import { API_KEY, get, pathOf, seedMessage, startServer, type TestServer } from './helpers.js';

const CONFIG = { config: { topics: ['offers', 'news'] } };
const form = (s: TestServer, path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${s.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Phone/1.0', ...headers },
    redirect: 'manual',
  });
const api = (s: TestServer, body: unknown, key = API_KEY) =>
  fetch(`${s.url}/api/preferences`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
  });
const ledger = (s: TestServer, customerId: number) =>
  s.engine.ctx.k.selectFrom('consents').selectAll().where('customer_id', '=', customerId).orderBy('id').execute();

describe.each(dialects)('the preference page and POST /api/preferences on $name', ({ url }) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('the page: unsubscribe-all first; a choice recorded once with its evidence; bad links and bad input change nothing', async () => {
    s = await startServer({ database: await url(), ...CONFIG });
    const { messageId, customerId } = await seedMessage(s, { locale: 'de' });
    const path = pathOf(s.engine.ctx.urls.preferences(messageId));
    const page = await get(s, path);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<html lang="de">');
    expect(html.indexOf('value="unsubscribe"')).toBeLessThan(html.indexOf('value="snooze"'));
    expect(html).toContain('Angebote und Rabatte');
    const before = await ledger(s, customerId);

    // Forged, altered, expired: the generic page, nothing changes.
    for (const bad of [
      path.slice(0, -2) + (path.endsWith('AA') ? 'BB' : 'AA'),
      pathOf(s.engine.ctx.urls.unsubscribe(messageId)).replace('/u/', '/p/'),
    ]) {
      expect((await get(s, bad)).status).toBe(404);
      expect((await form(s, bad, 'choice=snooze&days=90')).status).toBe(404);
    }
    const old = await seedMessage(s, { sentAgoMs: 401 * DAY });
    expect((await form(s, pathOf(s.engine.ctx.urls.preferences(old.messageId)), 'choice=snooze&days=90')).status).toBe(
      404,
    );
    // A snooze length not offered, an unknown topic, another site's form: refused.
    expect((await form(s, path, 'choice=snooze&days=45')).status).toBe(400);
    expect((await form(s, path, 'choice=topics&topic=secret')).status).toBe(400);
    expect((await form(s, path, 'choice=snooze&days=90', { origin: 'https://evil.example' })).status).toBe(403);
    expect(await ledger(s, customerId)).toEqual(before);

    const saved = await form(s, path, 'choice=snooze&days=90');
    expect(saved.status).toBe(200);
    expect(await saved.text()).toContain('role="status"');
    expect((await form(s, path, 'choice=snooze&days=90')).status).toBe(200);
    const entries = (await ledger(s, customerId)).filter((r) => r.action === 'preference');
    expect(entries).toHaveLength(1);
    const evidence = JSON.parse(entries[0]!.evidence) as Record<string, unknown>;
    expect(evidence).toMatchObject({ choice: { snooze: 90 }, via: 'page', messageId, until: s.clock.now() + 90 * DAY });
    expect(evidence.ipHash).toMatch(/^[0-9a-f]{64}$/);
    expect(evidence.userAgentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(evidence)).not.toContain('127.0.0.1');

    // Topics: unchecking "news" opts out of it only.
    await form(s, path, 'choice=topics&topic=offers');
    expect((await s.engine.preferences.get(customerId)).topicsOut).toEqual(['news']);
    await form(s, path, 'choice=language&locale=en');
    expect((await s.engine.customers.get(customerId))!.locale).toBe('en');

    // Unsubscribe from everything: an objection with the same evidence.
    const out = await form(s, path, 'choice=unsubscribe');
    expect(out.status).toBe(200);
    await s.flush();
    expect((await s.engine.consents.state(customerId)).objected).toBe(true);
    const withdrawal = (await ledger(s, customerId)).find((r) => r.action === 'withdraw')!;
    expect(JSON.parse(withdrawal.evidence)).toMatchObject({
      messageId,
      via: 'preference_page',
      ipHash: evidence.ipHash,
      userAgentHash: evidence.userAgentHash,
    });

    // Erased since: the generic page.
    await s.engine.privacy.forget((await s.engine.customers.get(customerId))!.email!);
    expect((await get(s, path)).status).toBe(404);
  });

  it('the RFC 8058 one-click POST stays a full unsubscribe, now with the keyed hashes as evidence', async () => {
    s = await startServer({ database: await url(), ...CONFIG });
    const { messageId, customerId } = await seedMessage(s);
    const r = await form(s, pathOf(s.engine.ctx.urls.unsubscribe(messageId)), 'List-Unsubscribe=One-Click');
    expect(r.status).toBe(200);
    await s.flush();
    const w = (await ledger(s, customerId)).find((e) => e.action === 'withdraw')!;
    expect(JSON.parse(w.evidence)).toMatchObject({
      messageId,
      via: 'one_click',
      ipHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      userAgentHash: expect.any(String),
    });
  });

  it('the API: the same choices, recorded once; 400 for a bad choice, 404 for an unknown customer, 401 without the key', async () => {
    s = await startServer({ database: await url(), ...CONFIG });
    const { customerId } = await seedMessage(s);
    const external = (await s.engine.customers.get(customerId))!.external_id;
    const first = await api(s, { customer: external, snooze: 180 });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({
      recorded: true,
      preferences: { snoozedUntil: s.clock.now() + 180 * DAY },
    });
    expect(await (await api(s, { customer: external, snooze: 180 })).json()).toMatchObject({ recorded: false });
    // Posted five times at once (a double click, a retrying client): recorded once.
    const burst = await Promise.all(
      Array.from({ length: 5 }, () =>
        api(s!, { customer: external, frequency: 'monthly' }).then((r) => r.json() as Promise<{ recorded: boolean }>),
      ),
    );
    expect(burst.filter((b) => b.recorded)).toHaveLength(1);
    expect((await api(s, { customer: customerId, topic: 'offers', subscribed: false })).status).toBe(200);
    expect((await api(s, { customer: external, locale: 'de' })).status).toBe(200);
    for (const bad of [
      { snooze: 45 },
      { topic: 'secret', subscribed: false },
      { frequency: 'daily' },
      { locale: 'fr' },
      {},
    ]) {
      expect((await api(s, { customer: external, ...bad })).status).toBe(400);
    }
    expect((await api(s, { customer: 'nobody', snooze: 30 })).status).toBe(404);
    expect((await api(s, { customer: external, snooze: 30 }, 'wrong-key-0123456789')).status).toBe(401);
    const got = await fetch(`${s.url}/api/preferences/${encodeURIComponent(external)}`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(await got.json()).toMatchObject({
      frequency: 'monthly',
      topicsOut: ['offers'],
      locale: 'de',
      snoozedUntil: s.clock.now() + 180 * DAY,
    });
    const prefs = (await ledger(s, customerId)).filter((r) => r.action === 'preference');
    expect(prefs.map((r) => JSON.parse(r.evidence).via)).toEqual(['api', 'api', 'api', 'api']);
  });
});
