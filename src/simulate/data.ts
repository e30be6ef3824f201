/**
 * Customers for `comeback simulate`: a synthetic shop, or a file of customers with their orders
 * and consent, loaded into a throw-away SQLite database so that the simulation reads them through
 * the same queries as the worker.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../app.js';
import { HOUR, ManualClock } from '../clock.js';
import { appendConsents } from '../consent/ledger.js';
import type { ConsentBasis, ConsentEntry } from '../consent/types.js';
import { syntheticProducts, syntheticShop } from './synthetic.js';
import { MemoryTransport } from '../delivery/memory.js';
import type { Engine } from '../engine/engine.js';
import { InputError } from '../errors.js';
import { parseOrder, recordOrderBatch } from '../shop/orders.js';
import type { CustomerInput, OrderInput } from '../shop/types.js';
import { seededRandom } from '../util/random.js';

/** A customer to simulate: the shop's customer record, their consent and their orders. */
export interface SimCustomerInput {
  customer: CustomerInput;
  consent: ConsentBasis | null;
  objected?: boolean;
  orders: OrderInput[];
}

/** Records customers, consents and orders in batches (the same repositories the import uses). */
export async function loadCustomers(engine: Engine, customers: SimCustomerInput[]): Promise<void> {
  const ctx = engine.ctx;
  for (let i = 0; i < customers.length; i += 500) {
    const page = customers.slice(i, i + 500);
    const ids = await engine.customers.upsert(page.map((c) => c.customer));
    const entries: ConsentEntry[] = [];
    for (const c of page) {
      const customerId = ids.get(c.customer.externalId)!;
      const at = (c.orders[0]?.orderedAt as number | undefined) ?? ctx.clock.now();
      if (c.consent) {
        entries.push({
          customerId,
          action: 'grant',
          basis: c.consent,
          source: c.consent === 'existing_customer' ? 'checkout' : 'newsletter_form',
          textVersion: 'v1',
          recordedAt: at,
          evidence:
            c.consent === 'double_opt_in'
              ? { confirmedAt: at + HOUR, simulated: true }
              : { orderId: c.orders[0]?.externalId ?? null },
        });
      }
      if (c.objected)
        entries.push({
          customerId,
          action: 'withdraw',
          basis: null,
          source: 'objection',
          recordedAt: at + HOUR,
          evidence: { simulated: true },
        });
    }
    await appendConsents(ctx.k, entries);
    const orders = page.flatMap((c) => c.orders.map((o) => parseOrder(o)));
    // Batches of 500 rows stay below SQLite's limit of bound variables per statement.
    await ctx.k.transaction().execute(async (trx) => {
      for (let j = 0; j < orders.length; j += 500)
        await recordOrderBatch(trx, orders.slice(j, j + 500), ctx.config.defaults.currency, ctx.clock.now());
    });
  }
}

/** The synthetic shop of the demo (same generator, same seed, same customers). */
export function syntheticCustomers(count: number, seed: number, now: number): SimCustomerInput[] {
  return syntheticShop(seededRandom(seed), count, now).map((c) => ({
    customer: c.input,
    consent: c.consent,
    objected: c.objected,
    orders: c.orders,
  }));
}

/**
 * Reads customers from a JSON Lines (or JSON array) file: one object per customer with the
 * customer fields (`externalId`, `email`, ...), `consent` (a basis or null) and `orders`
 * (orders without `customerExternalId`; it is filled in).
 */
export function customersFromFile(file: string): SimCustomerInput[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError('--customers', [
      `${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not a file' : (err as Error).message}`,
    ]);
  }
  const items: unknown[] = text.startsWith('[')
    ? (parseLine(text, file, 1) as unknown[])
    : text
        .split('\n')
        .filter((l) => l.trim())
        .map((l, i) => parseLine(l, file, i + 1));
  return items.map((raw, i) => {
    const { consent = null, objected = false, orders = [], ...customer } = raw as Record<string, unknown>;
    if (typeof customer.externalId !== 'string')
      throw new InputError(`${file} customer ${i + 1}`, ['externalId: required']);
    const ordersIn = (orders as Record<string, unknown>[]).map(
      (o) => ({ ...o, customerExternalId: customer.externalId }) as OrderInput,
    );
    return {
      customer: customer as unknown as CustomerInput,
      consent: consent as ConsentBasis | null,
      objected: Boolean(objected),
      orders: ordersIn,
    };
  });
}

function parseLine(line: string, file: string, n: number): unknown {
  try {
    return JSON.parse(line);
  } catch (err) {
    throw new InputError(`${file}:${n}`, [(err as Error).message]);
  }
}

/** A throw-away engine on a temporary SQLite file holding the given customers; `dispose` closes it and deletes the file. */
export async function scratchEngine(
  customers: SimCustomerInput[],
  now: number,
): Promise<{ engine: Engine; dispose: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-simulate-'));
  const dispose = async (engine?: Engine) => {
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  let engine: Engine | undefined;
  try {
    engine = await createEngine(
      { database: join(dir, 'simulate.db'), sequencesDir: join(dir, 'none') },
      { clock: new ManualClock(now), transport: new MemoryTransport(), sequences: [] },
    );
    await engine.products.upsert(syntheticProducts());
    await loadCustomers(engine, customers);
  } catch (err) {
    await dispose(engine);
    throw err;
  }
  const ready = engine;
  return { engine: ready, dispose: () => dispose(ready) };
}
