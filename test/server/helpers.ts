import type { FastifyInstance } from 'fastify';
import { createEngine, type Engine, type EngineConfigInput } from '../../src/index.js';
import { ManualClock, MemoryTransport } from '../../src/testing.js';
import { buildServer, listen, type BuildServerOptions } from '../../src/server/index.js';
import { sqliteUrl } from '../helpers/backends.js';

/** A secret for tests (the development default is refused by `comeback serve`). */
export const SECRET = 'test-secret-0123456789abcdef';
/** The API key tests use. */
export const API_KEY = 'test-api-key-0123456789';
/** Browsers' user agents as recorded from real requests. */
export const UA = {
  chromeMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  iphoneMail:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  outlookDesktop: 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)',
};

/** A running server over a fresh database, on a manual clock. */
export interface TestServer {
  engine: Engine;
  app: FastifyInstance;
  url: string;
  clock: ManualClock;
  transport: MemoryTransport;
  /** Writes pending events now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 (free port) over a new SQLite file (or the given database URL). */
export async function startServer(
  options: {
    database?: string;
    config?: EngineConfigInput;
    server?: Omit<BuildServerOptions, 'engine'>;
    sequences?: boolean;
  } = {},
): Promise<TestServer> {
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 10));
  const transport = new MemoryTransport();
  const engine = await createEngine(
    {
      database: options.database ?? sqliteUrl(),
      secret: SECRET,
      apiKey: API_KEY,
      publicUrl: 'http://track.test',
      ...options.config,
    },
    { clock, transport, ...(options.sequences === false ? { sequences: [] } : {}) },
  );
  const app = await buildServer({ engine, eventFlushMs: 5, ...options.server });
  const { url } = await listen(app, { host: '127.0.0.1', port: 0 });
  let closed = false;
  return {
    engine,
    app,
    url,
    clock,
    transport,
    flush: () => app.comeback.writer.flush(),
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
      await engine.close();
    },
  };
}

let seq = 0;

/**
 * Stores a customer, an enrolment and a sent message with the given link targets, sent `sentAgoMs`
 * before the clock's now. Returns the ids.
 */
export async function seedMessage(
  s: TestServer,
  options: { links?: string[]; sentAgoMs?: number; locale?: string; email?: string } = {},
): Promise<{ messageId: number; customerId: number; enrollmentId: number }> {
  const k = s.engine.ctx.k;
  const now = s.clock.now();
  const n = ++seq;
  const external = `cust-${n}-${now}`;
  const ids = await s.engine.customers.upsert({
    externalId: external,
    email: options.email ?? `c${n}.${now}@example.com`,
    firstName: 'Anna',
    locale: options.locale ?? 'en',
    acquiredVia: 'sale',
  });
  const customerId = ids.get(external)!;
  await s.engine.consents.record({
    customer: customerId,
    action: 'grant',
    basis: 'double_opt_in',
    source: 'test',
    evidence: {},
  });
  const version = s.engine.ctx.sequences.ids().includes('winback-lapsed')
    ? s.engine.ctx.sequences.get('winback-lapsed').version
    : 1;
  const enrollment = await k
    .insertInto('enrollments')
    .values({
      customer_id: customerId,
      sequence_id: 'winback-lapsed',
      sequence_version: version,
      status: 'active',
      enrolled_at: now - 86_400_000,
      next_due_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const sentAt = now - (options.sentAgoMs ?? 3_600_000);
  const message = await k
    .insertInto('messages')
    .values({
      enrollment_id: enrollment.id,
      customer_id: customerId,
      sequence_id: 'winback-lapsed',
      step_id: 'miss-you',
      variant_id: null,
      template: 'winback/miss-you',
      status: 'sent',
      legal_basis: 'double_opt_in',
      subject: 'We miss you',
      links: JSON.stringify(
        options.links ?? [
          'https://shop.example.com/new?utm_source=comeback&utm_medium=email',
          'https://shop.example.com/sale',
        ],
      ),
      due_at: sentAt,
      reserved_at: sentAt,
      sent_at: sentAt,
      updated_at: sentAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { messageId: Number(message.id), customerId: Number(customerId), enrollmentId: Number(enrollment.id) };
}

/** Every event row, oldest first. */
export async function events(s: TestServer) {
  return s.engine.ctx.k.selectFrom('events').selectAll().orderBy('id').execute();
}

/** A request over real HTTP that never follows redirects. */
export function get(
  s: TestServer,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Response> {
  return fetch(`${s.url}${path}`, { method, headers, redirect: 'manual' });
}

/** The path of a URL built by the engine (`http://track.test/c/...` → `/c/...`). */
export function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}
