/**
 * Every documented input limit (src/util/limits.ts, docs/LIMITS.md) refuses a value one over it
 * with an error naming the place, through each door: import (CSV and JSON Lines, library and
 * CLI), the HTTP API, the library, sequence files, template files and the mail the sender builds.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import { createEngine, type Engine } from '../../src/index.js';
import { MemoryTransport } from '../../src/delivery/memory.js';
import { CUSTOMER_COLUMNS, ORDER_COLUMNS, PRODUCT_COLUMNS } from '../../src/shop/import/columns.js';
import { validatePaths } from '../../src/sequences/validate.js';
import { TemplateStore } from '../../src/templates/store.js';
import { BYTES, COLUMN_CHARS, COUNT, TEXT } from '../../src/util/limits.js';
import { sqliteUrl } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';
import { API_KEY, startServer } from '../server/helpers.js';
import { engineWith, head, loaded, shop } from '../sequences/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'comeback-limits-'));
function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('import limits', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine(
      { database: sqliteUrl(), sequencesDir: join(dir, 'none') },
      { transport: new MemoryTransport() },
    );
  });
  afterAll(() => engine.close());

  const kinds = {
    customers: CUSTOMER_COLUMNS,
    orders: ORDER_COLUMNS.filter((c) => c !== 'items'),
    products: PRODUCT_COLUMNS,
  } as const;
  for (const [kind, columns] of Object.entries(kinds) as [keyof typeof kinds, readonly string[]][]) {
    it(`refuses every ${kind} column one character over its limit, naming line and column`, async () => {
      const key = { customers: 'external_id', orders: 'order_id', products: 'sku' }[kind];
      for (const column of columns) {
        const max = COLUMN_CHARS[column]!;
        const header = column === key ? key : `${key},${column}`;
        const row = column === key ? 'x'.repeat(max + 1) : `k1,${'x'.repeat(max + 1)}`;
        const r = await engine.import(kind, file(`${kind}-${column}.csv`, `${header}\n${row}\n`));
        expect(r.rejected, `${kind}.${column}`).toEqual([
          { line: 2, reason: `${column}: longer than ${max.toLocaleString('en')} characters` },
        ]);
        expect(r.imported).toBe(0);
      }
    });
  }

  it('comeback import prints the file, line and column of a value over its limit and stores nothing of the row', async () => {
    const db = sqliteUrl();
    const f = file(
      'customers.csv',
      `external_id,email,first_name\nc1,a@example.com,${'x'.repeat(201)}\nc2,b@example.com,Bo\n`,
    );
    const r = await runCliInProcess(['--db', db, 'import', 'customers', f]);
    process.exitCode = undefined;
    expect(r.err).toContain(`${f}:2: first_name: longer than 200 characters`);
    expect(r.out).toMatch(/^imported 1 customer in .*, 1 rejected/);
  });

  it('refuses a header over the column limit at once, without listing a million columns', async () => {
    const some = file('wide.csv', `${Array.from({ length: COUNT.columns + 1 }, (_, i) => `c${i}`).join(',')}\n1\n`);
    await expect(engine.import('customers', some)).rejects.toThrow(
      `line 1: the header has ${COUNT.columns + 1} columns, more than the limit of ${COUNT.columns}`,
    );
    const million = file('million.csv', `${Array.from({ length: 1_000_000 }, (_, i) => `col${i}`).join(',')}\nx\n`);
    const started = performance.now();
    const err = await engine.import('customers', million).catch((e: Error) => e);
    const ms = performance.now() - started;
    expect(String(err)).toContain('line 1: the header line is longer than 1 MiB');
    expect(String(err).length).toBeLessThan(400);
    console.log(`1,000,000-column header refused in ${ms.toFixed(0)} ms`);
    // Short names (two bytes a column) pass the line limit and meet the column limit.
    const short = file('short-million.csv', `${Array(500_000).fill('a').join(',')}\nx\n`);
    await expect(engine.import('customers', short)).rejects.toThrow(
      'line 1: the header has 500,000 columns, more than the limit of 64',
    );
  });

  it('an overlong line is skipped while it streams past; the lines around it are imported', async () => {
    const long = 'x'.repeat(BYTES.importLine + 10);
    const csv = await engine.import(
      'customers',
      file('long.csv', `external_id,first_name\nl1,A\nl2,"${long}\nstill the same field"\nl3,C\n`),
    );
    expect(csv.imported).toBe(2);
    expect(csv.rejected).toEqual([{ line: 3, reason: expect.stringContaining('line longer than 1 MiB') }]);
    const jsonl = await engine.import(
      'customers',
      file('long.jsonl', `{"external_id":"j1"}\n{"external_id":"j2","first_name":"${long}"}\n{"external_id":"j3"}\n`),
    );
    expect(jsonl.imported).toBe(2);
    expect(jsonl.rejected).toEqual([{ line: 2, reason: expect.stringContaining('line longer than 1 MiB') }]);
  });

  it('JSON Lines: __proto__ in order items is an error like on customers; items and tags are counted', async () => {
    await engine.customers.upsert({ externalId: 'buyer' });
    const item = { sku: 'S', product_name: 'P', unit_price: '1.00' };
    const lines = [
      { order_id: 'o1', customer_id: 'buyer', ordered_at: '2026-01-01', total: '1.00', items: [item] },
      JSON.parse(
        `{"order_id":"o2","customer_id":"buyer","ordered_at":"2026-01-01","total":"1.00","items":[{"sku":"S","product_name":"P","__proto__":{"x":1}}]}`,
      ) as object,
      {
        order_id: 'o3',
        customer_id: 'buyer',
        ordered_at: '2026-01-01',
        total: '1.00',
        items: Array(COUNT.orderItems + 1).fill(item),
      },
      {
        order_id: 'o4',
        customer_id: 'buyer',
        ordered_at: '2026-01-01',
        total: '1.00',
        items: [{ ...item, category: 'c'.repeat(TEXT.name + 1) }],
      },
    ];
    const text = `${lines
      .map((l) => JSON.stringify(l))
      .join('\n')
      .replace('"product_name":"P","x":1', '"product_name":"P","__proto__":{"x":1}')}\n`;
    const r = await engine.import('orders', file('orders.jsonl', text));
    expect(r.imported).toBe(1);
    expect(r.rejected).toEqual([
      {
        line: 2,
        reason: 'items[0]: unknown column "__proto__" (known: sku, product_name, category, quantity, unit_price)',
      },
      { line: 3, reason: `items: ${COUNT.orderItems + 1} lines, more than the limit of ${COUNT.orderItems}` },
      { line: 4, reason: `items[0].category: longer than ${TEXT.name} characters` },
    ]);
    const tags = await engine.import(
      'customers',
      file(
        'tags.jsonl',
        `${JSON.stringify({ external_id: 't1', tags: Array.from({ length: COUNT.tags + 1 }, (_, i) => `t${i}`).join(';') })}\n`,
      ),
    );
    expect(tags.rejected).toEqual([{ line: 1, reason: expect.stringContaining(`tags: more than ${COUNT.tags} tags`) }]);
  });
});

describe('API and library limits', () => {
  it('refuses an oversized body, overlong fields and oversized JSON with the place named', async () => {
    const s = await startServer();
    try {
      const post = (path: string, body: string) =>
        fetch(`${s.url}${path}`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
        });
      const big = await post(
        '/api/customers',
        JSON.stringify({ externalId: 'b', firstName: 'x'.repeat(BYTES.apiBody) }),
      );
      expect(big.status).toBe(413);
      const long = await post(
        '/api/customers',
        JSON.stringify([
          { externalId: 'ok' },
          { externalId: 'c', firstName: 'x'.repeat(201), email: `${'a'.repeat(250)}@example.com` },
        ]),
      );
      expect(long.status).toBe(400);
      expect(((await long.json()) as { issues: string[] }).issues).toEqual([
        '[1].email: longer than 254 characters',
        '[1].firstName: longer than 200 characters',
      ]);
      expect(await s.engine.customers.get('ok')).toBeUndefined();
      await s.engine.customers.upsert({ externalId: 'anna' });
      const data = { blob: 'x'.repeat(BYTES.json) };
      const trigger = await post(
        '/api/trigger',
        JSON.stringify({ sequence: 'winback-lapsed', customer: 'anna', data }),
      );
      expect(trigger.status).toBe(400);
      expect(((await trigger.json()) as { issues: string[] }).issues[0]).toBe(
        'data: 16,395 bytes, larger than the limit of 16,384 bytes',
      );
      const consent = await post(
        '/api/consents',
        JSON.stringify({ customer: 'anna', action: 'withdraw', evidence: data }),
      );
      expect(consent.status).toBe(400);
      // The library doors check the same limits.
      await expect(s.engine.trigger('winback-lapsed', 'anna', data)).rejects.toThrow(
        'invalid trigger: data: 16,395 bytes, larger than the limit of 16,384 bytes',
      );
      await expect(s.engine.customers.upsert({ externalId: 'x'.repeat(TEXT.id + 1) })).rejects.toThrow(
        'longer than 200 characters',
      );
      await expect(
        s.engine.consents.record({ customer: 'anna', action: 'withdraw', source: 'x'.repeat(TEXT.name + 1) }),
      ).rejects.toThrow('longer than 200 characters');
    } finally {
      await s.close();
    }
  });
});

describe('sequence, template and mail limits', () => {
  const seqDir = join(dir, 'sequences');
  mkdirSync(seqDir, { recursive: true });
  const step = (id: string) => `  - { id: ${id}, template: winback/miss-you, subject: "Hi" }\n`;
  const validate = async (name: string, text: string) => {
    const f = join(seqDir, name);
    writeFileSync(f, text);
    const { problems } = await validatePaths([f], { templatesDir: 'templates', checkTemplates: false });
    return problems.map((p) => formatProblem(p).split('.yaml:')[1]);
  };

  it('refuses overlong strings and too many steps or variants at their line and column', async () => {
    const base = (name: string, steps: string) =>
      `id: lim\nname: "${name}"\nconsent: [double_opt_in]\naudience: { trigger: lim }\nsteps:\n${steps}`;
    expect(await validate('name.yaml', base('n'.repeat(TEXT.label + 1), step('a')))).toEqual([
      `2:7 name: is longer than ${TEXT.label} characters`,
    ]);
    const many = Array.from({ length: COUNT.steps + 1 }, (_, i) => step(`s${i}`)).join('');
    expect(await validate('steps.yaml', base('n', many))).toEqual([`6:3 steps: has more than ${COUNT.steps} entries`]);
    const variants = Array.from(
      { length: COUNT.variants + 1 },
      (_, i) => `      - { id: v${i}, subject: "S${i}" }\n`,
    ).join('');
    expect(
      await validate(
        'variants.yaml',
        base('n', `  - id: a\n    template: winback/miss-you\n    subject: Hi\n    variants:\n${variants}`),
      ),
    ).toEqual([`10:7 steps[0].variants: has more than ${COUNT.variants} entries`]);
  });

  it('refuses a sequence file over the size limit from its size, naming the file', async () => {
    const big = `id: big\nname: "${'n'.repeat(BYTES.sequenceFile * 2)}"\n`;
    expect(await validate('big.yaml', big)).toEqual([
      `1:1 the file is 512 KiB, larger than the limit of 256 KiB for a sequence file`,
    ]);
  });

  it('refuses a template file over the size limit', async () => {
    const tdir = join(dir, 'templates');
    mkdirSync(join(tdir, 'huge'), { recursive: true });
    writeFileSync(
      join(tdir, 'huge', 'big.en.mjml'),
      `<mjml><mj-body><mj-text>${'x'.repeat(BYTES.templateFile)}</mj-text></mj-body></mjml>`,
    );
    const store = new TemplateStore(tdir, 'en', { checkIntervalMs: 0 });
    await expect(store.get('huge/big', 'en')).rejects.toThrow(
      /huge\/big\.en\.mjml: 524,339 bytes, larger than the limit of 524,288 bytes for a template file/,
    );
  });

  it('the sender refuses to build a mail over sender.maxMessageBytes and records why', async () => {
    const seq = loaded(`${head('lim')}audience:\n  trigger: lim\nsteps:\n${step('a')}`);
    const { engine, transport } = await engineWith(sqliteUrl(), [seq], undefined, {
      sender: { maxMessageBytes: 2048 },
    });
    try {
      await shop(engine, [{ id: 'anna', daysAgo: [90] }]);
      await engine.trigger('lim', 'anna');
      await engine.runDue();
      const [m] = await engine.ctx.k.selectFrom('messages').select(['status', 'error']).execute();
      expect(m!.status).toBe('failed');
      expect(m!.error).toMatch(/the mail is [\d.]+ KiB, larger than the limit of 2 KiB \(sender.maxMessageBytes\)/);
      expect(transport.sent).toHaveLength(0);
    } finally {
      await engine.close();
    }
  });
});
