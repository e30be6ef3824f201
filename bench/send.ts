/**
 * Send benchmark: end-to-end messages per second (schedule → render → SMTP to a local smtp-server
 * sink in its own process) for the embedded backend on SQLite and for BullMQ on PostgreSQL with 1
 * and 2 worker processes, beside the raw ceiling: the same pre-rendered mails pushed to the same
 * sink without the engine (nodemailer's pooled transport with its defaults, tuned, and the engine's
 * own SMTP transport alone). The ratio is against the fastest raw sender measured in the run.
 * `send_mime_build` compares building the messages with the engine's MIME writer against
 * nodemailer's MailComposer (no network).
 *   npm run bench -- send [--messages 4000] [--json] [--pg URL] [--redis URL] [--no-bullmq] [--max-in-doubt N] [--concurrency N] [--profile DIR]
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import pino from 'pino';
import { createEngine } from '../src/app.js';
import { appendConsents } from '../src/consent/ledger.js';
import { toNodemailer } from '../src/delivery/compose.js';
import { MemoryTransport } from '../src/delivery/memory.js';
import { addressOf, buildMime } from '../src/delivery/mime.js';
import { SmtpTransport } from '../src/delivery/smtp.js';
import type { OutgoingMail } from '../src/delivery/types.js';
import type { Engine } from '../src/engine/engine.js';
import { enrollCustomers, type EnrollResult } from '../src/engine/enroll.js';
import { runPool } from '../src/queue/embedded.js';
import { report } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../..');
const SEQUENCE = `id: blast\nname: Benchmark\nversion: 1\naudience:\n  trigger: bench\nconsent: [double_opt_in]\nsteps:\n  - id: hello\n    template: winback/miss-you\n    subject: "{{first_name}}, we miss you"\n`;
const silent = pino({ level: 'silent' });

/** `n` customers with consent; enrolled in one statement so all of them come due at once. */
async function seed(engine: Engine, n: number, tag: string): Promise<void> {
  const input = Array.from({ length: n }, (_, i) => ({
    externalId: `${tag}${i}`,
    email: `${tag}${i}@example.com`,
    firstName: `Kim ${i}`,
    locale: i % 2 ? 'de' : 'en',
    acquiredVia: 'newsletter' as const,
  }));
  const ids: number[] = [];
  for (let i = 0; i < n; i += 1000) ids.push(...(await engine.customers.upsert(input.slice(i, i + 1000))).values());
  const now = engine.ctx.clock.now();
  for (let i = 0; i < n; i += 1000) {
    await appendConsents(
      engine.ctx.k,
      ids.slice(i, i + 1000).map((customerId) => ({
        customerId,
        action: 'grant' as const,
        basis: 'double_opt_in' as const,
        source: 'bench',
        recordedAt: now,
      })),
    );
  }
  const result: EnrollResult = { sequenceId: 'blast', considered: 0, enrolled: 0, holdout: 0, skipped: {} };
  await enrollCustomers(engine.ctx, engine.ctx.sequences.get('blast'), ids, result);
}

function startSink(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(here, '_sink.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((res) => child.once('message', (m) => res({ child, port: (m as { port: number }).port })));
}

async function timed(n: number, fn: () => Promise<unknown>): Promise<{ perSecond: number; seconds: number }> {
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  return { perSecond: n / seconds, seconds };
}

/** CPU time (user + system) of a process in ms from /proc (Linux, 10 ms ticks); undefined elsewhere. */
function cpuMsOf(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** The raw senders: the same pre-rendered mails, no database, no templates. */
async function rawCeilings(mails: OutgoingMail[], port: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const viaNodemailer = async (options: Record<string, unknown>, prebuilt = false) => {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port, pool: true, ...options });
    const send = (m: OutgoingMail) =>
      prebuilt
        ? t.sendMail({ envelope: { from: addressOf(m.from), to: [addressOf(m.to)] }, raw: buildMime(m) })
        : t.sendMail(toNodemailer(m));
    const r = await timed(mails.length, () => Promise.all(mails.map(send)));
    t.close();
    return r.perSecond;
  };
  out.nodemailer_pool_default = await viaNodemailer({});
  out.nodemailer_pool_tuned = await viaNodemailer({ maxConnections: 8, maxMessages: Infinity });
  out.nodemailer_pool_tuned_prebuilt = await viaNodemailer({ maxConnections: 8, maxMessages: Infinity }, true);
  const transport = new SmtpTransport({ type: 'smtp', url: `smtp://127.0.0.1:${port}`, pool: 8, timeoutMs: 60_000 });
  out.transport_alone = (await timed(mails.length, () => runPool(mails, 32, (m) => transport.send(m)))).perSecond;
  await transport.close();
  return out;
}

