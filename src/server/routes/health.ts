import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';

/**
 * `GET /healthz`: 200 with `{ status: "ok" }` when the database answers, 503 otherwise.
 * `GET /metrics`: Prometheus text (events by type and verdict, rejected tokens, writer batches,
 * request durations, process metrics).
 */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  const { ctx, writer, metrics } = app.comeback;
  app.get('/healthz', async (_request, reply) => {
    try {
      await sql`select 1`.execute(ctx.k);
      return reply.header('cache-control', 'no-store').send({ status: 'ok', pendingEvents: writer.pendingCount });
    } catch (err) {
      return reply.code(503).header('cache-control', 'no-store').send({ status: 'unavailable', error: (err as Error).message });
    }
  });
  app.get('/metrics', async (_request, reply) => {
    return reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store').send(await metrics.registry.metrics());
  });
};
