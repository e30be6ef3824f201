import type { Command } from 'commander';
import { createEngine } from '../../app.js';
import { SECRET_FIX, usesDevelopmentSecret } from '../../config/live-sending.js';
import { dashboardPlugin, isConfigured } from '../../dashboard/index.js';
import { hasUsers } from '../../dashboard/users.js';
import { parseConfig } from '../../config/index.js';
import { isPostgresUrl } from '../../db/index.js';
import { waitForServices, type HealthState } from '../../engine/startup.js';
import { ConfigError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { buildServer, closeOnSignal, listen } from '../../server/index.js';
import { startHealthServer } from '../../worker/health.js';
import { loadProjectConfig } from '../config-file.js';
import type { GlobalOptions } from '../context.js';
import { parseStartupWait, STARTUP_WAIT_HELP } from '../startup-wait.js';

interface ServeOptions {
  host?: string;
  port?: string;
  publicUrl?: string;
  dev?: boolean;
  startupWait?: string;
}

/**
 * Why links in mails would not reach this server: `publicUrl` names this machine on another
 * port. Behind a proxy or on a public name the two differ on purpose, so only loopback is checked.
 */
export function linksMissServer(publicUrl: string, listening: string): string | null {
  const pub = new URL(publicUrl);
  const own = new URL(listening);
  const loopback = (h: string) => ['localhost', '127.0.0.1', '[::1]'].includes(h);
  const port = (u: URL) => u.port || (u.protocol === 'https:' ? '443' : '80');
  if (!loopback(pub.hostname) || !loopback(own.hostname) || port(pub) === port(own)) return null;
  return `links in mails point at ${publicUrl}, but this server listens on port ${port(own)}: set publicUrl (or --public-url ${own.protocol}//${pub.hostname}:${port(own)})`;
}

/**
 * `comeback serve [--host H] [--port P] [--public-url URL] [--dev]`: the tracking server (open
 * pixel, clicks, reason survey, unsubscribe, web view, orders and trigger API, SendGrid webhook,
 * /healthz, /metrics) and the dashboard at /dashboard. The secret comes from the config file or COMEBACK_SECRET; the default
 * development secret is refused unless `--dev`. SIGTERM/SIGINT close gracefully: in-flight
 * requests finish and every accepted event is written before the process exits.
 */
export function register(program: Command): void {
  program
    .command('serve')
    .description('run the tracking server: opens, clicks, survey answers, unsubscribes, orders API, provider webhooks')
    .option('--host <host>', 'address to listen on (default: config server.host, 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: config server.port, 8080)')
    .option('--public-url <url>', 'base URL the links in mails point at (default: config publicUrl)')
    .option('--dev', 'allow the built-in development secret (never in production)')
    .option('--startup-wait <seconds>', STARTUP_WAIT_HELP)
    .action(async (opts: ServeOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = loadProjectConfig(g);
      if (opts.publicUrl) config.publicUrl = opts.publicUrl;
      const server = { ...(config.server ?? {}) };
      if (opts.host) server.host = opts.host;
      if (opts.port !== undefined) {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new ConfigError(`--port: expected a port number 0-65535, got "${opts.port}"`);
        server.port = port;
      }
      config.server = server;
      if (!opts.dev && usesDevelopmentSecret(config.secret)) {
        throw new ConfigError(
          `refusing to serve with the built-in development secret: anyone could forge tracking and unsubscribe links. ${SECRET_FIX}, or pass --dev on a laptop.`,
        );
      }
      const giveUpSeconds = parseStartupWait(opts.startupWait);
      await waitForDatabase(config, giveUpSeconds);
      // The tracking server sends no mail: no job backend (and no wait for Redis).
      const engine = await createEngine(config, { jobs: false });
      try {
        const app = await buildServer({ engine, plugins: [dashboardPlugin()] });
        const { host, port } = engine.ctx.config.server;
        const { url } = await listen(app, { host, port });
        process.stderr.write(
          `comeback serve: listening on ${url} (links point at ${engine.ctx.config.publicUrl}); Ctrl-C to stop\n`,
        );
        const mismatch = linksMissServer(engine.ctx.config.publicUrl, url);
        if (mismatch) process.stderr.write(`comeback serve: warning: ${mismatch}\n`);
        const dash = engine.ctx.config.dashboard;
        const logins = (await hasUsers(engine.ctx.k)) ? ', user logins' : '';
        process.stderr.write(
          !dash.enabled
            ? 'comeback serve: dashboard disabled (dashboard.enabled: false)\n'
            : isConfigured(dash) || logins
              ? `comeback serve: dashboard at ${url}/dashboard (${[dash.token ? 'token' : dash.basicAuth ? 'basic auth' : '', logins.slice(2)].filter(Boolean).join(', ')})\n`
              : 'comeback serve: dashboard refused until dashboard.token or dashboard.basicAuth is configured (or COMEBACK_DASHBOARD_TOKEN), or a user is added (comeback users add)\n',
        );
        await closeOnSignal(app, {
          onClosing: (signal) =>
            process.stderr.write(
              `${signal}: finishing requests in flight and writing accepted events (signal again to force)\n`,
            ),
          onForce: () => process.exit(130),
        });
        process.stderr.write('comeback serve: stopped, all accepted events written\n');
      } finally {
        await engine.close();
      }
    });
}

/**
 * Waits for PostgreSQL before the server is built; meanwhile the configured address answers
 * `/healthz` with 503 `{ status: "starting" }` (and every other path with 503), so a load
 * balancer sees a starting server rather than none. With port 0 the server keeps the port the
 * placeholder got.
 */
async function waitForDatabase(config: ReturnType<typeof loadProjectConfig>, giveUpSeconds?: number): Promise<void> {
  const { server, database } = parseConfig(config);
  if (!isPostgresUrl(database)) return;
  const state: HealthState = { starting: true, outages: [] };
  const placeholder = await startHealthServer({ host: server.host, port: server.port }, state).catch((err: Error) => {
    throw new ConfigError(`cannot listen on ${server.host}:${server.port} (${err.message})`);
  });
  process.stderr.write(`comeback serve: starting; ${placeholder.url}/healthz answers 503 until the database is up\n`);
  try {
    await waitForServices(config, { log: createLogger(), jobs: false, giveUpSeconds, health: state });
  } finally {
    await placeholder.close();
  }
  config.server = { ...(config.server ?? {}), port: Number(new URL(placeholder.url).port) };
}
