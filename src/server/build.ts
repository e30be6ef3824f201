import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import type { Engine } from '../engine/engine.js';
import { trackerDeps, trackingHooksFor } from '../engine/tracking.js';
import { BYTES } from '../util/limits.js';
import { Tracker } from '../tracking/tracker.js';
import { EventWriter, replaySpilled, sinkFor } from '../tracking/writer.js';
import type { ServerContext, ServerPlugin } from './context.js';
import { createMetrics } from './metrics.js';
import { apiRoutes } from './routes/api.js';
import { clickRoutes } from './routes/click.js';
import { consentRoutes } from './routes/consent.js';
import { healthRoutes } from './routes/health.js';
import { pixelRoutes } from './routes/pixel.js';
import { reasonRoutes } from './routes/reason.js';
import { sendgridRoutes } from './routes/sendgrid.js';
import { shopWebhookRoutes } from './routes/shop-webhooks.js';
import { preferenceRoutes } from './routes/preferences.js';
import { unsubscribeRoutes } from './routes/unsubscribe.js';
import { viewRoutes } from './routes/view.js';

/** The server's own routes, one small plugin per file; add a route file here. */
export const CORE_ROUTES: FastifyPluginAsync[] = [
  healthRoutes,
  pixelRoutes,
  clickRoutes,
  reasonRoutes,
  unsubscribeRoutes,
  preferenceRoutes,
  consentRoutes,
  viewRoutes,
  apiRoutes,
  sendgridRoutes,
  shopWebhookRoutes,
];

/** What `buildServer` needs. */
export interface BuildServerOptions {
  engine: Engine;
  /** More routes (the dashboard, the double opt-in confirmation): each gets `{ engine }` as options and `app.comeback`. */
  plugins?: (ServerPlugin | { plugin: ServerPlugin; prefix?: string })[];
  /** fastify's logger option (default off: the engine logs what matters). */
  logger?: FastifyServerOptions['logger'];
  /** Overrides of `config.server`: event batching and proxy trust. */
  eventBatchSize?: number;
  eventFlushMs?: number;
  trustProxy?: boolean;
  /** Where events that cannot be written on shutdown are kept (default `.comeback/spilled-events`). */
  spillDir?: string;
}

/**
 * Builds the tracking server (not listening: see `listen`). Routes: open pixel `/o/:token.gif`,
 * clicks `/c/:token`, reason survey `/r/:token`, unsubscribe `/u/:token` (GET page, POST
 * one-click), double opt-in confirmation `/confirm/:token` (GET page, POST confirms), web view `/v/:token`, `POST /api/orders`, `POST /api/trigger`,
 * `POST /webhooks/sendgrid`, `POST /webhooks/shopify` and `/webhooks/woocommerce`, `/healthz`, `/metrics`, plus the given plugins. Events are written
 * by a batch writer that is flushed when the server closes, after in-flight requests finished.
 *
 * ```ts
 * const app = await buildServer({ engine, plugins: [dashboard] });
 * await listen(app, { host: '127.0.0.1', port: 8080 });
 * ```
 */
export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const { engine } = options;
  const ctx = engine.ctx;
  const cfg = ctx.config.server;
  const metrics = createMetrics();
  const spillDir = options.spillDir;
  // Human opens and clicks the webhook endpoints receive go into the outbox with the events.
  const hooks = trackingHooksFor(ctx);
  const replayed = await replaySpilled(ctx.k, spillDir, hooks);
  if (replayed > 0) ctx.log.warn({ rows: replayed }, 'wrote tracking events kept from an earlier shutdown');
  const writer = new EventWriter(sinkFor(ctx.db, hooks), {
    batchSize: options.eventBatchSize ?? cfg.eventBatchSize,
    flushMs: options.eventFlushMs ?? cfg.eventFlushMs,
    spillDir,
    log: ctx.log,
    outage: ctx.db.outage,
    onFlush: (written, duplicates, ms) => {
      metrics.flushes.inc();
      metrics.flushedRows.inc(written);
      if (duplicates > 0) metrics.duplicates.inc(duplicates);
      metrics.flushSeconds.observe(ms / 1000);
    },
    onError: () => metrics.flushErrors.inc(),
  });
  const tracker = new Tracker(trackerDeps(ctx), writer, (type, machine) =>
    metrics.events.inc({ type, verdict: machine ? 'machine' : 'human' }),
  );
  metrics.setSources({
    pending: () => writer.pendingCount,
    cacheHits: () => tracker.messages.hits,
    cacheMisses: () => tracker.messages.misses,
  });

  const app = Fastify({
    logger: options.logger ?? false,
    trustProxy: options.trustProxy ?? cfg.trustProxy,
    bodyLimit: BYTES.apiBody,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Longer than any token (46 characters), so an overlong forged pixel token still gets the GIF.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
  });
  const comeback: ServerContext = { engine, ctx, tracker, writer, metrics };
  app.decorate('comeback', comeback);
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requestSeconds.observe(
      { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
  // In-flight requests have finished when onClose runs: everything they accepted is written now.
  app.addHook('onClose', async () => {
    await writer.close();
  });
  await app.register(formbody);
  for (const routes of CORE_ROUTES) await app.register(routes);
  for (const p of options.plugins ?? []) {
    const { plugin, prefix } = typeof p === 'function' ? { plugin: p, prefix: undefined } : p;
    await app.register(plugin, { engine, ...(prefix ? { prefix } : {}) });
  }
  return app;
}
