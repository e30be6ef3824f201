import { createHash } from 'node:crypto';
import {
  createEngine,
  DAY,
  parseSequence,
  type Engine,
  type EngineConfigInput,
  type JobBackend,
  type JobHandler,
} from '../../src/index.js';
import { ManualClock, MemoryTransport } from '../../src/testing.js';
import type { LoadedSequence } from '../../src/sequences/loader.js';

/** A job backend that keeps dispatched message ids instead of sending: the gap between reservation and send. */
export class HoldBackend implements JobBackend {
  readonly name = 'hold';
  readonly held: number[] = [];
  async dispatch(ids: number[]): Promise<void> {
    this.held.push(...ids);
  }
  async start(_handler: JobHandler): Promise<void> {}
  async stop(): Promise<void> {}
}

/** A trigger-started two-step sequence accepting the given bases. */
export function sequenceYaml(id: string, consent: string[], ownSimilarGoods = false): string {
  return [
    `id: ${id}`,
    `name: ${id}`,
    'version: 1',
    'audience:',
    '  trigger: manual',
    `consent: [${consent.join(', ')}]`,
    `own_similar_goods: ${ownSimilarGoods}`,
    'steps:',
    '  - id: miss-you',
    '    template: winback/miss-you',
    '    subject: "We miss you"',
    '  - id: offer',
    '    wait: 7d',
    '    template: winback/offer',
    '    subject: "A thank-you"',
    '    coupon: { percent: 10, valid: 14d }',
    '',
  ].join('\n');
}

/** Parses sequence texts for `createEngine(..., { sequences })`. */
export function sequences(texts: Record<string, string>): LoadedSequence[] {
  return Object.entries(texts).map(([file, text]) => {
    const r = parseSequence(text, file);
    if (!r.sequence) throw new Error(r.problems.map((p) => p.message).join('\n'));
    return { definition: r.sequence, file, hash: createHash('sha256').update(text).digest('hex') };
  });
}

/** The default test sequences: double opt-in only, and any basis with own similar goods. */
export const DEFAULT_SEQUENCES = {
  'doi.yaml': sequenceYaml('doi-only', ['double_opt_in']),
  'any.yaml': sequenceYaml('any-basis', ['double_opt_in', 'opt_in', 'existing_customer'], true),
};

/** A test engine on a manual clock with a memory transport. */
export interface TestEngine {
  engine: Engine;
  clock: ManualClock;
  transport: MemoryTransport;
  backend?: HoldBackend;
}

/** Builds an engine for a consent test. `hold` keeps reserved messages unsent until `sendMessage`. */
export async function testEngine(
  database: string,
  options: { hold?: boolean; config?: EngineConfigInput; texts?: Record<string, string> } = {},
): Promise<TestEngine> {
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 10));
  const transport = new MemoryTransport();
  const backend = options.hold ? new HoldBackend() : undefined;
  const engine = await createEngine(
    { database, ...options.config },
    { clock, transport, backend, sequences: sequences(options.texts ?? DEFAULT_SEQUENCES) },
  );
  return { engine, clock, transport, backend };
}

/** Adds a customer with two past orders (the templates show the last order). */
export async function addCustomer(
  t: TestEngine,
  externalId: string,
  email: string,
  acquiredVia: 'sale' | 'newsletter' | 'unknown' = 'sale',
): Promise<number> {
  const ids = await t.engine.customers.upsert({ externalId, email, firstName: externalId, locale: 'en', acquiredVia });
  for (const [i, daysAgo] of [120, 60].entries()) {
    await t.engine.orders.record({
      externalId: `${externalId}-${i}`,
      customerExternalId: externalId,
      orderedAt: t.clock.now() - daysAgo * DAY,
      totalMinor: 3990,
      items: [{ sku: 'TEA-1', name: 'Green tea', unitPriceMinor: 3990 }],
    });
  }
  return ids.get(externalId)!;
}

/** Grants a basis with some evidence. */
export async function grant(
  t: TestEngine,
  customer: string,
  basis: 'double_opt_in' | 'opt_in' | 'existing_customer',
): Promise<number> {
  return t.engine.consents.record({
    customer,
    action: 'grant',
    basis,
    source: 'api',
    textVersion: 'v1',
    evidence: { ip: '192.0.2.7', userAgent: 'Test/1.0' },
  });
}

/** Message rows of a customer, oldest first. */
export async function messagesOf(engine: Engine, customerId: number) {
  return engine.ctx.k.selectFrom('messages').selectAll().where('customer_id', '=', customerId).orderBy('id').execute();
}
