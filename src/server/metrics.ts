import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The Prometheus metrics of one server (its own registry, so several servers in one process don't collide). */
export interface ServerMetrics {
  registry: Registry;
  events: Counter<'type' | 'verdict'>;
  rejected: Counter<'route'>;
  webhook: Counter<'provider' | 'outcome'>;
  flushes: Counter;
  flushedRows: Counter;
  duplicates: Counter;
  flushErrors: Counter;
  flushSeconds: Histogram;
  requestSeconds: Histogram<'route' | 'method' | 'status'>;
  /** Reads gauges that are computed when scraped. */
  setSources(sources: { pending: () => number; cacheHits: () => number; cacheMisses: () => number }): void;
}

/** Creates the metrics of a server. */
export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'comeback_' });
  let sources = { pending: () => 0, cacheHits: () => 0, cacheMisses: () => 0 };
  const r = [registry];
  new Gauge({
    name: 'comeback_events_pending',
    help: 'Tracking events accepted and not yet written',
    registers: r,
    collect() {
      this.set(sources.pending());
    },
  });
  new Gauge({
    name: 'comeback_message_cache_lookups',
    help: 'Message lookups of the tracking cache, by result',
    labelNames: ['result'],
    registers: r,
    collect() {
      this.set({ result: 'hit' }, sources.cacheHits());
      this.set({ result: 'miss' }, sources.cacheMisses());
    },
  });
  return {
    registry,
    events: new Counter({
      name: 'comeback_tracking_events_total',
      help: 'Tracking events recorded, by type and verdict (human or machine)',
      labelNames: ['type', 'verdict'],
      registers: r,
    }),
    rejected: new Counter({
      name: 'comeback_tracking_rejected_total',
      help: 'Requests with a forged, altered or unknown token',
      labelNames: ['route'],
      registers: r,
    }),
    webhook: new Counter({
      name: 'comeback_webhook_events_total',
      help: 'Provider webhook events, by outcome',
      labelNames: ['provider', 'outcome'],
      registers: r,
    }),
    flushes: new Counter({
      name: 'comeback_event_flushes_total',
      help: 'Batches of tracking events written',
      registers: r,
    }),
    flushedRows: new Counter({
      name: 'comeback_event_rows_written_total',
      help: 'Tracking event rows written',
      registers: r,
    }),
    duplicates: new Counter({
      name: 'comeback_event_duplicates_total',
      help: 'Provider events skipped as already stored',
      registers: r,
    }),
    flushErrors: new Counter({
      name: 'comeback_event_flush_errors_total',
      help: 'Failed attempts to write tracking events (retried)',
      registers: r,
    }),
    flushSeconds: new Histogram({
      name: 'comeback_event_flush_seconds',
      help: 'Time to write one batch of tracking events',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: r,
    }),
    requestSeconds: new Histogram({
      name: 'comeback_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: r,
    }),
    setSources(s) {
      sources = s;
    },
  };
}
