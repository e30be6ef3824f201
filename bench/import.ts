/**
 * Import benchmark: streams N order rows from CSV into SQLite through `engine.import`, beside a
 * naive importer (one statement and one transaction per row, a customer lookup per row).
 *   npm run bench -- import [--rows 1000000] [--customers 100000] [--json] [--db postgres://...]
 *   [--secure-delete off]  SQLite without zeroing freed content, to measure what erasure-safe deletes cost
 */
import { createWriteStream, mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createEngine } from '../src/app.js';
import { DAY } from '../src/clock.js';
import { MemoryTransport } from '../src/delivery/memory.js';
import { seededRandom } from '../src/util/random.js';
import { peakRssMiB, report } from './report.js';

async function writeLines(file: string, header: string, count: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(file);
  out.write(`${header}\n`);
  for (let i = 0; i < count; i++) {
    if (!out.write(`${line(i)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Runs the benchmark. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rows: { type: 'string', default: '1000000' },
      customers: { type: 'string', default: '100000' },
      json: { type: 'boolean', default: false },
      db: { type: 'string' },
      'baseline-rows': { type: 'string', default: '20000' },
      'secure-delete': { type: 'string', default: 'on' },
    },
  });
  const rows = Number(values.rows);
  const customers = Number(values.customers);
  const dir = mkdtempSync(join(tmpdir(), 'comeback-bench-import-'));
  const rand = seededRandom(7);
  const t0 = Date.UTC(2024, 0, 1);
  const customersCsv = join(dir, 'customers.csv');
  const ordersCsv = join(dir, 'orders.csv');
  await writeLines(
    customersCsv,
    'external_id,email,first_name,locale,consent',
    customers,
    (i) => `C${i},c${i}@example.com,Name${i},${i % 3 ? 'de' : 'en'},${i % 4 ? 'double_opt_in' : ''}`,
  );
  await writeLines(ordersCsv, 'order_id,customer_id,ordered_at,total,currency', rows, (i) => {
    const when = new Date(t0 + Math.floor(rand() * 700 * DAY)).toISOString();
    return `O${i},C${Math.floor(rand() * customers)},${when},${(5 + rand() * 120).toFixed(2)},EUR`;
  });
  const database = values.db ?? join(dir, 'bench.db');
  const engine = await createEngine(
    { database, sequencesDir: join(dir, 'none') },
    { transport: new MemoryTransport() },
  );
  const secureDelete = values['secure-delete'] !== 'off';
  if (!secureDelete) engine.ctx.db.sqlite?.pragma('secure_delete = OFF');
  const c = await engine.import('customers', customersCsv);
  process.stderr.write(`customers: ${c.imported} in ${c.seconds.toFixed(1)} s\n`);
  const o = await engine.import('orders', ordersCsv);
  if (o.rejected.length > 0)
    throw new Error(
      `unexpected rejected rows: ${o.rejected
        .slice(0, 3)
        .map((r) => r.reason)
        .join('; ')}`,
    );
  const rate = o.imported / o.seconds;
  const rss = peakRssMiB();

  // Naive baseline on a sample: per row, look the customer up, then upsert the order on its own.
  const sample = Number(values['baseline-rows']);
  const k = engine.ctx.k;
  const started = performance.now();
  for (let i = 0; i < sample; i++) {
    const cust = await k
      .selectFrom('customers')
      .select('id')
      .where('external_id', '=', `C${i % customers}`)
      .executeTakeFirstOrThrow();
    await k
      .insertInto('orders')
      .values({
        external_id: `N${i}`,
        customer_id: cust.id,
        ordered_at: t0 + i,
        total_minor: 1000,
        currency: 'EUR',
        created_at: Date.now(),
      })
      .onConflict((oc) => oc.column('external_id').doUpdateSet({ total_minor: 1000 }))
      .execute();
  }
  const baseline = sample / ((performance.now() - started) / 1000);
  await engine.close();
  report(
    {
      name: `import_orders_${engine.ctx.db.dialect}`,
      ops_per_s: Math.round(rate),
      baseline_ops_per_s: Math.round(baseline),
      rows: o.imported,
      seconds: Number(o.seconds.toFixed(1)),
      peak_rss_mib: rss,
      ...(engine.ctx.db.sqlite ? { secure_delete: secureDelete } : {}),
    },
    values.json!,
  );
}
