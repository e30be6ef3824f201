import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Engine } from '../engine/engine.js';
import type { PassResult } from '../engine/pass.js';
import { formatOutageStatus, formatStatus, StatusSampler } from './status.js';
import { warmTemplates } from './warm.js';
import { checkWebhookUrls, WebhookDispatcher } from '../webhooks/index.js';

/** How `runWorker` runs. */
export interface RunWorkerOptions {
  /** One pass, then return. */
  once?: boolean;
  /** Passes until nothing is due and nothing is in flight, then return. */
  untilIdle?: boolean;
  /** Redraw a one-line status on this stream (a TTY) every second. */
  statusStream?: NodeJS.WriteStream;
  /** Stop gracefully when this signal fires (the CLI wires SIGTERM/SIGINT to it). */
  signal?: AbortSignal;
  /** Development (`--dev`): webhook endpoints on this machine are allowed. */
  dev?: boolean;
}

/** What a worker run did. */
export interface WorkerSummary {
  passes: number;
  sent: number;
  failed: number;
  retried: number;
  uncertain: number;
  /** True when the shutdown grace time ran out with sends still in flight. */
  timedOut: boolean;
  /**
   * Mean milliseconds per mail on the serial path past the point of no return (null before the
   * first mail): waiting for the in-doubt gate, committing `sending`, the provider's final reply.
   */
  serialPath?: { mails: number; waitMs: number | null; commitMs: number | null; replyMs: number | null };
}

/** Waits `ms` or until `signal` fires; removes its listener either way (one per pass would pile up). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * The worker: schedules and sends in passes until stopped. On `signal` it stops claiming at once
 * (the backend hands out no new jobs), lets sends in flight finish for at most
 * `worker.shutdownTimeoutMs`, and returns; the caller closes the engine and exits.
 */
