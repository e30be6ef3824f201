/**
 * Tracking server benchmark: autocannon on loopback against the click and open-pixel endpoints of
 * the real server with event persistence on (SQLite file, batched writer), beside a bare fastify
 * route that does nothing, each server in its own process pinned to one core. After every run the
 * server is stopped with SIGTERM and the stored events are counted against the responses the
 * client received; a last run sends SIGTERM in the middle of the load.
 * A run at a fixed offered rate (default 5,000 requests/s) gives the p99 at that rate, corrected
 * for coordinated omission.
 *   npm run bench -- tracking [--seconds 8] [--rounds 2] [--connections 50] [--messages 10000] [--cpu 1|none] [--rate 5000] [--json]
 */
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createEngine } from '../src/app.js';
import { openDatabase } from '../src/db/index.js';
import { TokenSigner } from '../src/tracking/tokens.js';
import { BENCH_SECRET } from './_tracking-server.js';
import { report } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

/** Creates the database with `count` sent messages of three links each. */
async function seed(database: string, count: number): Promise<void> {
  const engine = await createEngine({ database, secret: BENCH_SECRET }, { sequences: [] });
  const k = engine.ctx.k;
  const now = Date.now();
  for (let i = 0; i < count; i += 500) {
    const n = Math.min(500, count - i);
    await k.transaction().execute(async (trx) => {
      const customers = await trx
        .insertInto('customers')
        .values(Array.from({ length: n }, (_, j) => ({ external_id: `b-${i + j}`, email: `b${i + j}@example.com`, email_hash: `h${i + j}`, locale: 'en', time_zone: 'Europe/Berlin', created_at: now, updated_at: now })))
        .returning('id')
        .execute();
      const enrollments = await trx
        .insertInto('enrollments')
        .values(customers.map((c) => ({ customer_id: c.id, sequence_id: 'bench', sequence_version: 1, status: 'active', enrolled_at: now - 86_400_000, next_due_at: null })))
        .returning(['id', 'customer_id'])
        .execute();
      const sentAt = now - 3_600_000;
      await trx
        .insertInto('messages')
        .values(
          enrollments.map((e) => ({
            enrollment_id: e.id,
            customer_id: e.customer_id,
            sequence_id: 'bench',
            step_id: 'one',
            template: 'winback/miss-you',
            status: 'sent',
            links: JSON.stringify([`https://shop.example.com/new?utm_source=comeback&c=${e.id}`, 'https://shop.example.com/sale?utm_source=comeback', 'https://shop.example.com/']),
            due_at: sentAt,
            reserved_at: sentAt,
            sent_at: sentAt,
            updated_at: now,
          })),
        )
        .execute();
    });
  }
  await engine.close();
}

/** A server process pinned to one core; resolves with its port once it listens. */
async function startServer(database: string, mode: 'tracking' | 'bare', cpu: number | null): Promise<{ child: ChildProcess; port: number; done: Promise<string> }> {
  const script = join(here, '_tracking-server.js');
  const pinned = cpu !== null && spawnSync('taskset', ['--version']).status === 0;
  const child = pinned ? spawn('taskset', ['-c', String(cpu), process.execPath, script, database, mode], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(process.execPath, [script, database, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const done = new Promise<string>((resolve) => child.on('exit', () => resolve(out)));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`benchmark server exited with ${code} before listening`)));
  });
  return { child, port, done };
}

async function countEvents(database: string): Promise<number> {
  const db = await openDatabase(database);
  try {
    const r = await db.kysely.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  } finally {
    await db.close();
  }
}

interface Load {
  rps: number;
  p99: number;
  /** Responses that mean "recorded": 307 for clicks, 200 for the pixel and the bare route. */
  accepted: number;
}

function load(port: number, paths: string[], seconds: number, connections: number, acceptedStatus: number, rate?: number): Promise<Load> {
  let n = Math.floor(Math.random() * paths.length);
  const instance = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    // At a fixed offered rate, autocannon corrects latencies for coordinated omission.
    ...(rate ? { overallRate: rate } : {}),
    headers: { 'user-agent': CHROME },
    requests: [{ setupRequest: (req) => ({ ...req, path: paths[n++ % paths.length]! }) }],
  });
  return instance.then((r) => ({ rps: r.requests.average, p99: r.latency.p99, accepted: (r.statusCodeStats as Record<string, { count?: number }> | undefined)?.[String(acceptedStatus)]?.count ?? 0 }));
}

