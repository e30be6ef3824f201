import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { EngineContext } from '../engine/context.js';
import type { Engine } from '../engine/engine.js';
import type { RequestShape } from '../tracking/classify.js';
import type { Tracker } from '../tracking/tracker.js';
import type { EventWriter } from '../tracking/writer.js';
import type { ServerMetrics } from './metrics.js';

/** What every route of the server shares; available to plugins as `app.comeback`. */
export interface ServerContext {
  engine: Engine;
  /** The engine's internal parts, for Comeback's own routes; not in the published types. @internal */
  ctx: EngineContext;
  tracker: Tracker;
  writer: EventWriter;
  metrics: ServerMetrics;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Comeback's engine, tracker, event writer and metrics (see `ServerContext`). */
    comeback: ServerContext;
  }
}

/** A route plugin added to the server (e.g. the dashboard); it receives the engine as option. */
export type ServerPlugin = FastifyPluginAsync<{ engine: Engine }>;

/** The request as the human-or-machine rules see it. */
export function shapeOf(request: FastifyRequest): RequestShape {
  const h = request.headers;
  const purpose = h['sec-purpose'] ?? h['purpose'] ?? h['x-moz'] ?? h['x-purpose'];
  return {
    method: request.method,
    userAgent: h['user-agent'],
    ip: request.ip,
    purpose: Array.isArray(purpose) ? purpose[0] : purpose,
  };
}