export async function runWorker(engine: Engine, options: RunWorkerOptions = {}): Promise<WorkerSummary> {
  const ctx = engine.ctx;
  const log = ctx.log;
  const summary: WorkerSummary = { passes: 0, sent: 0, failed: 0, retried: 0, uncertain: 0, timedOut: false };
  const sampler = new StatusSampler(engine);
  const tty = options.statusStream;
  let statusTimer: NodeJS.Timeout | undefined;
  let lastLine = '';
  const outages = [ctx.db.outage, ...(engine.backend.outage ? [engine.backend.outage] : [])];
  const draw = async () => {
    let line: string;
    try {
      line = formatStatus({ ...(await sampler.sample()), outages }, engine.backend.name);
    } catch {
      // The database is down (the line says so) or closing (the next draw or the final line will do).
      if (!ctx.db.outage.down) return;
      line = formatOutageStatus(outages, engine.backend.name);
    }
    const width = tty?.columns ?? 120;
    lastLine = line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line;
    tty?.write(`\r\x1b[2K${lastLine}`);
  };
  if (tty) statusTimer = setInterval(draw, 1000);
  const templates = await warmTemplates(ctx);
  // Outbound webhooks are delivered beside the sends, from the outbox (docs/WEBHOOKS.md).
  await checkWebhookUrls(ctx.config.webhooks, ctx.config.webhookDelivery.allowLocal || options.dev === true);
  const webhooks = new WebhookDispatcher(ctx);
  if (!options.once && !options.untilIdle) webhooks.start();
  log.info(
    {
      backend: engine.backend.name,
      transport: ctx.transport.name,
      dialect: ctx.db.dialect,
      pid: process.pid,
      templates,
    },
    'worker started',
  );
  if (ctx.sequences.ids().length === 0) {
    // Usually a worker started from the wrong folder: say so instead of idling quietly.
    const dir = resolve(ctx.config.sequencesDir);
    log.warn(
      { sequencesDir: dir },
      `no sequences loaded: ${existsSync(dir) ? 'the folder holds no sequence files' : 'the folder does not exist'} (${dir}; set sequencesDir in the config or start the worker in the project folder); only messages already scheduled are sent`,
    );
  }

  let stopping = false;
  let backendStopped: Promise<void> | undefined;
  let stopRequestedNow: (value: undefined) => void = () => {};
  const stopRequested = new Promise<undefined>((resolve) => (stopRequestedNow = resolve));
  const onStop = () => {
    if (stopping) return;
    stopping = true;
    stopRequestedNow(undefined);
    log.info({ graceMs: ctx.config.worker.shutdownTimeoutMs }, 'stopping: no new claims, finishing sends in flight');
    backendStopped = engine.backend.stop(); // no new claims from now on; jobs in flight finish
  };
  options.signal?.addEventListener('abort', onStop, { once: true });
  if (options.signal?.aborted) onStop();

  let passInFlight: Promise<PassResult | undefined> = Promise.resolve(undefined);
  const audienceEvery = ctx.config.worker.audienceIntervalMs;
  let audienceDueAt = 0; // at start, then on the interval
  try {
    while (!stopping) {
      if (audienceEvery > 0 && ctx.clock.now() >= audienceDueAt) {
        audienceDueAt = ctx.clock.now() + audienceEvery;
        await enrollAudiences(engine);
      }
      passInFlight = engine.runDue().then(
        (r) => (ctx.db.outage.ok(), r),
        (err: unknown) => {
          // A lost database is one outage (logged when it begins and ends), not an error per pass.
          if (!ctx.db.outage.failed(err)) log.error({ err }, 'worker pass failed; retrying after the interval');
          return undefined;
        },
      );
      // A pass stuck on an unreachable provider must not hold up a stop: the grace time below applies.
      const r = await Promise.race([passInFlight, stopRequested]);
      summary.passes++;
      if (r) {
        summary.uncertain += r.uncertain;
        if (r.dispatched || r.reserved || r.uncertain || r.released) log.info(r, 'pass');
        if (r.uncertain)
          log.warn(
            { uncertain: r.uncertain },
            'messages left in sending by a stopped worker are now uncertain (not resent)',
          );
      }
      if (options.once) break;
      // A paused sender sends nothing until the pause ends (up to an hour): stop and say so instead.
      if (options.untilIdle && r && (r.paused || (await idle(engine)))) break;
      if (stopping) break;
      await sleep(ctx.config.worker.pollIntervalMs, options.signal);
    }
  } finally {
    options.signal?.removeEventListener('abort', onStop);
  }
  // Stop the backend first: nothing new is claimed, the jobs in flight finish.
  const grace = ctx.config.worker.shutdownTimeoutMs;
  // A run for cron delivers the webhooks that are due before it returns.
  if (options.once || options.untilIdle)
    while (ctx.config.webhooks.length && (await webhooks.tick().catch(() => false)));
  const drained = Promise.all([backendStopped ?? engine.backend.stop(), passInFlight, webhooks.stop()]).then(
    () => true,
  );
  summary.timedOut = !(await Promise.race([drained, sleep(grace).then(() => false)]));
  if (summary.timedOut)
    log.error(
      { graceMs: grace },
      'sends still in flight after the grace time; they will be recovered by the next worker',
    );
  if (statusTimer) {
    clearInterval(statusTimer);
    await draw();
    tty?.write('\n');
  }
  const { counts, gateTimings: g } = engine.sending.stats();
  Object.assign(summary, {
    sent: counts.sent,
    failed: counts.failed,
    retried: counts.retry,
    uncertain: summary.uncertain + counts.uncertain,
  });
  // Mean milliseconds per mail on the serial path: what bounds one worker's rate (docs/PERFORMANCE.md).
  const mean = (ms: number) => (g.mails ? Number((ms / g.mails).toFixed(3)) : null);
  summary.serialPath = { mails: g.mails, waitMs: mean(g.waitMs), commitMs: mean(g.commitMs), replyMs: mean(g.replyMs) };
  log.info(summary, 'worker stopped');
  return summary;
}

/**
 * Evaluates the audience of every sequence that is not trigger-started and enrols who qualifies.
 * Several workers may do this at once: one active enrolment per customer and sequence is a
 * database constraint, so a customer is never enrolled twice.
 */
async function enrollAudiences(engine: Engine): Promise<void> {
  try {
    const results = await engine.enrollAll();
    const enrolled = results.reduce((n, r) => n + r.enrolled, 0);
    const holdout = results.reduce((n, r) => n + r.holdout, 0);
    engine.ctx.log.info({ sequences: results.length, enrolled, holdout }, 'audiences evaluated');
  } catch (err) {
    if (engine.ctx.db.outage.failed(err)) return;
    engine.ctx.log.error({ err }, 'audience evaluation failed; sending goes on, the next evaluation retries');
  }
}

/** Nothing due now, nothing claimed or sending (retries waiting for their time don't count). */
async function idle(engine: Engine): Promise<boolean> {
  const ctx = engine.ctx;
  const now = ctx.clock.now();
  const busy = await ctx.k
    .selectFrom('messages')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'reserved'), eb('due_at', '<=', now)]),
        eb('status', 'in', ['claimed', 'sending']),
      ]),
    )
    .limit(1)
    .executeTakeFirst();
  if (busy) return false;
  const due = await ctx.k
    .selectFrom('enrollments')
    .select('id')
    .where('status', '=', 'active')
    .where('next_due_at', '<=', now)
    .limit(1)
    .executeTakeFirst();
  return !due;
}
