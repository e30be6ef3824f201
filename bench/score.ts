/**
 * Scoring benchmark: a synthetic shop (default 1,000,000 customers, about 5,000,000 orders, seeded)
 * is streamed into a fresh database by a child process, then this process runs the scoring
 * (one streaming pass in customer-id pages, BG/NBD and Gamma-Gamma fits, every score upserted in
 * batches) and reports customers/s, fit + scoring time and peak RSS of the scoring alone. The
 * naive baseline scores a sample of customers the straightforward way: per customer one query
 * for the orders, one for the consent ledger, the same computation, one upsert.
 *   npm run bench -- score [--customers 1000000] [--db postgres://...] [--baseline 2000] [--json]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { deriveConsentState } from '../src/consent/ledger.js';
import { isPostgresUrl, migrateToLatest, openDatabase, type Db } from '../src/db/index.js';
import { scoreCustomers, type ScoreRunResult } from '../src/dormancy/index.js';
import { parseScoringSettings } from '../src/dormancy/config.js';
import { amountOrZero, invalidOrderReason, summarizeHistory, type OrderFacts } from '../src/dormancy/rhythm.js';
import { scoreCustomer, type ScoringContext } from '../src/dormancy/score.js';
import { loadSyntheticShop } from '../src/dormancy/synthetic-load.js';
import { kyselyWriter } from '../src/dormancy/write.js';
import { scoreDb } from '../src/dormancy/schema.js';
import { summaryRow } from '../src/dormancy/store.js';
import { peakRssMiB, report } from './report.js';

const NOW = Date.UTC(2026, 5, 1);
const SEED = 20260601;

/** Child-process mode: generate and load the shop, print one JSON line with the counts. */
async function loadOnly(url: string, customers: number): Promise<void> {
  const db = await openDatabase(url);
  try {
    await migrateToLatest(db);
    let last = 0;
    const result = await loadSyntheticShop(db, { seed: SEED, customers, now: NOW }, (n) => {
      if (n - last >= 100_000 || n === customers) {
        process.stderr.write(`loaded ${n.toLocaleString('en')} customers\n`);
        last = n;
      }
    });
    if (db.dialect === 'postgres') await sql`analyze`.execute(db.kysely);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await db.close();
  }
}

