/**
 * What `comeback import` tells a person about their file: refused rows in the order of the file,
 * an ambiguous amount named as such with how to write it, a shortened column name with the one
 * it stands for, and counts in words that agree with the number.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli.js';
import { sqliteUrl } from '../helpers/backends.js';

const dir = mkdtempSync(join(tmpdir(), 'comeback-import-messages-'));
function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('import messages', () => {
  it('lists refused rows in file order, names an ambiguous amount and counts in words', async () => {
    const db = sqliteUrl();
    const customers = file('customers.csv', 'external_id,email\nc1,anna@example.com\n');
    const one = await runCliInProcess(['--db', db, 'import', 'customers', customers]);
    expect(one.out).toMatch(/^imported 1 customer in /);
    process.exitCode = undefined;

    // Line 2 is refused when its batch is stored (no such customer), line 3 and 5 while reading.
    const orders = file(
      'orders.csv',
      [
        'order_id,customer_id,ordered_at,total',
        'o1,nobody,2026-01-01,10',
        'o2,c1,2026-01-01,1.234',
        'o3,c1,2026-01-02,12.50',
        'o4,c1,someday,3',
      ].join('\n'),
    );
    const r = await runCliInProcess(['--db', db, 'import', 'orders', orders]);
    expect(process.exitCode).toBe(1);
    process.exitCode = undefined;
    const lines = r.err.trim().split('\n');
    expect(lines.map((l) => l.slice(orders.length + 1).split(':')[0])).toEqual(['2', '3', '5']);
    expect(lines[1]).toContain('total: "1.234" is ambiguous: 1234 with a thousands separator, or 1 and a fraction?');
    expect(lines[1]).toContain('Write 1234 (or 1.234,00) for 1234, or at most 2 decimals for a fraction (1.23)');
    expect(r.out).toMatch(/^imported 1 order in .*, 3 rejected\n$/);
  });

  it('says which column a shortened name stands for', async () => {
    const orders = file('short.csv', 'order_id,customer,ordered_at,total\no1,c1,2026-01-01,10\n');
    await expect(runCliInProcess(['--db', sqliteUrl(), 'import', 'orders', orders])).rejects.toThrow(
      /line 1: unknown column "customer" \(did you mean "customer_id"\?\)/,
    );
  });

  it('names an amount with more decimals than the currency has', async () => {
    const db = sqliteUrl();
    await runCliInProcess(['--db', db, 'import', 'customers', file('c.csv', 'external_id\nc1\n')]);
    const r = await runCliInProcess([
      '--db',
      db,
      'import',
      'orders',
      file('d.csv', 'order_id,customer_id,ordered_at,total\no1,c1,2026-01-01,1.2345\n'),
    ]);
    process.exitCode = undefined;
    expect(r.err).toContain('total: "1.2345" has more decimals than EUR has (2): expected an amount like 49.90');
  });
});
