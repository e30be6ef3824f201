import type { Command } from 'commander';
import { createEngine } from '../../app.js';
import { liveSendingProblems } from '../../config/live-sending.js';
import type { Engine } from '../../engine/engine.js';
import { noticeLines, operatorNotices } from '../../engine/notices.js';
import { ConfigError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { waitForServices, type HealthState } from '../../engine/startup.js';
import { parseHealthListen, startHealthServer, type HealthServer } from '../../worker/health.js';
import { runWorker } from '../../worker/run.js';
import { formatUpcoming, upcoming } from '../../worker/status.js';
import { loadProjectConfig } from '../config-file.js';
import type { GlobalOptions } from '../context.js';
import { parseStartupWait, STARTUP_WAIT_HELP } from '../startup-wait.js';

/**
 * Refuses to deliver to real people (SMTP, SendGrid) with the demo settings, naming each one and
 * its fix; with `--dev` (a test sink) it lets them pass.
 */
async function checkLiveSending(engine: Engine, dev: boolean): Promise<void> {
  const problems = liveSendingProblems(engine.ctx.config);
  // With --dev, createEngine has logged them as a warning.
  if (problems.length === 0 || dev) return;
  const transport = engine.ctx.config.transport.type;
  await engine.close();
  throw new ConfigError(
    `refusing to send over ${transport} to real recipients with demo settings:\n${problems.map((p) => `  ${p}`).join('\n')}\n(--dev allows them for a test mail sink, never for real customers)`,
  );
}

/** `comeback worker [--once] [--until-idle] [--dev] [--health-port [HOST:]PORT]` */
export function register(program: Command): void {
  program
    .command('worker')
    .description(
      'schedule and send due mails; runs until SIGTERM/SIGINT (finishes sends in flight within 10 s; a second signal forces exit)',
    )
    .option('--once', 'one pass, then exit')
    .option('--until-idle', 'repeat passes until nothing is due or in flight (or sending is paused), then exit')
    .option('--no-status', 'no live status line even on a terminal')
    .option(
      '--dev',
      'allow the demo secret, sender and a localhost publicUrl with SMTP or SendGrid (a test mail sink, never real customers)',
    )
    .option(
      '--health-port <[host:]port>',
      'answer GET /healthz here: 200, or 503 naming the database or Redis while it is down (host default 127.0.0.1)',
    )
    .option('--startup-wait <seconds>', STARTUP_WAIT_HELP)
    .action(
      async (
        opts: {
          once?: boolean;
          untilIdle?: boolean;
          status: boolean;
          dev?: boolean;
          healthPort?: string;
          startupWait?: string;
        },
        cmd: Command,
      ) => {
        const healthAt = opts.healthPort === undefined ? undefined : parseHealthListen(opts.healthPort);
        const giveUpSeconds = parseStartupWait(opts.startupWait);
        // A pass for cron is a command: its summary says what happened, the log only warns. A running worker
        // is a service: it logs its passes at info, as JSON unless stderr is a terminal (see logger.ts).
        const oneShot = opts.once === true || opts.untilIdle === true;
        const logger = createLogger(oneShot ? { audience: 'command' } : { level: process.env.COMEBACK_LOG ?? 'info' });
        // The health endpoint answers from the start: "starting" while the database (or Redis) is awaited.
        const state: HealthState = { starting: true, outages: [] };
        const health = healthAt
          ? await startHealthServer(healthAt, state).catch((err: Error) => {
              throw new ConfigError(
                `--health-port: cannot listen on ${healthAt.host}:${healthAt.port} (${err.message})`,
              );
            })
          : undefined;
        if (health) process.stderr.write(`comeback worker: health at ${health.url}/healthz\n`);
        let engine: Engine;
        try {
          const config = loadProjectConfig(cmd.optsWithGlobals<GlobalOptions>());
          await waitForServices(config, { log: logger, jobs: true, giveUpSeconds, health: state });
          engine = await createEngine(config, { logger, jobs: true });
          await checkLiveSending(engine, opts.dev === true);
        } catch (err) {
          await health?.close();
          throw err;
        }
        state.outages = [engine.ctx.db.outage, ...(engine.backend.outage ? [engine.backend.outage] : [])];
        state.starting = false;
        await work(engine, opts, health);
      },
    );
}

/** Runs the worker until it is done or signalled, then closes the health endpoint and the engine. */
async function work(
  engine: Engine,
  opts: { once?: boolean; untilIdle?: boolean; status: boolean; dev?: boolean },
  health: HealthServer | undefined,
): Promise<void> {
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) {
      process.stderr.write(`\n${sig} again: exiting now; claims in flight are recovered by the next worker\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${sig}: stopping, finishing sends in flight (send the signal again to force)\n`);
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let timedOut = false;
  try {
    const summary = await runWorker(engine, {
      once: opts.once,
      untilIdle: opts.untilIdle,
      signal: stop.signal,
      dev: opts.dev === true,
      statusStream: opts.status && process.stdout.isTTY ? process.stdout : undefined,
    });
    if (opts.once || opts.untilIdle) {
      process.stdout.write(
        `sent ${summary.sent}, retrying ${summary.retried}, failed ${summary.failed}, uncertain ${summary.uncertain}\n${formatUpcoming(await upcoming(engine))}\n`,
      );
      // For cron: a paused sender or sequence, or mails of unknown fate, need someone to look.
      const notes = await operatorNotices(engine.ctx);
      process.stderr.write(noticeLines(notes));
      if (notes.length > 0) process.exitCode = 1;
    }
    timedOut = summary.timedOut;
    if (timedOut) process.exitCode = 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await health?.close();
    // After the grace time, sends still hang on the provider and closing would wait for them; their
    // claims never reached the point of no return, so the next worker sends them.
    const closed = engine.close();
    await (timedOut ? Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000))]) : closed);
  }
}
