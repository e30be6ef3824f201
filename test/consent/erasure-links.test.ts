/**
 * After erasure the person's old links record nothing personal: a click still redirects (or finds
 * nothing) but stores no event, the pixel stores no open, the web view answers 410. On SQLite the
 * address and name are gone from the database file and its write-ahead log (secure_delete and a
 * truncated log); on PostgreSQL `forget` says what the database still needs (VACUUM, WAL).
 */
import { readFileSync, existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli.js';
import { dialects, postgresUrl, sqliteUrl } from '../helpers/backends.js';
import { events, get, pathOf, seedMessage, startServer, UA, type TestServer } from '../server/helpers.js';

/** Every byte SQLite keeps for the database: the file and its write-ahead log. */
function sqliteBytes(file: string): string {
  return [file, `${file}-wal`]
    .filter(existsSync)
    .map((f) => readFileSync(f).toString('latin1'))
    .join('');
}

describe.each(dialects)('links after erasure on $name', ({ name, url }) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('a click redirects without recording, the pixel records nothing, the web view is gone', async () => {
    s = await startServer({ database: await url() });
    const email = `erase-me-${name}-zq7@example.com`;
    const { messageId } = await seedMessage(s, { email });
    const click = pathOf(s.engine.ctx.urls.click(messageId, 0));
    const open = pathOf(s.engine.ctx.urls.open(messageId));
    // Before: the click is recorded (and the message is now in the server's cache).
    expect((await get(s, click, { 'user-agent': UA.chromeMac })).status).toBe(307);
    await s.flush();
    expect(await events(s)).toHaveLength(1);

    const r = await s.engine.privacy.forget(email);
    expect(r.customers).toBe(1);
    expect(r.storage).toBe(name === 'sqlite' ? 'done' : 'vacuum');
    for (let i = 0; i < 3; i++) {
      expect([307, 404]).toContain((await get(s, click, { 'user-agent': UA.chromeMac })).status);
      expect((await get(s, open, { 'user-agent': UA.chromeMac })).status).toBe(200);
    }
    expect((await get(s, pathOf(s.engine.ctx.urls.view(messageId)), { 'user-agent': UA.chromeMac })).status).toBe(410);
    await s.flush();
    const after = await events(s);
    expect(after).toHaveLength(1);
    expect(after[0]!.user_agent).toBeNull();
  });
});

describe('comeback forget and the disk', () => {
  it('SQLite: address and name are gone from the file and the write-ahead log', async () => {
    const db = sqliteUrl();
    const s = await startServer({ database: db });
    try {
      const email = 'gone-from-disk-x81@example.com';
      await seedMessage(s, { email });
      const [c] = await s.engine.ctx.k
        .selectFrom('customers')
        .select('external_id')
        .where('email', '=', email)
        .execute();
      await s.engine.customers.upsert({ externalId: c!.external_id, lastName: 'Zebulonqxname' });
      expect(sqliteBytes(db)).toContain('gone-from-disk-x81');
      expect(sqliteBytes(db)).toContain('Zebulonqxname');
      const out = await runCliInProcess(['--db', db, 'forget', email, '--yes']);
      expect(out.out).toContain('erased 1 customer record(s)');
      expect(out.out).not.toContain('VACUUM');
      expect(sqliteBytes(db)).not.toContain('gone-from-disk-x81');
      expect(sqliteBytes(db)).not.toContain('Zebulonqxname');
    } finally {
      await s.close();
    }
  });

  it('PostgreSQL: forget prints what the database needs for the erasure to reach the disk', async () => {
    const db = await postgresUrl();
    const s = await startServer({ database: db });
    try {
      const email = 'pg-forget-v3@example.com';
      await seedMessage(s, { email });
      const out = await runCliInProcess(['--db', db, 'forget', email, '--yes']);
      expect(out.out).toContain('erased 1 customer record(s)');
      expect(out.out).toContain('VACUUM');
      expect(out.out).toContain('write-ahead log');
    } finally {
      await s.close();
    }
  });
});
