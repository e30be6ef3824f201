/** Shared pieces of the seeded experiment shops: customers with consent, and heavy-tailed order values. */
import { appendConsents } from '../consent/ledger.js';
import type { Engine } from '../engine/engine.js';

/** Records customers (address `<id>@example.com`) with a double opt-in granted at `grantedAt`; returns their ids. */
export async function customersWithConsent(
  engine: Engine,
  ids: string[],
  grantedAt: number,
): Promise<Map<string, number>> {
  const customers = await engine.customers.upsert(
    ids.map((id) => ({
      externalId: id,
      email: `${id.toLowerCase()}@example.com`,
      locale: 'en',
      timeZone: 'UTC',
      acquiredVia: 'newsletter' as const,
    })),
  );
  const grants = ids.map((id) => ({
    customerId: customers.get(id)!,
    action: 'grant' as const,
    basis: 'double_opt_in' as const,
    source: 'experiment',
    recordedAt: grantedAt,
    evidence: { experiment: true },
  }));
  // In slices: one statement per slice stays below SQLite's parameter limit.
  for (let i = 0; i < grants.length; i += 500) await appendConsents(engine.ctx.k, grants.slice(i, i + 500));
  return customers;
}

/** Records customers acquired through a sale (address `<id>@example.com`); returns their ids. */
export function saleCustomers(engine: Engine, ids: string[]): Promise<Map<string, number>> {
  return engine.customers.upsert(
    ids.map((id) => ({
      externalId: id,
      email: `${id.toLowerCase()}@example.com`,
      firstName: id,
      locale: 'en',
      timeZone: 'UTC',
      acquiredVia: 'sale' as const,
    })),
  );
}

/** A lognormal order value in minor units: median `medianMinor`, σ of the log `sigma` (Box–Muller). */
export function lognormalMinor(rand: () => number, medianMinor: number, sigma: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return Math.max(1, Math.round(medianMinor * Math.exp(sigma * z)));
}
