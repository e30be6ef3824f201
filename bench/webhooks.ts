/**
 * Outbound webhook benchmark: events per second delivered to a local receiver (its own process,
 * answering 204) by the engine's path — events written to the outbox, fanned out, claimed with a
 * lease, signed and posted by the dispatcher with its per-endpoint pool, each outcome recorded —
 * beside a naive sender that posts one signed request per event as it happens, awaiting each,
 * with no outbox (nothing survives a crash, nothing is retried).
 *   npm run bench -- webhooks [--events 5000] [--customers 1000] [--db sqlite|postgres] [--concurrency 8] [--json]
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createEngine } from '../src/app.js';
import { emitEvents, secretKey, signedHeaders, WebhookDispatcher } from '../src/webhooks/index.js';
import { report } from './report.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const RECEIVER = `require('http').createServer((q, s) => { q.resume(); q.on('end', () => { s.writeHead(204); s.end(); }); })
  .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;

/** Starts the receiver process; resolves with its URL and a stop function. */
async function receiver(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) =>
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  return { url: `http://127.0.0.1:${port}/hooks`, stop: () => child.kill() };
}

/** The naive sender: one signed POST per event, awaited in turn. */
async function naive(url: string, events: number): Promise<number> {
  const key = secretKey(SECRET);
  const started = performance.now();
  for (let i = 0; i < events; i++) {
    const body = JSON.stringify({
      type: 'message.sent',
      version: 1,
      id: `evt_${i}`,
      timestamp: new Date().toISOString(),
      data: { customer: { id: i % 1000 } },
    });
    const res = await fetch(url, {
      method: 'POST',
      headers: signedHeaders([key], `evt_${i}`, Math.floor(Date.now() / 1000), body),
      body,
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`receiver answered ${res.status}`);
  }
  return events / ((performance.now() - started) / 1000);
}

/** The engine: events in the outbox, the dispatcher running until every one is delivered. */
async function engine(
  url: string,
  events: number,
  customers: number,
  database: string,
  concurrency: number,
): Promise<number> {
  const e = await createEngine(
    {
      database,
      webhooks: [{ name: 'bench', url, events: ['*'], secret: SECRET }],
      webhookDelivery: { allowLocal: true, concurrency, pollIntervalMs: 20 },
    },
    { sequences: [], logger: pino({ level: 'silent' }), jobs: false },
  );
  try {
    const now = Date.now();
    await e.ctx.k.transaction().execute((trx) =>
      emitEvents(
        trx,
        e.ctx.config,
        Array.from({ length: events }, (_, i) => ({
          type: 'sequence.paused' as const,
          customerId: i % customers,
          sequenceId: 'bench',
          data: { reason: 'bench' },
          occurredAt: now,
        })),
      ),
    );
    const d = new WebhookDispatcher(e.ctx);
    const started = performance.now();
    d.start();
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      const row = await e.ctx.k
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'delivered')
        .executeTakeFirstOrThrow();
      if (Number(row.n) >= events) break;
    }
    const rate = events / ((performance.now() - started) / 1000);
    await d.stop();
    return rate;
  } finally {
    await e.close();
  }
}

/** Runs the benchmark. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string', default: '5000' },
      customers: { type: 'string', default: '1000' },
      db: { type: 'string', default: 'sqlite' },
      concurrency: { type: 'string', default: '8' },
      json: { type: 'boolean', default: false },
    },
  });
  const events = Number(values.events);
  const customers = Number(values.customers);
  const concurrency = Number(values.concurrency);
  const database =
    values.db === 'postgres'
      ? `${process.env.COMEBACK_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test'}?schema=bench_hooks_${process.pid}`
      : `/tmp/comeback-bench-webhooks-${process.pid}.db`;
  const r = await receiver();
  try {
    const baseline = await naive(r.url, events);
    const ours = await engine(r.url, events, customers, database, concurrency);
    report(
      {
        name: `webhooks (${values.db}, ${concurrency} in flight)`,
        ops_per_s: Number(ours.toFixed(0)),
        baseline_ops_per_s: Number(baseline.toFixed(0)),
        events,
        customers,
        load: loadavg()[0]!.toFixed(1),
      },
      values.json!,
    );
  } finally {
    r.stop();
  }
}
