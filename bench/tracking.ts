/**
 * Tracking server benchmark: autocannon on loopback against the click and open-pixel endpoints of
 * the real server with event persistence on (SQLite file, or PostgreSQL with `--db postgres`;
 * batched writer), beside a bare fastify route that does nothing, each server in its own process
 * pinned to one core. After every run the server is stopped with SIGTERM and the stored events are
 * counted against the responses the client received and the events the server accepted; a last
 * run sends SIGTERM in the middle of the load.
 * A paced run offers a fixed rate (default 5,000 clicks/s, open loop, see `_paced.ts`) and gives
 * the p99 at that rate, measured from when each request was due.
 *   npm run bench -- tracking [--seconds 8] [--rounds 2] [--connections 50] [--messages 10000] [--history 250000]
 *     [--cpu 1|none] [--rate 5000] [--db sqlite|postgres|sqlite,postgres] [--json]
 */
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createEngine } from '../src/app.js';
import { openDatabase } from '../src/db/index.js';
import { TokenSigner } from '../src/tracking/tokens.js';
import { paced } from './_paced.js';
import { BENCH_SECRET } from './_tracking-server.js';
import { report } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHROME =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

/**
 * Creates the database with `count` sent messages of three links each and `history` earlier
 * delivery and open events: the events table of a shop that has been sending for a while (writing
 * into its indexes costs more than into an empty table's).
 */
async function seed(database: string, count: number, history: number): Promise<void> {
  const engine = await createEngine({ database, secret: BENCH_SECRET }, { sequences: [] });
  const k = engine.ctx.k;
  const now = Date.now();
  for (let i = 0; i < count; i += 500) {
    const n = Math.min(500, count - i);
    await k.transaction().execute(async (trx) => {
      const customers = await trx
        .insertInto('customers')
        .values(
          Array.from({ length: n }, (_, j) => ({
            external_id: `b-${i + j}`,
            email: `b${i + j}@example.com`,
            email_hash: `h${i + j}`,
            locale: 'en',
            time_zone: 'Europe/Berlin',
            created_at: now,
            updated_at: now,
          })),
        )
        .returning('id')
        .execute();
      const enrollments = await trx
        .insertInto('enrollments')
        .values(
          customers.map((c) => ({
            customer_id: c.id,
            sequence_id: 'bench',
            sequence_version: 1,
            status: 'active',
            enrolled_at: now - 86_400_000,
            next_due_at: null,
          })),
        )
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
            links: JSON.stringify([
              `https://shop.example.com/new?utm_source=comeback&c=${e.id}`,
              'https://shop.example.com/sale?utm_source=comeback',
              'https://shop.example.com/',
            ]),
            due_at: sentAt,
            reserved_at: sentAt,
            sent_at: sentAt,
            updated_at: now,
          })),
        )
        .execute();
    });
  }
  const past = now - 30 * 86_400_000;
  for (let i = 0; i < history; i += 1000) {
    const rows = Array.from({ length: Math.min(1000, history - i) }, (_, j) => {
      const id = 1 + ((i + j) % count);
      return {
        message_id: id,
        customer_id: id,
        enrollment_id: id,
        type: (i + j) % 3 === 0 ? 'open' : 'delivered',
        source: 'history',
        user_agent: CHROME,
        occurred_at: past + i + j,
      };
    });
    await k.insertInto('events').values(rows).execute();
  }
  await engine.close();
}

