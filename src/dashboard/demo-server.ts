import { randomBytes } from 'node:crypto';
import type { Engine } from '../engine/engine.js';
import { buildServer, closeOnSignal, listen, type SignalSource } from '../server/index.js';
import { DASHBOARD_PATH, dashboardPlugin } from './plugin.js';

/** Options of `serveDemoDashboard`. */
export interface DemoServeOptions {
  /** Address to listen on (default 127.0.0.1: the demo token is printed, so stay local). */
  host?: string;
  /** Port to try first (default the config's server port); a busy port falls back to a free one. */
  port?: number;
  /** Where the URL and status lines go. */
  log?: (line: string) => void;
  /** Stop on these signals from this source (tests); default SIGINT/SIGTERM of the process. */
  source?: SignalSource;
  /** Called once listening, with the dashboard URL including the token. */
  onListening?: (dashboardUrl: string) => void;
  /** A second signal while closing (the CLI exits at once). */
  onForce?: () => void;
}

/**
 * After `comeback demo`: serves the tracking server plus the dashboard on the demo's engine with
 * a fresh random token, prints the dashboard URL, and resolves after Ctrl-C once the server has
 * closed (the caller closes the engine).
 */
export async function serveDemoDashboard(engine: Engine, options: DemoServeOptions = {}): Promise<void> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const token = randomBytes(24).toString('base64url');
  const app = await buildServer({ engine, plugins: [dashboardPlugin({ enabled: true, token })] });
  const host = options.host ?? '127.0.0.1';
  let bound: { url: string; port: number };
  try {
    bound = await listen(app, { host, port: options.port ?? engine.ctx.config.server.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    bound = await listen(app, { host, port: 0 }); // the mails' links then miss, the dashboard still works
  }
  const url = `${bound.url}${DASHBOARD_PATH}?token=${token}`;
  log(`\nDashboard: ${url}\n(tracking server on ${bound.url}; Ctrl-C to stop)`);
  options.onListening?.(url);
  await closeOnSignal(app, {
    ...(options.source ? { source: options.source } : {}),
    onForce: options.onForce,
    onClosing: () => log('stopping the demo server… (Ctrl-C again to quit at once)'),
  });
}