/**
 * One timed run against a fresh server process, after a one-second warm-up (JIT, message cache);
 * then SIGTERM (or, with `sigtermMidway`, SIGTERM half-way through the load). `accepted` counts
 * the warm-up's responses too, so it compares exactly with the events stored by this process.
 */
async function measure(database: string, mode: 'tracking' | 'bare', paths: string[], seconds: number, connections: number, cpu: number | null, acceptedStatus: number, sigtermMidway = false, rate?: number): Promise<Load & { stored: number }> {
  const before = mode === 'bare' ? 0 : await countEvents(database);
  const server = await startServer(database, mode, cpu);
  const warm = await load(server.port, paths, 1, connections, acceptedStatus);
  const mid = sigtermMidway ? setTimeout(() => server.child.kill('SIGTERM'), (seconds * 1000) / 2) : undefined;
  const result = await load(server.port, paths, seconds, connections, acceptedStatus, rate);
  if (mid) clearTimeout(mid);
  if (!sigtermMidway) server.child.kill('SIGTERM');
  await server.done;
  const stored = mode === 'bare' ? 0 : (await countEvents(database)) - before;
  return { ...result, accepted: result.accepted + warm.accepted, stored };
}

/** `npm run bench -- tracking`. */
export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      seconds: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '2' },
      connections: { type: 'string', default: '50' },
      messages: { type: 'string', default: '10000' },
      cpu: { type: 'string', default: '1' },
      rate: { type: 'string', default: '5000' },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const messages = Number(values.messages);
  const cpu = values.cpu === 'none' ? null : Number(values.cpu);
  const database = join(mkdtempSync(join(tmpdir(), 'comeback-bench-tracking-')), 'bench.db');
  await seed(database, messages);
  const signer = new TokenSigner(BENCH_SECRET);
  const ids = Array.from({ length: 20_000 }, () => 1 + Math.floor(Math.random() * messages));
  // People: each message's visitor clicks one of its links (a scanner's burst over several links is
  // tested in test/server/classify.test.ts, not timed here).
  const clickPaths = ids.map((id) => `/c/${signer.sign({ purpose: 'click', id, index: id % 3 })}`);
  const openPaths = ids.map((id) => `/o/${signer.sign({ purpose: 'open', id })}.gif`);

  const sums = { bare: [] as Load[], click: [] as (Load & { stored: number })[], open: [] as (Load & { stored: number })[] };
  for (let r = 0; r < rounds; r++) {
    sums.bare.push({ ...(await measure(database, 'bare', ['/bare'], seconds, connections, cpu, 200)) });
    sums.click.push(await measure(database, 'tracking', clickPaths, seconds, connections, cpu, 307));
    sums.open.push(await measure(database, 'tracking', openPaths, seconds, connections, cpu, 200));
  }
  const rate = Number(values.rate);
  const atRate = await measure(database, 'tracking', clickPaths, seconds, connections, cpu, 307, false, rate);
  const sigterm = await measure(database, 'tracking', clickPaths, seconds, connections, cpu, 307, true);

  const avg = (xs: Load[], f: (l: Load) => number) => xs.reduce((s, x) => s + f(x), 0) / xs.length;
  const baseline = avg(sums.bare, (l) => l.rps);
  const baselineP99 = Math.max(...sums.bare.map((l) => l.p99));
  const common = { connections, seconds, rounds, messages, cpu: cpu ?? 'unpinned', load_avg: Number(loadavg()[0]!.toFixed(1)) };
  for (const [name, runs] of [['tracking_click_recorded', sums.click], ['tracking_open_pixel_recorded', sums.open]] as const) {
    const accepted = runs.reduce((s, x) => s + x.accepted, 0);
    const stored = runs.reduce((s, x) => s + x.stored, 0);
    report(
      {
        name,
        ops_per_s: Math.round(avg(runs, (l) => l.rps)),
        baseline_ops_per_s: Math.round(baseline),
        p99_ms: Math.max(...runs.map((l) => l.p99)),
        baseline_p99_ms: baselineP99,
        accepted,
        stored,
        lost: Math.max(0, accepted - stored),
        ...(name === 'tracking_click_recorded'
          ? {
              offered_rate: rate,
              at_rate_ops_per_s: Math.round(atRate.rps),
              at_rate_p99_ms: atRate.p99,
              at_rate_lost: Math.max(0, atRate.accepted - atRate.stored),
              sigterm_accepted: sigterm.accepted,
              sigterm_stored: sigterm.stored,
              sigterm_lost: Math.max(0, sigterm.accepted - sigterm.stored),
            }
          : {}),
        ...common,
      },
      values.json,
    );
  }
}