/** A server process pinned to one core; resolves with its port once it listens. */
async function startServer(
  database: string,
  mode: 'tracking' | 'bare',
  cpu: number | null,
): Promise<{ child: ChildProcess; port: number; done: Promise<string> }> {
  const script = join(here, '_tracking-server.js');
  const pinned = cpu !== null && spawnSync('taskset', ['--version']).status === 0;
  const child = pinned
    ? spawn('taskset', ['-c', String(cpu), process.execPath, script, database, mode], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : spawn(process.execPath, [script, database, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
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

/** What the server process printed on a graceful exit: requests answered, CPU time, writer counts. */
interface ServerExit {
  requests: number;
  cpuMs: number;
  counts?: { accepted: number };
}

function exitOf(out: string): ServerExit {
  const last = out.trim().split('\n').pop() ?? '';
  const parsed = (last.startsWith('{') ? JSON.parse(last) : {}) as Partial<ServerExit> & { closed?: boolean };
  if (!parsed.closed) throw new Error(`the benchmark server did not exit gracefully: ${out.slice(-300)}`);
  return parsed as ServerExit;
}

async function countEvents(database: string): Promise<number> {
  const db = await openDatabase(database);
  try {
    const r = await db.kysely
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
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

function load(
  port: number,
  paths: string[],
  seconds: number,
  connections: number,
  acceptedStatus: number,
): Promise<Load> {
  let n = Math.floor(Math.random() * paths.length);
  const instance = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    headers: { 'user-agent': CHROME },
    requests: [{ setupRequest: (req) => ({ ...req, path: paths[n++ % paths.length]! }) }],
  });
  return instance.then((r) => ({
    rps: r.requests.average,
    p99: r.latency.p99,
    accepted:
      (r.statusCodeStats as Record<string, { count?: number }> | undefined)?.[String(acceptedStatus)]?.count ?? 0,
  }));
}

/** One run's figures and what happened to its events. */
interface Measured extends Load {
  /** Events stored by this server process, and events its writer accepted. */
  stored: number;
  serverAccepted: number;
  /** Server CPU time per answered request (µs): the cost on one core, whatever else the machine runs. */
  cpuUsPerRequest: number;
}

interface MeasureOptions {
  database: string;
  mode: 'tracking' | 'bare';
  paths: string[];
  seconds: number;
  connections: number;
  cpu: number | null;
  acceptedStatus: number;
  /** SIGTERM half-way through the load instead of after it. */
  sigtermMidway?: boolean;
  /** Offer this many requests per second (open loop) instead of autocannon's closed loop. */
  rate?: number;
}

/**
 * One timed run against a fresh server process, after a one-second warm-up (JIT, message cache);
 * then SIGTERM. `accepted` counts the warm-up's responses too, so it compares with the events
 * stored by this process: stored ≥ accepted (requests in flight when the client stopped are
 * stored without being counted), and stored = what the server accepted.
 */
async function measure(o: MeasureOptions): Promise<Measured> {
  const before = o.mode === 'bare' ? 0 : await countEvents(o.database);
  const server = await startServer(o.database, o.mode, o.cpu);
  const warm = await load(server.port, o.paths, 1, o.connections, o.acceptedStatus);
  const mid = o.sigtermMidway ? setTimeout(() => server.child.kill('SIGTERM'), (o.seconds * 1000) / 2) : undefined;
  let result: Load;
  if (o.rate) {
    const r = await paced({
      port: server.port,
      paths: o.paths,
      rate: o.rate,
      seconds: o.seconds,
      connections: o.connections,
      headers: { 'user-agent': CHROME },
    });
    result = { rps: r.rps, p99: r.p99, accepted: r.statuses[o.acceptedStatus] ?? 0 };
  } else {
    result = await load(server.port, o.paths, o.seconds, o.connections, o.acceptedStatus);
  }
  if (mid) clearTimeout(mid);
  if (!o.sigtermMidway) server.child.kill('SIGTERM');
  const exit = exitOf(await server.done);
  const cpuUsPerRequest = Math.round((exit.cpuMs * 1000) / Math.max(1, exit.requests));
  const accepted = result.accepted + warm.accepted;
  if (o.mode === 'bare') return { ...result, accepted, stored: 0, serverAccepted: 0, cpuUsPerRequest };
  const stored = (await countEvents(o.database)) - before;
  return { ...result, accepted, stored, serverAccepted: exit.counts?.accepted ?? 0, cpuUsPerRequest };
}

/** Events answered as recorded (or accepted by the server) but not in the database. */
function lost(runs: Measured[]): number {
  return runs.reduce((s, r) => s + Math.max(0, r.accepted - r.stored, r.serverAccepted - r.stored), 0);
}

/** A fresh database for one backend: a SQLite file, or a new schema in PostgreSQL. */
function databaseFor(backend: string, pg: string): string {
  if (backend === 'postgres')
    return `${pg}${pg.includes('?') ? '&' : '?'}schema=bench_tracking_${Date.now().toString(36)}`;
  if (backend === 'sqlite') return join(mkdtempSync(join(tmpdir(), 'comeback-bench-tracking-')), 'bench.db');
  throw new Error(`--backend is sqlite, postgres or both, not "${backend}"`);
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
      history: { type: 'string', default: '250000' },
      cpu: { type: 'string', default: '1' },
      rate: { type: 'string', default: '5000' },
      backend: { type: 'string', default: 'sqlite' },
      pg: { type: 'string', default: process.env.COMEBACK_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test' },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const messages = Number(values.messages);
  const rate = Number(values.rate);
  const cpu = values.cpu === 'none' ? null : Number(values.cpu);
  const backends = values.backend === 'both' ? ['sqlite', 'postgres'] : [values.backend];
  const signer = new TokenSigner(BENCH_SECRET);
  const ids = Array.from({ length: 20_000 }, () => 1 + Math.floor(Math.random() * messages));
  // People: each message's visitor clicks one of its links (a scanner's burst over several links is
  // tested in test/tracking/classify.test.ts, not timed here).
  const clickPaths = ids.map((id) => `/c/${signer.sign({ purpose: 'click', id, index: id % 3 })}`);
  const openPaths = ids.map((id) => `/o/${signer.sign({ purpose: 'open', id })}.gif`);
  const common = { seconds, connections, messages, cpu };

  const failures: string[] = [];
  for (const backend of backends) {
    const database = databaseFor(backend, values.pg);
    await seed(database, messages, Number(values.history));
    const runs = { bare: [] as Measured[], click: [] as Measured[], open: [] as Measured[] };
    for (let r = 0; r < rounds; r++) {
      runs.bare.push(await measure({ ...common, database, mode: 'bare', paths: ['/bare'], acceptedStatus: 200 }));
      runs.click.push(await measure({ ...common, database, mode: 'tracking', paths: clickPaths, acceptedStatus: 307 }));
      runs.open.push(await measure({ ...common, database, mode: 'tracking', paths: openPaths, acceptedStatus: 200 }));
    }
    const atRate = await measure({
      ...common,
      database,
      mode: 'tracking',
      paths: clickPaths,
      acceptedStatus: 307,
      rate,
    });
    // The same offered rate against the bare route: the floor this machine's scheduling leaves.
    const bareAtRate = await measure({
      ...common,
      database,
      mode: 'bare',
      paths: ['/bare'],
      acceptedStatus: 200,
      rate,
    });
    const sigterm = await measure({
      ...common,
      database,
      mode: 'tracking',
      paths: clickPaths,
      acceptedStatus: 307,
      sigtermMidway: true,
    });

    const avg = (xs: Measured[], f: (l: Measured) => number) => xs.reduce((s, x) => s + f(x), 0) / xs.length;
    const baseline = avg(runs.bare, (l) => l.rps);
    const suffix = backend === 'sqlite' ? '' : `_${backend}`;
    const context = {
      backend,
      connections,
      seconds,
      rounds,
      messages,
      history: Number(values.history),
      events_after: await countEvents(database),
      cpu: cpu ?? 'unpinned',
      load_avg: Number(loadavg()[0]!.toFixed(1)),
    };
    for (const [name, list] of [
      [`tracking_click_recorded${suffix}`, runs.click],
      [`tracking_open_pixel_recorded${suffix}`, runs.open],
    ] as const) {
      report(
        {
          name,
          ops_per_s: Math.round(avg(list, (l) => l.rps)),
          baseline_ops_per_s: Math.round(baseline),
          p99_ms: Math.max(...list.map((l) => l.p99)),
          baseline_p99_ms: Math.max(...runs.bare.map((l) => l.p99)),
          runs_ops_per_s: list.map((l) => Math.round(l.rps)).join('/'),
          // CPU per request (robust on a busy machine) and the rate one free core would sustain.
          cpu_us_per_req: Math.round(avg(list, (l) => l.cpuUsPerRequest)),
          baseline_cpu_us_per_req: Math.round(avg(runs.bare, (l) => l.cpuUsPerRequest)),
          one_core_capacity_per_s: Math.round(1e6 / avg(list, (l) => l.cpuUsPerRequest)),
          accepted: list.reduce((s, x) => s + x.accepted, 0),
          stored: list.reduce((s, x) => s + x.stored, 0),
          lost: lost(list),
          ...(name.startsWith('tracking_click')
            ? {
                paced_rate: rate,
                paced_ops_per_s: Math.round(atRate.rps),
                paced_p99_ms: atRate.p99,
                paced_baseline_p99_ms: bareAtRate.p99,
                paced_lost: lost([atRate]),
                sigterm_accepted: sigterm.accepted,
                sigterm_stored: sigterm.stored,
                sigterm_lost: lost([sigterm]),
              }
            : {}),
          ...context,
        },
        values.json,
      );
    }
    if (backend === 'postgres') await dropSchema(database);
    else rmSync(dirname(database), { recursive: true, force: true });
    const lostHere = lost([...runs.click, ...runs.open, atRate, sigterm]);
    if (lostHere > 0) failures.push(`${backend}: ${lostHere} accepted events are not in the database`);
  }
  // A lost event fails the benchmark (exit code 1), whatever the figures.
  if (failures.length > 0) throw new Error(`tracking benchmark: ${failures.join('; ')}`);
}

/** Removes the benchmark's PostgreSQL schema. */
async function dropSchema(url: string): Promise<void> {
  const schema = new URL(url).searchParams.get('schema');
  if (!schema) return;
  const db = await openDatabase(url);
  try {
    await sql`drop schema ${sql.id(schema)} cascade`.execute(db.kysely);
  } finally {
    await db.close();
  }
}
