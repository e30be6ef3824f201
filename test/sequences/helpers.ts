import { createHash } from 'node:crypto';
import { createEngine, DAY, type Engine, type EngineConfigInput } from '../../src/index.js';
import { ManualClock, MemoryTransport } from '../../src/testing.js';
import { formatProblem } from '../../src/errors.js';
import { parseSequence, type LoadedSequence } from '../../src/sequences/loader.js';

/** A sequence from YAML text, as the engine loads it (throws with every problem when invalid). */
export function loaded(yaml: string, file = 'test.yaml'): LoadedSequence {
  const r = parseSequence(yaml, file);
  if (!r.sequence) throw new Error(r.problems.map(formatProblem).join('\n'));
  return { definition: r.sequence, file, hash: createHash('sha256').update(yaml).digest('hex') };
}

/** An engine on a database with the given sequences, a manual clock and a memory transport. */
export async function engineWith(
  url: string,
  sequences: LoadedSequence[],
  start = Date.UTC(2026, 5, 2, 10),
  config: EngineConfigInput = {},
): Promise<{ engine: Engine; clock: ManualClock; transport: MemoryTransport }> {
  const clock = new ManualClock(start);
  const transport = new MemoryTransport();
  const engine = await createEngine({ ...config, database: url }, { clock, transport, sequences });
  return { engine, clock, transport };
}

/** A customer with orders `daysAgo` (each of `total` minor units, in `category`), and optional consent. */
export interface ShopCustomer {
  id: string;
  consent?: boolean;
  daysAgo: number[];
  total?: number;
  discount?: number;
  category?: string;
  latePayments?: number;
  tags?: string[];
  churnReason?: string;
  locale?: string;
  timeZone?: string;
}

/** Records customers with orders and (double opt-in) consent through the engine API. */
export async function shop(engine: Engine, customers: ShopCustomer[]): Promise<void> {
  const now = engine.ctx.clock.now();
  await engine.customers.upsert(
    customers.map((c) => ({
      externalId: c.id,
      email: `${c.id}@example.com`,
      firstName: c.id,
      locale: c.locale ?? 'en',
      timeZone: c.timeZone ?? 'Europe/Berlin',
      acquiredVia: 'sale' as const,
      latePayments: c.latePayments ?? 0,
      tags: c.tags ?? [],
      churnReason: (c.churnReason ?? null) as never,
    })),
  );
  for (const c of customers) {
    if (c.consent !== false)
      await engine.consents.record({
        customer: c.id,
        action: 'grant',
        basis: 'double_opt_in',
        source: 'newsletter_form',
        evidence: { test: true },
      });
    for (const [i, d] of c.daysAgo.entries()) {
      await engine.orders.record({
        externalId: `${c.id}-${i}`,
        customerExternalId: c.id,
        orderedAt: now - d * DAY,
        totalMinor: c.total ?? 5000,
        discountMinor: c.discount ?? 0,
        items: [
          {
            sku: `SKU-${c.category ?? 'tea'}`,
            name: 'Item',
            category: c.category ?? 'tea',
            unitPriceMinor: c.total ?? 5000,
          },
        ],
      });
    }
  }
}

/** The head of a test sequence: id, name, consent; audience and steps follow. */
export const head = (id: string, version = 1) =>
  `id: ${id}\nname: Test ${id}\nversion: ${version}\nconsent: [double_opt_in]\n`;