/** Messages built per second: the engine's one-pass MIME writer and nodemailer's MailComposer (best of three rounds each). */
async function mimeBuild(mails: OutgoingMail[]): Promise<{ engine: number; nodemailer: number }> {
  const compose = (m: OutgoingMail) =>
    new Promise<Buffer>((res, rej) =>
      new MailComposer(toNodemailer(m)).compile().build((err, msg) => (err ? rej(err) : res(msg))),
    );
  let engine = 0;
  let viaNodemailer = 0;
  for (let round = 0; round < 3; round++) {
    engine = Math.max(engine, (await timed(mails.length, async () => mails.forEach((m) => buildMime(m)))).perSecond);
    viaNodemailer = Math.max(viaNodemailer, (await timed(mails.length, () => runPool(mails, 1, compose))).perSecond);
  }
  return { engine, nodemailer: viaNodemailer };
}

/** Node flags for the worker processes (`--profile DIR` writes a V8 CPU profile of each). */
let workerNodeArgs: string[] = [];

interface Worker {
  child: ChildProcess;
  /** Everything the worker logged so far (pino JSON lines). */
  log: () => string;
}

function spawnWorker(configFile: string): Promise<Worker> {
  const child = spawn(
    process.execPath,
    [...workerNodeArgs, join(ROOT, 'bin/comeback.js'), '--config', configFile, 'worker', '--no-status', '--dev'],
    { env: { ...process.env, COMEBACK_LOG: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  return new Promise((res, rej) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('worker started')) res({ child, log: () => err });
    });
    child.once('exit', (code) => rej(new Error(`worker exited with ${code}: ${err.slice(-2000)}`)));
  });
}

/** Stops a worker and returns its mean serial-path timings from the `worker stopped` log line. */
async function stopWorker(w: Worker): Promise<SerialPath | undefined> {
  if (w.child.exitCode === null) {
    const exited = new Promise((r) => w.child.once('exit', r));
    w.child.kill('SIGTERM');
    await exited;
  }
  const line = w
    .log()
    .split('\n')
    .find((l) => l.includes('"worker stopped"'));
  return line ? (JSON.parse(line) as { serialPath?: SerialPath }).serialPath : undefined;
}

type SerialPath = { mails: number; waitMs: number | null; commitMs: number | null; replyMs: number | null };

/** End to end through `comeback worker` processes: from the moment the enrolments are due until every message is sent. */
interface EndToEnd {
  perSecond: number;
  seconds: number;
  cpuMsPerMsg?: number;
  /** Serial path per mail, averaged over the workers: gate wait, `sending` commit, final reply. */
  serial?: { commitMs: number; replyMs: number; waitMs: number };
}

async function endToEnd(n: number, config: Record<string, unknown>, workers: number, tag: string): Promise<EndToEnd> {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-bench-send-'));
  writeFileSync(join(dir, 'blast.yaml'), SEQUENCE);
  const full = { ...config, sequencesDir: dir, templatesDir: join(ROOT, 'templates') };
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(full));
  const engine = await createEngine({ ...full, redisUrl: undefined, transport: { type: 'memory' } } as never, {
    logger: silent,
  });
  const running = await Promise.all(Array.from({ length: workers }, () => spawnWorker(configFile)));
  const children = running.map((w) => w.child);
  let stopped = false;
  try {
    const sent = async () =>
      Number(
        (
          await engine.ctx.k
            .selectFrom('messages')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('status', '=', 'sent')
            .executeTakeFirstOrThrow()
        ).n,
      );
    await seed(engine, n, tag);
    // The workers' CPU time per message: what the figure would be with a core to themselves.
    const cpu = () => {
      const each = children.map((c) => cpuMsOf(c.pid));
      return each.every((v) => v !== undefined) ? each.reduce<number>((a, b) => a + b!, 0) : undefined;
    };
    const cpuBefore = cpu();
    const r = await timed(n, async () => {
      while ((await sent()) < n) await new Promise((r) => setTimeout(r, 50));
    });
    const cpuAfter = cpu();
    const paths = (await Promise.all(running.map(stopWorker))).filter((p): p is SerialPath => !!p && p.mails > 0);
    stopped = true;
    const avg = (key: 'commitMs' | 'replyMs' | 'waitMs') =>
      paths.reduce((s, p) => s + (p[key] ?? 0) * p.mails, 0) / paths.reduce((s, p) => s + p.mails, 0);
    return {
      ...r,
      ...(cpuBefore !== undefined && cpuAfter !== undefined ? { cpuMsPerMsg: (cpuAfter - cpuBefore) / n } : {}),
      ...(paths.length
        ? { serial: { commitMs: avg('commitMs'), replyMs: avg('replyMs'), waitMs: avg('waitMs') } }
        : {}),
    };
  } finally {
    if (!stopped) for (const c of children) c.kill('SIGTERM');
    // Leave no benchmark data behind in a shared PostgreSQL database.
    if (engine.ctx.db.schema)
      await sql`drop schema if exists ${sql.id(engine.ctx.db.schema)} cascade`.execute(engine.ctx.k);
    await engine.close();
  }
}

