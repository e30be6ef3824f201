/**
 * Erasure is not undone by the next write: the HTTP API refuses to store an erased address again,
 * like the import, the library (test/consent/privacy.test.ts) and the shop connectors
 * (test/integrations/shop-webhooks.test.ts) — one rule in `upsertCustomerRows`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { API_KEY, startServer, type TestServer } from '../server/helpers.js';

describe('an erased address through the HTTP API', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('is not stored again, and the caller is told which records were skipped', async () => {
    s = await startServer();
    const post = (body: unknown) =>
      fetch(`${s!.url}/api/customers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ externalId: 'eva', email: 'eva@example.com' })).status).toBe(200);
    await s.engine.privacy.forget('eva@example.com');

    const res = await post([
      { externalId: 'eva', email: 'Eva@Example.com', firstName: 'Eva' },
      { externalId: 'otto', email: 'otto@example.com' },
    ]);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { customers: Record<string, number>; erased: string[] };
    expect(Object.keys(body.customers)).toEqual(['otto']);
    expect(body.erased).toEqual(['eva']);
    const rows = await s.engine.ctx.k.selectFrom('customers').select(['external_id', 'email']).execute();
    expect(JSON.stringify(rows)).not.toMatch(/eva@example\.com/i);
  });
});
