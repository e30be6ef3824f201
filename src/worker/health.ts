import { createServer, type Server } from 'node:http';
import type { Outage } from '../db/outage.js';
import type { HealthState } from '../engine/startup.js';
import { ConfigError } from '../errors.js';

/** A running health endpoint of a worker. */
export interface HealthServer {
  /** `http://host:port` it listens on. */
  url: string;
  close(): Promise<void>;
}

/**
 * The body and status of a health answer: 200 `{ status: "ok" }` while every dependency answers,
 * 503 `{ status: "unavailable", down: [{ dependency, since, reason }] }` while one is down, and
 * 503 `{ status: "starting", down }` while the process still waits for its dependencies at start.
 */
export function healthOf(
  outages: readonly Outage[],
  starting = false,
): { code: number; body: Record<string, unknown> } {
  const down = outages.flatMap((o) =>
    o.down ? [{ dependency: o.name, since: new Date(o.down.since).toISOString(), reason: o.down.reason }] : [],
  );
  if (starting) return { code: 503, body: { status: 'starting', down } };
  return down.length ? { code: 503, body: { status: 'unavailable', down } } : { code: 200, body: { status: 'ok' } };
}

/**
 * `GET /healthz` for a worker (`comeback worker --health-port`), for a load balancer or an
 * orchestrator's probe: answers from the outage state the worker's own passes keep current, so a
 * probe costs no database query. Any other path is 404 (503 while starting). `comeback serve`
 * answers with it on its own port while it waits for the database at start.
 */
export async function startHealthServer(
  listen: { host: string; port: number },
  state: HealthState,
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/healthz' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      // While starting (the placeholder of `comeback serve`), every other path asks to come back later.
      if (state.starting) res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end('starting\n');
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const { code, body } = healthOf(state.outages, state.starting);
    res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Parses `--health-port` as `PORT` or `HOST:PORT` (the host defaults to 127.0.0.1). */
export function parseHealthListen(value: string): { host: string; port: number } {
  const m = /^(?:(.+):)?(\d+)$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535)
    throw new ConfigError(`--health-port: expected PORT or HOST:PORT (e.g. 9464 or 0.0.0.0:9464), got "${value}"`);
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port };
}
