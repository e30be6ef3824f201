import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { outboxValues, rowValues, SQLITE_SQL, type EventSink, type Reflag, type TrackingHooks } from './sinks.js';

/**
 * The worker's code, plain CommonJS run with `eval` so it works the same from the TypeScript
 * sources (tests) and the build. One connection of its own, one transaction per batch.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = ' + workerData.busyMs);
const insert = db.prepare(workerData.sql.insert);
const flag = db.prepare(workerData.sql.flag);
const hooks = workerData.hooks;
const outbox = Object.keys(hooks).length ? db.prepare(workerData.sql.outbox) : null;
const outboxValues = (0, eval)('(' + workerData.outboxValues + ')');
const run = db.transaction((rows, flags) => {
  let n = 0;
  for (const r of rows) {
    const info = insert.run(r);
    n += info.changes;
    const o = outbox && info.changes ? outboxValues(r, info.lastInsertRowid, hooks) : null;
    if (o) outbox.run(o);
  }
  for (const [id, f] of flags) flag.run(f.reason, id, f.since);
  return n;
});
parentPort.on('message', (m) => {
  if (m.close) {
    db.close();
    parentPort.postMessage({ id: m.id, n: 0 });
    return;
  }
  try {
    parentPort.postMessage({ id: m.id, n: run(m.rows, m.flags) });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
});
`;

type Reply = { id: number; n: number; error?: undefined } | { id: number; error: string };

/**
 * Writes event batches to a SQLite file from a worker thread with its own connection, so the
 * inserts (tens of microseconds a row once the table's indexes are large) and SQLite's WAL
 * checkpoints (an fsync) never block the event loop that answers clicks. WAL mode lets the
 * engine's connection read meanwhile; writes of both connections are serialised by SQLite
 * (`busy_timeout`). A batch's promise settles when its transaction has committed, so a read after
 * `flush()` sees the rows. The worker keeps the process alive only while a batch is in flight.
 */
export function workerSink(file: string, options: { busyMs?: number; hooks?: TrackingHooks } = {}): EventSink {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  let worker: Worker | undefined;
  let next = 0;
  const waiting = new Map<number, { resolve: (n: number) => void; reject: (err: Error) => void }>();

  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };

  const start = (): Worker => {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver,
        file,
        busyMs: options.busyMs ?? 5_000,
        sql: SQLITE_SQL,
        hooks: options.hooks ?? {},
        outboxValues: outboxValues.toString(),
      },
    });
    w.unref();
    w.on('message', (m: Reply) => {
      const entry = waiting.get(m.id);
      if (!entry) return;
      waiting.delete(m.id);
      if (waiting.size === 0) w.unref();
      if (m.error !== undefined) entry.reject(new Error(m.error));
      else entry.resolve(m.n);
    });
    w.on('error', (err) => failAll(err));
    w.on('exit', (code) => {
      if (worker === w) worker = undefined; // a later batch starts a new worker
      failAll(new Error(`the event writer thread exited (${code})`));
    });
    return w;
  };

  const send = (message: Record<string, unknown>): Promise<number> => {
    worker ??= start();
    const id = next++;
    const w = worker;
    return new Promise<number>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, ...message });
    });
  };

  return {
    write: (rows, flags: [number, Reflag][]) => send({ rows: rows.map(rowValues), flags }),
    async close() {
      const w = worker;
      if (!w) return;
      await send({ close: true });
      worker = undefined;
      await w.terminate();
    },
  };
}
