/**
 * The server process of the tracking benchmark (not a benchmark itself: names starting with `_`
 * are skipped by the dispatcher). `node dist/bench/_tracking-server.js DB MODE` with MODE
 * `tracking` (the real server over the database, events written) or `bare` (a fastify route that
 * does nothing). Prints `{"port":N}` when listening; on SIGTERM closes gracefully and prints the
 * event writer's counts as the last line.
 */
import Fastify from 'fastify';
import { createEngine } from '../src/app.js';
import { buildServer, closeOnSignal, listen } from '../src/server/index.js';

/** The secret the benchmark signs its tokens with. */
export const BENCH_SECRET = 'bench-secret-0123456789abcdef';

async function main(): Promise<void> {
  const [database, mode] = process.argv.slice(2);
  if (mode === 'bare') {
    const app = Fastify({ logger: false });
    app.get('/bare', async (_request, reply) => reply.send());
    const { port } = await listen(app, { host: '127.0.0.1', port: 0 });
    process.stdout.write(`${JSON.stringify({ port })}\n`);
    await closeOnSignal(app, { signals: ['SIGTERM'] });
    process.stdout.write(`${JSON.stringify({ closed: true })}\n`);
    return;
  }
  const engine = await createEngine({ database: database!, secret: BENCH_SECRET, publicUrl: 'http://127.0.0.1' }, { sequences: [] });
  const app = await buildServer({ engine });
  const { port } = await listen(app, { host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  await closeOnSignal(app, { signals: ['SIGTERM'] });
  const counts = app.comeback.writer.counts;
  await engine.close();
  process.stdout.write(`${JSON.stringify({ closed: true, counts })}\n`);
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
