import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';

/** How long /healthz waits for the database before it answers 503 (a load balancer's probe is short). */
const PROBE_MS = 3_000;

/**
 * `GET /healthz`: 200 with `{ status: "ok" }` when the database answers, else 503 with
 * `{ status: "unavailable", dependency: "database", error, since }`; it answers all through an
 * outage and turns 200 again when the database is back.
 * `GET /metrics`: Prometheus text (events by type and verdict, rejected tokens, writer batches,
 * request durations, process metrics).
 */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  const { ctx, writer, metrics } = app.comeback;
  app.get('/healthz', async (_request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the database did not answer within ${PROBE_MS} ms`)), PROBE_MS);
    });
    try {
      await Promise.race([sql`select 1`.execute(ctx.k), late]);
      ctx.db.outage.ok();
      return reply.header('cache-control', 'no-store').send({ status: 'ok', pendingEvents: writer.pendingCount });
    } catch (err) {
      ctx.db.outage.failed(err);
      const since = ctx.db.outage.down?.since;
      const body = {
        status: 'unavailable',
        dependency: 'database',
        error: (err as Error).message,
        ...(since ? { since: new Date(since).toISOString() } : {}),
        pendingEvents: writer.pendingCount,
      };
      return reply.code(503).header('cache-control', 'no-store').send(body);
    } finally {
      clearTimeout(timer);
    }
  });
  app.get('/metrics', async (_request, reply) => {
    return reply
      .header('content-type', metrics.registry.contentType)
      .header('cache-control', 'no-store')
      .send(await metrics.registry.metrics());
  });
};