/** The naive way: every customer on their own, by id, with one upsert each. */
async function naiveBaseline(db: Db, run: ScoreRunResult, sample: number): Promise<number> {
  const k = db.kysely;
  const ids = (
    await k.selectFrom('customers').select('id').where('erased_at', 'is', null).orderBy('id').limit(sample).execute()
  ).map((r) => r.id);
  const settings = parseScoringSettings({});
  const ctx: ScoringContext = {
    settings,
    now: NOW,
    runId: run.runId,
    priorIntervalDays: run.priorIntervalDays,
    cuts: run.cuts,
    models: { bg: run.bgNbd, gg: run.gammaGamma, fitRows: run.fitRows, note: run.modelNote },
  };
  const writer = kyselyWriter(scoreDb(k), db.dialect);
  const started = performance.now();
  for (const id of ids) {
    const customer = await k
      .selectFrom('customers')
      .select(['late_payments'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    const orders = await k
      .selectFrom('orders')
      .selectAll()
      .where('customer_id', '=', id)
      .where('status', '!=', 'cancelled')
      .orderBy('ordered_at')
      .execute();
    const consents = await k.selectFrom('consents').selectAll().where('customer_id', '=', id).execute();
    const facts: OrderFacts[] = orders
      .filter((o) => invalidOrderReason(o.ordered_at, o.total_minor, NOW) === null)
      .map((o) => ({
        orderedAt: o.ordered_at,
        totalMinor: o.total_minor,
        discountMinor: amountOrZero(o.discount_minor),
        returnedMinor: amountOrZero(o.returned_minor),
        paidLate: o.paid_late === 1,
      }));
    const h = summarizeHistory(facts, NOW);
    const { row } = scoreCustomer(
      summaryRow(id, h, { latePayments: customer.late_payments, objected: deriveConsentState(consents).objected }),
      ctx,
    );
    await writer.write([row]);
  }
  const seconds = (performance.now() - started) / 1000;
  await writer.close();
  return ids.length / seconds;
}

/** Runs the benchmark. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      customers: { type: 'string', default: '1000000' },
      db: { type: 'string' },
      baseline: { type: 'string', default: '2000' },
      json: { type: 'boolean', default: false },
      'load-only': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const customers = Number(values.customers);
  if (values['load-only']) return loadOnly(values.db!, customers);

  const dir = mkdtempSync(join(tmpdir(), 'comeback-bench-score-'));
  let url = values.db ?? join(dir, 'bench.db');
  let schema: string | undefined;
  if (isPostgresUrl(url) && !/[?&]schema=/.test(url)) {
    schema = `bench_score_${process.pid}`;
    url = `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;
  }
  // Load in a child process, so that the peak RSS below is the scoring's own.
  const child = spawnSync(
    process.execPath,
    [process.argv[1]!, 'score', '--load-only', '--db', url, '--customers', String(customers)],
    { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (child.status !== 0) throw new Error(`loading the synthetic shop failed (exit ${child.status})`);
  const loaded = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
    customers: number;
    orders: number;
    consents: number;
    seconds: number;
  };
  process.stderr.write(
    `loaded ${loaded.customers.toLocaleString('en')} customers, ${loaded.orders.toLocaleString('en')} orders, ${loaded.consents.toLocaleString('en')} consent entries in ${loaded.seconds.toFixed(1)} s\n`,
  );

  const db = await openDatabase(url);
  try {
    const loadBefore = loadavg()[0]!;
    const result = await scoreCustomers({ db, clock: { now: () => NOW } }, {});
    // Other processes on the machine slow the wall clock, not the CPU seconds: report both.
    const loadAfter = loadavg()[0]!;
    const rss = peakRssMiB();
    process.stderr.write(
      `scored in ${result.seconds.total.toFixed(1)} s (read ${result.seconds.read.toFixed(1)}, fit ${result.seconds.fit.toFixed(1)}, write ${result.seconds.write.toFixed(1)}); ` +
        `BG/NBD r=${result.bgNbd?.r.toFixed(3)} alpha=${result.bgNbd?.alpha.toFixed(2)} a=${result.bgNbd?.a.toFixed(3)} b=${result.bgNbd?.b.toFixed(3)}; peak RSS ${rss} MiB\n`,
    );
    const baseline = await naiveBaseline(db, result, Number(values.baseline));
    report(
      {
        name: `score_${db.dialect}`,
        ops_per_s: Math.round(result.customers / result.seconds.total),
        baseline_ops_per_s: Math.round(baseline),
        customers: result.customers,
        orders: result.orders,
        seconds: Number(result.seconds.total.toFixed(1)),
        cpu_s: Number(result.seconds.cpu.toFixed(1)),
        read_s: Number(result.seconds.read.toFixed(1)),
        fit_s: Number(result.seconds.fit.toFixed(1)),
        write_s: Number(result.seconds.write.toFixed(1)),
        load_s: Number(loaded.seconds.toFixed(1)),
        peak_rss_mib: rss,
        load_avg_1m: [Number(loadBefore.toFixed(1)), Number(loadAfter.toFixed(1))],
        p_return:
          'reason' in result.pReturn
            ? result.pReturn.reason
            : `${result.pReturn.method} (AUC ${result.pReturn.auc[result.pReturn.method]?.toFixed(3)})`,
      },
      values.json!,
    );
  } finally {
    if (schema && !values.keep) await sql`drop schema ${sql.id(schema)} cascade`.execute(db.kysely);
    await db.close();
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}
