/**
 * Scale benchmark: one run through every stage on a synthetic shop of any size: generate + import
 * (streamed in chunks), scoring, audience evaluation + enrolment of everyone who qualifies,
 * scheduling (a reserved message per enrolment), and rendering + sending up to `--mails` messages
 * to a local SMTP sink (its own process) through `comeback worker` processes. Each stage runs in a
 * process of its own, so its peak RSS is its own; the workers' peak RSS is read from
 * /proc/PID/status (VmHWM). Enrolment is compared with the naive row-by-row way on a sample.
 *   npm run bench -- scale --customers N [--orders-per-customer 5] [--mails 100000]
 *     [--backend sqlite|postgres] [--workers 1|2] [--baseline 1000] [--max-in-doubt N] [--json] [--keep]
 * `--keep` leaves the database; `--resume DIR [--db URL] --mails N` then runs only the send stage on it.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { openDatabase } from '../src/db/index.js';
import {
  limitDue,
  ROOT,
  scaleCounts,
  stageEnroll,
  stageLoad,
  stageSchedule,
  stageScore,
  writeScaleSequences,
  type ScaleCounts,
  type StageResult,
} from './_scale-stages.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Child mode: runs one stage and prints its result as one JSON line. */
async function runStage(
  stage: string,
  url: string,
  dir: string,
  values: Record<string, string | boolean | undefined>,
): Promise<void> {
  let r: StageResult;
  if (stage === 'import') r = await stageLoad(url, Number(values.customers), Number(values['orders-per-customer']));
  else if (stage === 'score') r = await stageScore(url);
  else if (stage === 'enroll') r = await stageEnroll(url, dir, Number(values.baseline));
  else if (stage === 'schedule') r = await stageSchedule(url, dir);
  else throw new Error(`unknown stage ${stage}`);
  // CPU seconds of the whole stage process: unlike wall time, not inflated by other load on the machine.
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ ...r, cpu_s: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)) })}\n`);
}

/** Runs a stage in a child process and returns what it printed. */
function child(stage: string, args: string[]): Promise<StageResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [process.argv[1]!, 'scale', '--stage', stage, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`stage ${stage} failed (exit ${code})`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as StageResult);
    });
  });
}

/** The SMTP sink in its own process (bench/_sink.ts): counts what it accepted. */
async function startSink(): Promise<{ proc: ChildProcess; port: number; count: () => Promise<number> }> {
  const proc = fork(join(here, '_sink.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((res) => proc.once('message', (m) => res((m as { port: number }).port)));
  const count = () =>
    new Promise<number>((res) => {
      proc.once('message', (m) => res((m as { count: number }).count));
      proc.send('count');
    });
  return { proc, port, count };
}

/** Starts `comeback worker`; resolves once it logged that it runs. Its stderr is drained, only the tail kept. */
function spawnWorker(configFile: string): Promise<{ proc: ChildProcess; tail: () => string }> {
  const proc = spawn(
    process.execPath,
    [join(ROOT, 'bin/comeback.js'), '--config', configFile, 'worker', '--no-status', '--dev'],
    { env: { ...process.env, COMEBACK_LOG: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  let started = false;
  return new Promise((res, rej) => {
    proc.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
      if (!started && err.includes('worker started')) {
        started = true;
        res({ proc, tail: () => err });
      }
    });
    proc.once('exit', (code) => !started && rej(new Error(`worker exited with ${code}: ${err}`)));
  });
}

/** Peak RSS (VmHWM) of a live process, in MiB, from /proc (Linux). */
function vmHwmMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** CPU seconds (user + system) a live process used so far, from /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

/** Stage 5: `workers` worker processes render and send every due message to the sink. */
async function sendThroughWorkers(
  config: Record<string, unknown>,
  dir: string,
  due: number,
  workers: number,
): Promise<StageResult> {
  const sink = await startSink();
  const redis = config.redisUrl ? await redisMemory(config.redisUrl as string) : undefined;
  const configFile = join(dir, 'worker.json');
  writeFileSync(
    configFile,
    JSON.stringify({ ...config, transport: { type: 'smtp', url: `smtp://127.0.0.1:${sink.port}`, pool: 8 } }),
  );
  const procs: Awaited<ReturnType<typeof spawnWorker>>[] = [];
  try {
    for (let i = 0; i < workers; i++) procs.push(await spawnWorker(configFile));
    const t0 = performance.now();
    let last = -1;
    let lastChange = t0;
    for (;;) {
      const n = await sink.count();
      if (n >= due) break;
      if (n !== last) [last, lastChange] = [n, performance.now()];
      if (performance.now() - lastChange > 60_000)
        throw new Error(`sending stalled at ${n} of ${due}: ${procs[0]!.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - t0) / 1000;
    const rss = procs.map((p) => vmHwmMiB(p.proc.pid!));
    const cpu = procs.reduce((s, p) => s + cpuSeconds(p.proc.pid!), 0);
    const mem = await redis?.stop();
    const queue = mem ? { redis_mib_before: mem.before, redis_mib_peak: mem.peak } : {};
    return {
      stage: 'send',
      items: due,
      unit: 'messages',
      seconds,
      peak_rss_mib: Math.max(...rss),
      cpu_s: Number(cpu.toFixed(1)),
      workers,
      worker_rss_mib: rss.join('/'),
      ...queue,
    };
  } finally {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise((res) =>
            p.proc.exitCode !== null ? res(null) : (p.proc.once('exit', res), p.proc.kill('SIGTERM')),
          ),
      ),
    );
    sink.proc.kill();
  }
}

/** Removes the queue's keys from Redis (jobs, the rate limiter, anything under the prefix). */
async function cleanRedis(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Samples Redis `used_memory` once a second; `stop()` gives the baseline and the peak, in MiB. */
async function redisMemory(url: string): Promise<{ stop: () => Promise<{ before: number; peak: number }> }> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN) / 1048576;
  const before = await used();
  let peak = before;
  const timer = setInterval(
    () =>
      void used().then(
        (m) => (peak = Math.max(peak, m)),
        () => {},
      ),
    1000,
  );
  return {
    async stop() {
      clearInterval(timer);
      peak = Math.max(peak, await used());
      redis.disconnect();
      return { before: Math.round(before), peak: Math.round(peak) };
    },
  };
}

function printTable(name: string, rows: StageResult[], counts: ScaleCounts): void {
  const pad = (s: string, n: number) => s.padStart(n);
  process.stdout.write(
    `\n${name}\n${'stage'.padEnd(10)}${pad('items', 12)} unit        ${pad('seconds', 9)}${pad('items/s', 11)}${pad('cpu s', 8)}${pad('peak RSS MiB', 14)}  baseline/s  ratio\n`,
  );
  for (const r of rows) {
    const rate = r.items / r.seconds;
    const base = r.baseline_per_s
      ? `${pad(Math.round(r.baseline_per_s).toLocaleString('en'), 10)}  ${(rate / r.baseline_per_s).toFixed(1)}×`
      : '';
    process.stdout.write(
      `${r.stage.padEnd(10)}${pad(r.items.toLocaleString('en'), 12)} ${r.unit.padEnd(11)} ${pad(r.seconds.toFixed(1), 9)}${pad(Math.round(rate).toLocaleString('en'), 11)}${pad(String(r.cpu_s), 8)}${pad(String(r.peak_rss_mib), 14)}  ${base}\n`,
    );
  }
  for (const {
    stage,
    items: _i,
    unit: _u,
    seconds: _s,
    peak_rss_mib: _p,
    cpu_s: _c,
    baseline_per_s: _b,
    ...extras
  } of rows)
    process.stdout.write(`${stage}: ${JSON.stringify(extras)}\n`);
  process.stdout.write(`checks: ${JSON.stringify(counts)}\n`);
}

/** Runs the benchmark. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      customers: { type: 'string', default: '100000' },
      'orders-per-customer': { type: 'string', default: '5' },
      mails: { type: 'string', default: '100000' },
      backend: { type: 'string', default: 'sqlite' },
      workers: { type: 'string', default: '1' },
      baseline: { type: 'string', default: '1000' },
      'max-in-doubt': { type: 'string' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      pg: { type: 'string', default: process.env.COMEBACK_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test' },
      redis: { type: 'string', default: process.env.COMEBACK_TEST_REDIS ?? 'redis://127.0.0.1:6379' },
      stage: { type: 'string' },
      resume: { type: 'string' },
      db: { type: 'string' },
      dir: { type: 'string' },
    },
  });
  if (values.stage) return runStage(values.stage, values.db!, values.dir!, values);
  const backend = values.backend;
  if (backend !== 'sqlite' && backend !== 'postgres') throw new Error('--backend is sqlite or postgres');
  const workers = Number(values.workers);
  if (backend === 'sqlite' && workers !== 1)
    throw new Error('SQLite has one writer: --workers 2 needs --backend postgres');
  const customers = Number(values.customers);
  // --resume DIR: only the send stage, on the database a run with --keep left in DIR (SQLite) or --db.
  const dir = values.resume ?? mkdtempSync(join(tmpdir(), 'comeback-bench-scale-'));
  const seqDir = writeScaleSequences(join(dir, 'sequences'));
  const stamp = `${process.pid}_${Date.now().toString(36)}`;
  const schema = `bench_scale_${stamp}`;
  const url =
    values.resume && values.db
      ? values.db
      : backend === 'postgres'
        ? `${values.pg}${values.pg.includes('?') ? '&' : '?'}schema=${schema}`
        : join(dir, 'scale.db');
  const queueName = `bench-scale-${stamp}`;
  const args = [
    '--db',
    url,
    '--dir',
    seqDir,
    '--customers',
    String(customers),
    '--orders-per-customer',
    values['orders-per-customer'],
    '--baseline',
    values.baseline,
  ];
  const rows: StageResult[] = [];
  const log = (r: StageResult) =>
    process.stderr.write(
      `${r.stage}: ${r.items.toLocaleString('en')} ${r.unit} in ${r.seconds.toFixed(1)} s (cpu ${r.cpu_s} s), peak RSS ${r.peak_rss_mib} MiB, load ${loadavg()[0]!.toFixed(1)}${r.baseline_per_s ? `, naive ${Math.round(r.baseline_per_s)}/s` : ''}\n`,
    );
  try {
    for (const stage of values.resume ? [] : ['import', 'score', 'enroll', 'schedule']) {
      rows.push(await child(stage, args));
      log(rows.at(-1)!);
    }
    const sentBefore = values.resume ? (await scaleCounts(url)).sent : 0;
    const due = await limitDue(url, Number(values.mails));
    const config = {
      database: url,
      sequencesDir: seqDir,
      templatesDir: join(ROOT, 'templates'),
      redisUrl: backend === 'postgres' ? values.redis : undefined,
      worker: {
        batchSize: 1000,
        concurrency: 32,
        pollIntervalMs: 100,
        audienceIntervalMs: 0,
        queueName,
        ...(values['max-in-doubt'] ? { maxInDoubt: Number(values['max-in-doubt']) } : {}),
      },
    };
    const send = await sendThroughWorkers(config, dir, due, workers);
    rows.push(send);
    log(send);
    const counts = await scaleCounts(url);
    if (counts.duplicate_messages || counts.duplicate_enrolments || counts.sent - sentBefore !== due)
      throw new Error(`invariant broken: ${JSON.stringify(counts)}`);
    const name = `scale_${backend}${backend === 'postgres' ? `_bullmq_${workers}w` : ''}`;
    if (!values.json) printTable(`${name}: ${customers.toLocaleString('en')} customers`, rows, counts);
    else {
      for (const r of rows) {
        const { stage, baseline_per_s, ...extras } = r;
        const ops = Math.round(r.items / r.seconds);
        const base = baseline_per_s === undefined ? null : Math.round(baseline_per_s);
        process.stdout.write(
          `${JSON.stringify({ name: `${name}_${stage}`, ops_per_s: ops, baseline_ops_per_s: base, ratio: base ? Number((ops / base).toFixed(1)) : null, customers, ...extras, seconds: Number(r.seconds.toFixed(2)) })}\n`,
        );
      }
    }
  } finally {
    if (!values.keep) {
      if (backend === 'postgres') {
        await cleanRedis(values.redis, queueName).catch((e: Error) =>
          process.stderr.write(`redis cleanup: ${e.message}\n`),
        );
        const db = await openDatabase(values.pg);
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db.kysely);
        await db.close();
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
