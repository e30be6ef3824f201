/**
 * The two tools of the send ledger's hot path, on both dialects: queries compiled once and run
 * with new values (src/db/prepared.ts), and the group commit that lets many messages' state
 * changes share one transaction without reordering them (src/db/group-commit.ts).
 */
import { sql } from 'kysely';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEngine } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { GroupCommit } from '../../src/db/group-commit.js';
import { prepared } from '../../src/db/prepared.js';
import { MemoryTransport } from '../../src/delivery/memory.js';
import type { Engine } from '../../src/engine/engine.js';
import { dialects, sqliteUrl } from '../helpers/backends.js';
import { seedDue, sequencesDir, statusCounts } from '../worker/fixture.js';

const byEmail = prepared(['email'], (k, p) =>
  k.selectFrom('customers').select(['id', 'email']).where('email', '=', p.email),
);
const rename = prepared(['id', 'name'], (k, p) =>
  k.updateTable('customers').set({ first_name: p.name }).where('id', '=', p.id),
);

describe.each(dialects)('send ledger writes on $name', ({ url }) => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  async function start(n: number): Promise<{ e: Engine; ids: number[] }> {
    engine = await createEngine(
      { database: await url(), sequencesDir: sequencesDir() },
      { transport: new MemoryTransport(), logger: pino({ level: 'silent' }) },
    );
    return { e: engine, ids: await seedDue(engine, n) };
  }
  const names = async (e: Engine) =>
    (await e.ctx.k.selectFrom('customers').select('first_name').orderBy('id').execute()).map((r) => r.first_name);

  it('a prepared query runs with new values each time, inside and outside a transaction', async () => {
    const { e, ids } = await start(3);
    expect((await byEmail.run(e.ctx.k, { email: 'c1@example.com' })).rows).toEqual([
      { id: ids[1], email: 'c1@example.com' },
    ]);
    expect((await byEmail.run(e.ctx.k, { email: 'c2@example.com' })).rows).toEqual([
      { id: ids[2], email: 'c2@example.com' },
    ]);
    await e.ctx.k.transaction().execute(async (trx) => {
      expect(Number((await rename.run(trx, { id: ids[0], name: 'Ada' })).numAffectedRows)).toBe(1);
    });
    expect((await names(e))[0]).toBe('Ada');
    const unbound = prepared(['email', 'unused'], (k, p) =>
      k.selectFrom('customers').select('id').where('email', '=', p.email),
    );
    await expect(unbound.run(e.ctx.k, { email: 'x', unused: 1 })).rejects.toThrow(/unused are not bound/);
  });

  it('group commit: writes of one moment share a transaction, later writes never commit first, a failure fails its batch', async () => {
    const { e, ids } = await start(6);
    const gc = new GroupCommit(e.ctx.k);
    const ran: number[] = [];
    const inTransaction: boolean[] = [];
    const resolved: number[] = [];
    const write = (i: number) =>
      gc
        .run(async (k) => {
          ran.push(i);
          inTransaction.push(k.isTransaction);
          return rename.run(k, { id: ids[i], name: `n${i}` });
        })
        .then(() => resolved.push(i));
    // Three writes in one moment; two more issued while the first batch is committing.
    const first = [0, 1, 2].map(write);
    await new Promise((r) => setImmediate(r));
    const later = [3, 4].map(write);
    await Promise.all([...first, ...later]);
    expect(ran).toEqual([0, 1, 2, 3, 4]);
    expect(resolved).toEqual([0, 1, 2, 3, 4]);
    expect(inTransaction).toEqual([true, true, true, true, true]);
    expect((await names(e)).slice(0, 5)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);

    const failing = [
      gc.run((k) => rename.run(k, { id: ids[5], name: 'lost' })),
      gc.run(async () => {
        throw new Error('disk full');
      }),
    ];
    for (const p of failing) await expect(p).rejects.toThrow('disk full');
    expect((await names(e))[5]).toBe('Kim5'); // rolled back with its batch
    await gc.run((k) => rename.run(k, { id: ids[5], name: 'kept' })); // the next batch works
    expect((await names(e))[5]).toBe('kept');
  });

  it('group commit on PostgreSQL: updates of distinct rows go as one statement; two updates of one row keep a transaction', async () => {
    const { e, ids } = await start(4);
    const gc = new GroupCommit(e.ctx.k);
    const spy = vi.spyOn(e.ctx.k, 'executeQuery');
    const renames = [0, 1, 2].map((i) =>
      gc.update(rename.compile(e.ctx.k, { id: ids[i], name: `m${i}` }), `customer ${ids[i]}`),
    );
    const missing = gc.update(rename.compile(e.ctx.k, { id: -1, name: 'nobody' }), 'customer -1');
    expect(await Promise.all([...renames, missing])).toEqual([1, 1, 1, 0]);
    expect((await names(e)).slice(0, 3)).toEqual(['m0', 'm1', 'm2']);
    const statements = spy.mock.calls.map(([q]) => q.sql);
    if (e.ctx.db.dialect === 'postgres')
      expect(statements).toEqual([
        expect.stringMatching(/^with w0 as \(update .* w3 as \(update .*\$8 .*returning 1\) select/),
      ]);
    else expect(statements).toEqual([]); // SQLite: the usual transaction on the connection
    spy.mockClear();
    // The same row twice: never merged (a statement may apply only one of two updates of a row).
    const twice = [
      gc.update(rename.compile(e.ctx.k, { id: ids[3], name: 'first' }), 'row'),
      gc.update(rename.compile(e.ctx.k, { id: ids[3], name: 'second' }), 'row'),
    ];
    expect(await Promise.all(twice)).toEqual([1, 1]);
    expect((await names(e))[3]).toBe('second');
    expect(spy.mock.calls.map(([q]) => q.sql).filter((q) => q.startsWith('with w0'))).toEqual([]);
    spy.mockRestore();
  });
});

it('a mail the provider took is never sent again when recording it fails; it ends uncertain', async () => {
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 10));
  const transport = new MemoryTransport();
  const e = await createEngine(
    { database: sqliteUrl(), sequencesDir: sequencesDir(), worker: { sendingTimeoutMs: 60_000 } },
    { transport, clock, logger: pino({ level: 'silent' }) },
  );
  try {
    await seedDue(e, 1);
    // The database refuses the `sent` update (a full disk, a lost connection).
    await sql`CREATE TRIGGER refuse_sent BEFORE UPDATE OF status ON messages WHEN NEW.status = 'sent' BEGIN SELECT RAISE(ABORT, 'disk full'); END`.execute(
      e.ctx.k,
    );
    await expect(e.runDue()).rejects.toThrow('disk full');
    expect(transport.sent).toHaveLength(1);
    expect(await statusCounts(e)).toEqual({ sending: 1 }); // not back to `reserved` for a retry
    await sql`DROP TRIGGER refuse_sent`.execute(e.ctx.k);
    await e.runDue();
    clock.advance(61_000);
    await e.runDue();
    expect(await statusCounts(e)).toEqual({ uncertain: 1 });
    expect(transport.sent).toHaveLength(1);
  } finally {
    await e.close();
  }
});
