/**
 * The server process of the tracking benchmark (not a benchmark itself: names starting with `_`
 * are skipped by the dispatcher). `node dist/bench/_tracking-server.js DB MODE [BATCH]` with MODE
 * `tracking` (the real server over the database, events written, BATCH rows per write if given)
 * or `bare` (a fastify route that does nothing). Prints `{"port":N}` when listening; on SIGTERM
 * closes gracefully and prints, as the last line, the requests answered, the CPU time spent
 * between listening and closing, and the event writer's counts.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { createEngine } from '../src/app.js';
import { buildServer, closeOnSignal, listen } from '../src/server/index.js';

/** The secret the benchmark signs its tokens with. */
export const BENCH_SECRET = 'bench-secret-0123456789abcdef';

/** Listens, waits for SIGTERM, closes; returns the requests answered and the CPU milliseconds spent meanwhile. */
async function serve(app: FastifyInstance): Promise<{ requests: number; cpuMs: number }> {
  let requests = 0;
  app.addHook('onResponse', (_request, _reply, done) => {
    requests++;
    done();
  });
  const { port } = await listen(app, { host: '127.0.0.1', port: 0 });
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  await closeOnSignal(app, { signals: ['SIGTERM'] });
  const used = process.cpuUsage(cpu);
  return { requests, cpuMs: Math.round((used.user + used.system) / 1000) };
}

async function main(): Promise<void> {
  const [database, mode, batch] = process.argv.slice(2);
  if (mode === 'bare') {
    const app = Fastify({ logger: false });
    app.get('/bare', async (_request, reply) => reply.send());
    const served = await serve(app);
    process.stdout.write(`${JSON.stringify({ closed: true, ...served })}\n`);
    return;
  }
  const engine = await createEngine(
    { database: database!, secret: BENCH_SECRET, publicUrl: 'http://127.0.0.1' },
    { sequences: [] },
  );
  const app = await buildServer({ engine, ...(batch ? { eventBatchSize: Number(batch) } : {}) });
  const served = await serve(app);
  const counts = app.comeback.writer.counts;
  await engine.close();
  process.stdout.write(`${JSON.stringify({ closed: true, ...served, counts })}\n`);
}

if (process.argv[1]?.endsWith('_tracking-server.js')) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
