import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { personalization } from '../../src/engine/personalize.js';
import { createEngine, type Engine } from '../../src/index.js';
import { MemoryTransport } from '../../src/testing.js';
import { dialects } from '../helpers/backends.js';

const dir = mkdtempSync(join(tmpdir(), 'comeback-import-'));
function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}
const count = async (e: Engine, table: 'customers' | 'orders' | 'consents' | 'order_items') =>
  Number(
    (
      await e.ctx.k
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe.each(dialects)('import on $name', ({ url }) => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });
  const open = async () =>
    (engine = await createEngine(
      { database: await url(), sequencesDir: join(dir, 'none') },
      { transport: new MemoryTransport() },
    ));

  it('imports customers with consent columns idempotently and reports bad rows by line', async () => {
    const e = await open();
    const csv = file(
      'customers.csv',
      [
        'external_id,email,first_name,locale,time_zone,consent,consent_at',
        'c1,anna@example.com,Anna,de,Europe/Berlin,double_opt_in,2025-01-02',
        'c2,not-an-email,Bob,en,,,',
        'c3,carla@example.com,"Carla ""the best""",en,Mars/Olympus,,',
        'c4,dora@example.com,Dora,en,,opt_in,2025-02-03T10:00:00Z',
      ].join('\n'),
    );
    const r = await e.import('customers', csv);
    expect(r.imported).toBe(2);
    expect(r.rejected.map((x) => x.line)).toEqual([3, 4]);
    expect(r.rejected[0]!.reason).toMatch(/email/);
    expect(r.rejected[1]!.reason).toMatch(/time zone/);
    expect(await count(e, 'consents')).toBe(2);
    const again = await e.import('customers', csv);
    expect(again.imported).toBe(2);
    expect(await count(e, 'customers')).toBe(2);
    expect(await count(e, 'consents')).toBe(2); // no duplicate ledger entries on re-import
  });

  it('a file with fewer columns updates only those: a column it lacks keeps what is stored, an empty cell clears', async () => {
    const e = await open();
    await e.import(
      'customers',
      file(
        'full.csv',
        [
          'external_id,email,first_name,last_name,title,locale,time_zone,acquired_via,churn_reason,late_payments,tags',
          'c1,anna@example.com,Anna,Berg,Dr.,de,Europe/Vienna,sale,price,1,vip;tea',
          'c2,bob@example.com,Bob,Kern,,de,Europe/Berlin,sale,,0,coffee',
        ].join('\n'),
      ),
    );
    const stored = async () =>
      e.ctx.k
        .selectFrom('customers')
        .select([
          'external_id',
          'email',
          'first_name',
          'last_name',
          'title',
          'locale',
          'time_zone',
          'acquired_via',
          'churn_reason',
          'late_payments',
          'tags',
        ])
        .orderBy('external_id')
        .execute();
    const before = await stored();
    // The shop exports only the changed addresses.
    const r = await e.import('customers', file('emails.csv', 'external_id,email\nc1,anna.berg@example.com\n'));
    expect(r).toMatchObject({ imported: 1, rejected: [] });
    expect(await stored()).toEqual([{ ...before[0], email: 'anna.berg@example.com' }, before[1]]);
    // Empty cells clear a last name and the tags; an empty locale keeps the stored one.
    await e.import('customers', file('names.csv', 'external_id,last_name,tags,locale\nc2,,,\n'));
    expect((await stored())[1]).toEqual({ ...before[1], last_name: null, tags: '[]' });
    // JSON Lines: a key that is missing keeps the value, null clears it.
    await e.import('customers', file('partial.jsonl', '{"external_id":"c1","title":null}\n'));
    expect((await stored())[0]).toEqual({ ...before[0], email: 'anna.berg@example.com', title: null });
    // The library works the same way.
    await e.customers.upsert({ externalId: 'c1', firstName: 'Anne' });
    expect((await stored())[0]).toMatchObject({
      first_name: 'Anne',
      last_name: 'Berg',
      locale: 'de',
      acquired_via: 'sale',
      churn_reason: 'price',
      tags: '["vip","tea"]',
    });
  });

  it('refuses an unknown column before storing anything, with a suggestion', async () => {
    const e = await open();
    const r = e.import('customers', file('typo.csv', 'external_id,emial\nc1,a@example.com\n'));
    await expect(r).rejects.toThrow(/line 1: unknown column "emial" \(did you mean "email"\?\)/);
    expect(await count(e, 'customers')).toBe(0);
  });

  it('names a missing file, a folder and an unknown format instead of failing with a stack trace', async () => {
    const e = await open();
    await expect(e.import('customers', join(dir, 'missing.csv'))).rejects.toMatchObject({
      code: 'E_INPUT',
      message: `${join(dir, 'missing.csv')}: no such file`,
    });
    const folder = join(mkdtempSync(join(dir, 'sub-')), 'orders.csv');
    mkdirSync(folder);
    await expect(e.import('orders', folder)).rejects.toThrow(/orders\.csv: not a file \(a folder or a device\)/);
    await expect(e.import('customers', file('customers.txt', 'external_id,email\n'))).rejects.toThrow(
      /cannot tell the format of ".*customers\.txt": use a \.csv or \.jsonl file/,
    );
    expect(await count(e, 'customers')).toBe(0);
  });

  it('reads CSV as Excel saves it: semicolons or tabs, a byte order mark, CRLF, and Windows-1252 with --encoding', async () => {
    const e = await open();
    const semi = file(
      'semicolon.csv',
      '\uFEFFexternal_id;email;first_name;tags\r\ns1;s1@example.com;Jörg;"a;b"\r\ns2;s2@example.com;Anne;\r\n',
    );
    expect((await e.import('customers', semi)).imported).toBe(2);
    const tab = file('tab.csv', 'external_id\temail\tfirst_name\nt1\tt1@example.com\tTab\n');
    expect((await e.import('customers', tab)).imported).toBe(1);
    const name = async (id: string) =>
      await e.ctx.k
        .selectFrom('customers')
        .select(['first_name', 'tags'])
        .where('external_id', '=', id)
        .executeTakeFirstOrThrow();
    expect(await name('s1')).toEqual({ first_name: 'Jörg', tags: JSON.stringify(['a', 'b']) });
    // "Jürgen Müller" in Windows-1252: ü is the single byte 0xFC, not valid UTF-8.
    const latin = join(dir, 'latin.csv');
    writeFileSync(
      latin,
      Buffer.concat([
        Buffer.from('external_id,email,first_name,last_name\r\nw1,w1@example.com,J'),
        Buffer.from([0xfc]),
        Buffer.from('rgen,M'),
        Buffer.from([0xfc]),
        Buffer.from('ller\r\nw2,w2@example.com,Ann,Lee\r\n'),
      ]),
    );
    const asUtf8 = await e.import('customers', latin);
    expect(asUtf8.imported).toBe(1);
    expect(asUtf8.rejected).toEqual([
      { line: 2, reason: expect.stringMatching(/^not valid UTF-8 .*--encoding windows-1252/) },
    ]);
    expect((await e.import('customers', latin, { encoding: 'windows-1252' })).imported).toBe(2);
    expect(
      await e.ctx.k
        .selectFrom('customers')
        .select(['first_name', 'last_name'])
        .where('external_id', '=', 'w1')
        .executeTakeFirstOrThrow(),
    ).toEqual({ first_name: 'Jürgen', last_name: 'Müller' });
    await expect(e.import('customers', latin, { encoding: 'klingon' })).rejects.toThrow('unknown encoding "klingon"');
    const jsonl = join(dir, 'latin.jsonl');
    writeFileSync(
      jsonl,
      Buffer.concat([
        Buffer.from('{"external_id":"j1","email":"j1@example.com","first_name":"J'),
        Buffer.from([0xfc]),
        Buffer.from('rgen"}\n{"external_id":"j2","email":"j2@example.com"}\n'),
      ]),
    );
    const lines = await e.import('customers', jsonl);
    expect(lines.imported).toBe(1);
    expect(lines.rejected.map((r) => r.line)).toEqual([1]);
  });

  it('reads order times strictly: ISO or day-first dotted dates, UTC unless an offset is given; bare numbers and impossible dates are rejected', async () => {
    const e = await open();
    await e.import('customers', file('tc.csv', 'external_id,email\nc1,a@example.com\n'));
    const r = await e.import(
      'orders',
      file(
        'times.csv',
        [
          'order_id;customer_id;ordered_at;total',
          'o1;c1;24.11.2026;49,90',
          'o2;c1;2026-11-21 14:03;12',
          'o3;c1;2026-11-21T14:03:00+01:00;12',
          'o4;c1;12;12',
          'o5;c1;2026-02-30;12',
        ].join('\n'),
      ),
    );
    expect(r.imported).toBe(3);
    expect(r.rejected).toEqual([
      {
        line: 5,
        reason:
          'ordered_at: expected a date like 2026-03-01 or 01.03.2026, or a time like 2026-03-01T12:00:00Z, got "12"',
      },
      {
        line: 6,
        reason:
          'ordered_at: expected a date like 2026-03-01 or 01.03.2026, or a time like 2026-03-01T12:00:00Z, got "2026-02-30"',
      },
    ]);
    const at = async (id: string) =>
      await e.ctx.k
        .selectFrom('orders')
        .select(['ordered_at', 'total_minor'])
        .where('external_id', '=', id)
        .executeTakeFirstOrThrow();
    expect(await at('o1')).toEqual({ ordered_at: Date.UTC(2026, 10, 24), total_minor: 4990 });
    expect((await at('o2')).ordered_at).toBe(Date.UTC(2026, 10, 21, 14, 3));
    expect((await at('o3')).ordered_at).toBe(Date.UTC(2026, 10, 21, 13, 3));
  });

  it('imports orders with line items from CSV and JSON Lines; --strict rolls back on the first bad row', async () => {
    const e = await open();
    await e.import('customers', file('c.csv', 'external_id,email\nc1,a@example.com\nc2,b@example.com\n'));
    const csv = file(
      'orders.csv',
      [
        'order_id,customer_id,ordered_at,total,currency,sku,product_name,quantity,unit_price',
        'o1,c1,2025-03-01,49.90,EUR,TEA-1,Green tea,1,29.90',
        'o1,c1,2025-03-01,49.90,EUR,MUG-1,Mug,1,20.00',
        'o2,c2,2025-04-01,12.5,EUR,,,,',
        'o3,c9,2025-04-01,10,EUR,,,,',
        'o4,c2,yesterday,10,EUR,,,,',
        'o5,c2,2025-04-01,"10,5,3",EUR,,,,',
        'o6,c2,2025-04-01,1,EUR,too,many,columns,here,really',
      ].join('\n'),
    );
    const strict = await e.import('orders', csv, { strict: true });
    expect(strict.rolledBack).toBe(true);
    expect(await count(e, 'orders')).toBe(0);
    const r = await e.import('orders', csv);
    expect(r.imported).toBe(2);
    expect(r.rejected.map((x) => x.line).sort((a, b) => a - b)).toEqual([5, 6, 7, 8]);
    expect(r.rejected.find((x) => x.line === 5)!.reason).toMatch(/no customer "c9"/);
    expect(r.rejected.find((x) => x.line === 6)!.reason).toMatch(/ordered_at/);
    expect(await count(e, 'order_items')).toBe(2);
    const o1 = await e.ctx.k.selectFrom('orders').selectAll().where('external_id', '=', 'o1').executeTakeFirstOrThrow();
    expect(o1.total_minor).toBe(4990);
    const jsonl = file(
      'orders.jsonl',
      [
        JSON.stringify({
          order_id: 'o7',
          customer_id: 'c1',
          ordered_at: '2025-05-01',
          total: 5,
          items: [{ sku: 'X', product_name: 'X', unit_price: 5 }],
        }),
        '{broken',
        JSON.stringify({ order_id: 'o8', customer_id: 'c1', ordered_at: '2025-05-01', total: 5, colour: 'red' }),
      ].join('\n'),
    );
    const j = await e.import('orders', jsonl);
    expect(j.imported).toBe(1);
    expect(j.rejected).toEqual([
      { line: 2, reason: expect.stringMatching(/invalid JSON/) },
      { line: 3, reason: expect.stringMatching(/unknown column "colour"/) },
    ]);
  });

  it('imports the product catalogue idempotently, and recommendations come from it', async () => {
    const e = await open();
    const csv = file(
      'products.csv',
      [
        'sku,name,category,price,url,image_url,in_stock',
        'TEA-1,Sencha,Tea,12.90,https://shop.example.com/p/tea-1,https://cdn.example.com/tea-1.jpg,yes',
        'TEA-2,Matcha,Tea,"29,90",https://shop.example.com/p/tea-2,,',
        'TEA-3,Oolong,Tea,9.90,https://shop.example.com/p/tea-3,,no',
        'MUG-1,Mug,Tea,nine,https://shop.example.com/p/mug-1,,',
        'MUG-2,Mug,Tea,9.90,shop/mug-2,,',
        ',Nameless,Tea,1.00,,,',
      ].join('\n'),
    );
    const r = await e.import('products', csv);
    expect(r.imported).toBe(3);
    expect(r.rejected).toEqual([
      { line: 5, reason: 'price: expected an amount like 49.90, got "nine"' },
      { line: 6, reason: expect.stringMatching(/^url: /) },
      { line: 7, reason: expect.stringMatching(/^externalId: /) },
    ]);
    expect((await e.import('products', csv)).imported).toBe(3); // again: updated, not duplicated
    const rows = await e.ctx.k
      .selectFrom('products')
      .select(['external_id', 'price_minor', 'currency', 'in_stock'])
      .orderBy('external_id')
      .execute();
    expect(rows).toEqual([
      { external_id: 'TEA-1', price_minor: 1290, currency: 'EUR', in_stock: 1 },
      { external_id: 'TEA-2', price_minor: 2990, currency: 'EUR', in_stock: 1 },
      { external_id: 'TEA-3', price_minor: 990, currency: 'EUR', in_stock: 0 },
    ]);
    await expect(e.import('products', file('p2.csv', 'sku,title\nX,Y\n'))).rejects.toThrow(
      /unknown column "title".*Known columns: sku, name/,
    );
    // A customer who bought Sencha is offered Matcha (in stock, same category), never the sold-out Oolong.
    await e.import('customers', file('c3.csv', 'external_id,email\nc1,a@example.com\n'));
    await e.import(
      'orders',
      file(
        'o3.csv',
        'order_id,customer_id,ordered_at,total,sku,product_name,category,unit_price\no1,c1,2025-03-01,12.90,TEA-1,Sencha,Tea,12.90\n',
      ),
    );
    const customer = (await e.customers.get('c1'))!;
    const data = await personalization(e.ctx.k, e.ctx.config, e.ctx.urls, customer, 1, e.ctx.clock.now(), {
      style: 'informal',
      locale: 'en',
      message: { sequence: 's', step: 'a', variant: null, template: 't' },
    });
    expect((data.recommendations as { sku: string }[]).map((p) => p.sku)).toEqual(['TEA-2']);
  });
});