/** Runs the benchmark. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      messages: { type: 'string', default: '4000' },
      json: { type: 'boolean', default: false },
      pg: { type: 'string', default: process.env.COMEBACK_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test' },
      redis: { type: 'string', default: process.env.COMEBACK_TEST_REDIS ?? 'redis://127.0.0.1:6379' },
      'no-bullmq': { type: 'boolean', default: false },
      // Messages per worker past the point of no return at once (worker.maxInDoubt) and jobs per
      // worker at once (worker.concurrency); default: the product defaults (one per pooled SMTP
      // connection, i.e. 8 here, and 32).
      'max-in-doubt': { type: 'string' },
      concurrency: { type: 'string' },
      profile: { type: 'string' },
    },
  });
  if (values.profile) workerNodeArgs = ['--cpu-prof', `--cpu-prof-dir=${resolve(values.profile)}`];
  const n = Number(values.messages);
  const { child: sink, port } = await startSink();
  const smtp = { type: 'smtp', url: `smtp://127.0.0.1:${port}`, pool: 8 };
  const worker = {
    pollIntervalMs: 100,
    batchSize: 1000,
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
    ...(values['max-in-doubt'] ? { maxInDoubt: Number(values['max-in-doubt']) } : {}),
  };
  try {
    // The mails of the raw ceiling, rendered once by the engine exactly as it sends them.
    const dir = mkdtempSync(join(tmpdir(), 'comeback-bench-mails-'));
    writeFileSync(join(dir, 'blast.yaml'), SEQUENCE);
    const memory = new MemoryTransport();
    const renderer = await createEngine(
      { database: join(dir, 'render.db'), sequencesDir: dir, templatesDir: join(ROOT, 'templates') },
      { transport: memory, logger: silent },
    );
    await seed(renderer, n, 'r');
    await renderer.runDue();
    await renderer.close();
    const mails = memory.sent;
    const kib = mails.reduce((s, m) => s + m.html.length + m.text.length, 0) / mails.length / 1024;

    const mime = await mimeBuild(mails);
    const before = await rawCeilings(mails, port);
    const engines: [string, EndToEnd][] = [];
    const stamp = Date.now().toString(36);
    engines.push([
      'send_embedded_sqlite',
      await endToEnd(
        n,
        { database: join(mkdtempSync(join(tmpdir(), 'comeback-bench-db-')), 'send.db'), transport: smtp, worker },
        1,
        'e',
      ),
    ]);
    if (!values['no-bullmq']) {
      for (const workers of [1, 2]) {
        const database = `${values.pg}${values.pg.includes('?') ? '&' : '?'}schema=bench_send_${stamp}_${workers}`;
        engines.push([
          `send_bullmq_postgres_${workers}_worker${workers > 1 ? 's' : ''}`,
          await endToEnd(
            n,
            {
              database,
              redisUrl: values.redis,
              transport: smtp,
              worker: { ...worker, queueName: `bench-${stamp}-${workers}` },
            },
            workers,
            `b${workers}`,
          ),
        ]);
      }
    }
    const after = await rawCeilings(mails, port);
    const raw = Object.fromEntries(Object.keys(before).map((k) => [k, (before[k]! + after[k]!) / 2]));
    const ceiling = Math.max(...Object.values(raw));
    const round = (x: number) => Math.round(x);
    report(
      {
        name: 'send_mime_build',
        ops_per_s: round(mime.engine),
        baseline_ops_per_s: round(mime.nodemailer),
        us_per_msg: Number((1e6 / mime.engine).toFixed(1)),
        baseline_us_per_msg: Number((1e6 / mime.nodemailer).toFixed(1)),
        avg_kib: Number(kib.toFixed(1)),
      },
      values.json,
    );
    for (const [name, v] of Object.entries(raw))
      report(
        {
          name: `send_raw_${name}`,
          ops_per_s: round(v),
          baseline_ops_per_s: round(ceiling),
          messages: n,
          avg_kib: Number(kib.toFixed(1)),
        },
        values.json,
      );
    for (const [name, r] of engines)
      report(
        {
          name,
          ops_per_s: round(r.perSecond),
          baseline_ops_per_s: round(ceiling),
          messages: n,
          seconds: Number(r.seconds.toFixed(1)),
          concurrency: worker.concurrency ?? 32,
          max_in_doubt: worker.maxInDoubt ?? smtp.pool,
          ...(r.cpuMsPerMsg !== undefined ? { worker_cpu_ms_per_msg: Number(r.cpuMsPerMsg.toFixed(2)) } : {}),
          ...(r.serial
            ? {
                serial_commit_ms: Number(r.serial.commitMs.toFixed(2)),
                serial_reply_ms: Number(r.serial.replyMs.toFixed(2)),
              }
            : {}),
          avg_kib: Number(kib.toFixed(1)),
        },
        values.json,
      );
  } finally {
    sink.kill();
  }
}
