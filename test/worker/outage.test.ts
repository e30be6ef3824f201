/**
 * Outage bookkeeping without a real outage: what counts as a lost connection, one log line when
 * an outage begins and one when it ends, the worker's status line and /healthz naming it, and a
 * worker loop that leaves no abort listener behind per pass.
 */
import { getEventListeners } from 'node:events';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { isConnectionError, Outage } from '../../src/db/outage.js';
import type { Engine } from '../../src/engine/engine.js';
import { healthOf, parseHealthListen, startHealthServer } from '../../src/worker/health.js';
import { runWorker } from '../../src/worker/run.js';
import { formatOutageStatus, formatStatus } from '../../src/worker/status.js';
import { waitFor } from './fixture.js';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

/** A logger that keeps its lines as objects. */
function capture() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { log, lines };
}

/** What pg raises when pg_terminate_backend ends the connection under a query. */
const terminated = Object.assign(new Error('terminating connection due to administrator command'), {
  code: '57P01',
  severity: 'FATAL',
});

it('tells a lost or refused connection from a bad query', () => {
  expect(isConnectionError(terminated)).toBe(true);
  expect(
    isConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })),
  ).toBe(true);
  expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
  expect(isConnectionError(Object.assign(new Error('the database system is starting up'), { code: '57P03' }))).toBe(
    true,
  );
  expect(
    isConnectionError(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) })),
  ).toBe(true);
  expect(
    isConnectionError(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })),
  ).toBe(false);
  expect(isConnectionError(Object.assign(new Error('relation "messages" does not exist'), { code: '42P01' }))).toBe(
    false,
  );
  expect(isConnectionError(null)).toBe(false);
});

it('logs an outage once when it begins and once when it ends, with its length', () => {
  const { log, lines } = capture();
  let now = Date.parse('2026-03-02T10:00:00Z');
  const o = new Outage('database', log, () => now);
  expect(o.failed(new Error('syntax error'))).toBe(false); // not an outage: the caller reports it
  for (let i = 0; i < 50; i++) expect(o.failed(terminated)).toBe(true);
  expect(o.down).toEqual({ since: now, reason: terminated.message });
  now += 12_300;
  o.ok();
  o.ok();
  expect(o.down).toBeNull();
  expect(lines.map((l) => [l.msg, l.dependency, l.downSeconds])).toEqual([
    [
      'database unavailable (terminating connection due to administrator command); work pauses and resumes by itself when it is back',
      'database',
      undefined,
    ],
    ['database available again after 12.3 s; work resumed', 'database', 12.3],
  ]);
  expect(o.count).toBe(1);
});

it("names a dependency that is down on the worker's status line and its /healthz", async () => {
  const db = new Outage('database', undefined, () => Date.parse('2026-03-02T10:00:05Z'));
  const redis = new Outage('Redis');
  const status = {
    sent: 3,
    perSecond: 0,
    due: 0,
    retrying: 0,
    inFlight: 0,
    uncertain: 0,
    failed: 0,
    pausedUntil: 0,
    outages: [db, redis],
  };
  expect(formatStatus(status, 'bullmq')).not.toContain('DOWN');
  expect(healthOf([db, redis])).toEqual({ code: 200, body: { status: 'ok' } });
  db.failed(terminated);
  expect(formatStatus(status, 'bullmq')).toContain(
    '· DATABASE DOWN since 10:00:05 (terminating connection due to administrator command), waiting',
  );
  expect(formatOutageStatus([db, redis], 'bullmq')).toBe(
    'comeback worker [bullmq] · DATABASE DOWN since 10:00:05 (terminating connection due to administrator command), waiting',
  );
  const server = await startHealthServer(parseHealthListen('0'), { starting: false, outages: [db, redis] });
  try {
    const down = await fetch(`${server.url}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({
      status: 'unavailable',
      down: [{ dependency: 'database', since: '2026-03-02T10:00:05.000Z', reason: terminated.message }],
    });
    db.ok();
    const up = await fetch(`${server.url}/healthz`);
    expect([up.status, await up.json()]).toEqual([200, { status: 'ok' }]);
    expect((await fetch(`${server.url}/other`)).status).toBe(404);
  } finally {
    await server.close();
  }
  expect(() => parseHealthListen('eighty')).toThrow(/--health-port: expected PORT or HOST:PORT/);
  expect(parseHealthListen('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
});

it('a worker pass that loses the database is one outage in the log, and the loop goes on', async () => {
  const { log, lines } = capture();
  engine = await createEngine(
    { database: ':memory:', transport: { type: 'memory' }, worker: { pollIntervalMs: 1, audienceIntervalMs: 0 } },
    { logger: log, sequences: [] },
  );
  const realPass = engine.runDue.bind(engine);
  let passes = 0;
  // Passes 5-24 fail as during a PostgreSQL restart; the rest succeed.
  engine.runDue = async () => {
    passes++;
    if (passes >= 5 && passes < 25) throw terminated;
    return realPass();
  };
  const stop = new AbortController();
  const run = runWorker(engine, { signal: stop.signal });
  await waitFor(() => passes >= 40, 30_000, '40 passes');
  // One listener on the signal (the run's own), not one per pass: no MaxListenersExceededWarning.
  expect(getEventListeners(stop.signal, 'abort').length).toBeLessThanOrEqual(2);
  stop.abort();
  await run;
  const msgs = lines.map((l) => l.msg);
  expect(msgs.filter((m) => m.startsWith('database unavailable'))).toHaveLength(1);
  expect(msgs.filter((m) => m.startsWith('database available again'))).toHaveLength(1);
  expect(msgs.filter((m) => m.includes('worker pass failed'))).toEqual([]);
  expect(msgs.at(-1)).toBe('worker stopped');
});
