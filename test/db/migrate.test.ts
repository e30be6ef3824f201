import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { migrateToLatest, openDatabase, type Db } from '../../src/db/index.js';
import { PARK_OFFSET } from '../../src/engine/sequence-state.js';
import pg from 'pg';
import { dialects, PG_URL, postgresUrl } from '../helpers/backends.js';

describe.each(dialects)('database on $name', ({ url }) => {
  let db: Db | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('migrates and refuses a second message for the same (enrollment, step)', async () => {
    db = await openDatabase(await url());
    const applied = await migrateToLatest(db);
    expect(applied).toContain('001_initial');
    expect(await migrateToLatest(db)).toEqual([]); // idempotent
    const k = db.kysely;
    const now = Date.now();
    const c = await k
      .insertInto('customers')
      .values({
        external_id: 'c1',
        email: 'a@example.com',
        locale: 'en',
        time_zone: 'UTC',
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const e = await k
      .insertInto('enrollments')
      .values({ customer_id: c.id, sequence_id: 's', sequence_version: 1, status: 'active', enrolled_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    const message = {
      enrollment_id: e.id,
      customer_id: c.id,
      sequence_id: 's',
      step_id: 'first',
      template: 't',
      status: 'reserved',
      due_at: now,
      reserved_at: now,
      updated_at: now,
    };
    await k.insertInto('messages').values(message).execute();
    await expect(k.insertInto('messages').values(message).execute()).rejects.toThrow(/unique|UNIQUE/);
    const count = await k
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
    // bigint timestamps come back as numbers on both dialects
    const row = await k.selectFrom('messages').selectAll().executeTakeFirstOrThrow();
    expect(row.due_at).toBe(now);
  });

  it('allows only one active enrolment per customer and sequence', async () => {
    db = await openDatabase(await url());
    await migrateToLatest(db);
    const k = db.kysely;
    const now = Date.now();
    const c = await k
      .insertInto('customers')
      .values({ external_id: 'c1', locale: 'en', time_zone: 'UTC', created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    const e = { customer_id: c.id, sequence_id: 's', sequence_version: 1, status: 'active', enrolled_at: now };
    await k.insertInto('enrollments').values(e).execute();
    await expect(k.insertInto('enrollments').values(e).execute()).rejects.toThrow(/unique|UNIQUE/);
    await k.updateTable('enrollments').set({ status: 'completed' }).execute();
    await k.insertInto('enrollments').values(e).execute();
  });

  it('upgrading to one active enrolment per address keeps existing duplicates: the oldest holds the address', async () => {
    db = await openDatabase(await url());
    const before = Object.keys(migrations).filter((name) => name < '008');
    const migrator = new Migrator({
      db: db.kysely,
      provider: { getMigrations: async () => migrations },
      ...(db.schema ? { migrationTableSchema: db.schema } : {}),
    });
    expect((await migrator.migrateTo(before.at(-1)!)).error).toBeUndefined();
    const k = db.kysely as unknown as Kysely<any>;
    const now = Date.now();
    const customer = async (id: string, hash: string | null) =>
      (
        await k
          .insertInto('customers')
          .values({
            external_id: id,
            email_hash: hash,
            locale: 'en',
            time_zone: 'UTC',
            created_at: now,
            updated_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id as number;
    const [anna, guest, bob, nobody] = [
      await customer('anna', 'h-anna'),
      await customer('anna-guest', 'h-anna'),
      await customer('bob', 'h-bob'),
      await customer('nobody', null),
    ];
    const enrol = (customer_id: number, sequence_id: string, status = 'active') => ({
      customer_id,
      sequence_id,
      sequence_version: 1,
      status,
      enrolled_at: now,
    });
    await k
      .insertInto('enrollments')
      .values([
        enrol(anna, 's'),
        enrol(guest, 's'),
        enrol(bob, 's'),
        enrol(nobody, 's'),
        enrol(guest, 't'),
        enrol(bob, 't', 'completed'),
      ])
      .execute();
    expect(await migrateToLatest(db)).toEqual(Object.keys(migrations).filter((name) => name >= '008'));
    const rows = await k
      .selectFrom('enrollments')
      .select(['customer_id', 'sequence_id', 'address_hash'])
      .orderBy('id')
      .execute();
    expect(rows.map((r) => [r.customer_id, r.sequence_id, r.address_hash])).toEqual([
      [anna, 's', 'h-anna'],
      [guest, 's', null],
      [bob, 's', 'h-bob'],
      [nobody, 's', null],
      [guest, 't', 'h-anna'],
      [bob, 't', null],
    ]);
    // A new record of bob's address cannot enter s while bob's enrolment there runs.
    const carl = await customer('bob-guest', 'h-bob');
    await expect(
      k
        .insertInto('enrollments')
        .values({ ...enrol(carl, 's'), address_hash: 'h-bob' })
        .execute(),
    ).rejects.toThrow(/unique|UNIQUE/);
  });

  it('upgrading the parking of paused sequences: work parked the old way becomes due on resume, other times stay', async () => {
    db = await openDatabase(await url());
    const migrator = new Migrator({
      db: db.kysely,
      provider: { getMigrations: async () => migrations },
      ...(db.schema ? { migrationTableSchema: db.schema } : {}),
    });
    expect((await migrator.migrateTo('009_message_id_header')).error).toBeUndefined();
    const k = db.kysely as unknown as Kysely<any>;
    const now = Date.now();
    const c = await k
      .insertInto('customers')
      .values({ external_id: 'c1', locale: 'en', time_zone: 'UTC', created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    const enrol = (sequence_id: string, next_due_at: number) => ({
      customer_id: c.id,
      sequence_id,
      sequence_version: 1,
      status: 'active',
      enrolled_at: now,
      next_due_at,
    });
    await k
      .insertInto('enrollments')
      .values([enrol('paused-before', 253_402_300_799_000), enrol('running', now + 1000)])
      .execute();
    await migrateToLatest(db);
    const rows = await k.selectFrom('enrollments').select(['sequence_id', 'next_due_at']).orderBy('id').execute();
    expect(Number(rows[0].next_due_at)).toBeGreaterThanOrEqual(PARK_OFFSET + now);
    expect(Number(rows[0].next_due_at)).toBeLessThanOrEqual(PARK_OFFSET + Date.now());
    expect(Number(rows[1].next_due_at)).toBe(now + 1000);
  });
});

// Several tenants share one PostgreSQL database (tests, benchmarks, shops on one server): creating
// one's tables must not depend on the others' schemas staying put.
it('migrates on PostgreSQL while another tenant keeps creating and dropping its schema', async () => {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const churnSchema = `churn_${process.pid}`;
  let stop = false;
  const churn = (async () => {
    while (!stop) {
      await admin.query(
        `CREATE SCHEMA IF NOT EXISTS ${churnSchema}; CREATE TABLE IF NOT EXISTS ${churnSchema}.t (id serial primary key)`,
      );
      await admin.query(`DROP SCHEMA ${churnSchema} CASCADE`);
    }
  })();
  const failures: string[] = [];
  try {
    for (let n = 0; n < 10; n++) {
      const db = await openDatabase(await postgresUrl());
      try {
        expect(await migrateToLatest(db)).toContain('001_initial');
      } catch (err) {
        failures.push((err as Error).message);
      } finally {
        await db.kysely.schema.dropSchema(db.schema!).cascade().execute();
        await db.close();
      }
    }
  } finally {
    stop = true;
    await churn;
    await admin.end();
  }
  expect(failures).toEqual([]);
});

it('a SQLite path that is a folder is a clear configuration error', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'comeback-db-folder-'));
  await expect(openDatabase(folder)).rejects.toMatchObject({
    code: 'E_CONFIG',
    message: `cannot open the SQLite database ${folder}: it is a folder; name a file in it, e.g. comeback.db`,
  });
});
