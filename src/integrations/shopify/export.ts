/**
 * Shopify's own export files, as they come (help.shopify.com/en/manual/customers/import-export-customers
 * and help.shopify.com/en/manual/fulfillment/managing-orders/exporting-orders). Orders have one row
 * per line item, the order's own fields only on its first row, and name their customer by
 * "Email" alone; customers have "Customer ID". Marketing columns become ledger entries naming the
 * export as their source: a plain "yes" is an opt-in, never double opt-in.
 */
import { basename } from 'node:path';
import { statSync } from 'node:fs';
import type { Engine } from '../../engine/engine.js';
import { readRecords } from '../../shop/import/records.js';
import { normalizeEmail } from '../../util/email.js';
import { parseTime } from '../../util/time.js';
import { applyCustomers, applyOrders } from '../door.js';
import type { ShopConsent, ShopCustomer, ShopOrder } from '../types.js';
import { minor } from './map.js';

/** Orders or customers recorded per batch. */
const BATCH = 500;

/** What an export import stored, counted exactly, and the rows it refused with their line. */
export interface ShopifyExportResult {
  layout: 'shopify-customers' | 'shopify-orders';
  customers: number;
  orders: number;
  lineItems: number;
  refunds: number;
  cancelled: number;
  consents: number;
  conversions: number;
  rejected: { line: number; reason: string }[];
}

const yes = (v: string | undefined) => /^(yes|true|1)$/i.test((v ?? '').trim());

function timeOf(text: string | undefined, column: string): number | undefined {
  if (!text?.trim()) return undefined;
  const t = parseTime(text);
  if (t === undefined) throw new Error(`${column}: "${text}" is not a time`);
  return t;
}

/** The ledger entry of a "yes" in a marketing column; `at` is when the file was written (stable on re-import). */
function exportConsent(file: string, column: string, at: number): ShopConsent {
  return {
    action: 'grant',
    basis: 'opt_in',
    at,
    evidence: { source: 'Shopify export', file: basename(file), column, value: 'yes' },
  };
}

/** Imports a Shopify customers or orders export through the shop door (orders: the order door). */
export async function importShopifyExport(
  engine: Engine,
  layout: ShopifyExportResult['layout'],
  file: string,
  options: { encoding?: string } = {},
): Promise<ShopifyExportResult> {
  const result: ShopifyExportResult = {
    layout,
    customers: 0,
    orders: 0,
    lineItems: 0,
    refunds: 0,
    cancelled: 0,
    consents: 0,
    conversions: 0,
    rejected: [],
  };
  const records = readRecords(file, { encoding: options.encoding });
  // The customers export does not say when consent was given: the file's time, stable on re-import.
  if (layout === 'shopify-customers')
    await customers(engine, file, records, Math.floor(statSync(file).mtimeMs), result);
  else await orders(engine, file, records, result);
  return result;
}

type Records = ReturnType<typeof readRecords>;

async function customers(
  engine: Engine,
  file: string,
  records: Records,
  writtenAt: number,
  result: ShopifyExportResult,
): Promise<void> {
  let batch: ShopCustomer[] = [];
  const flush = async () => {
    const r = await applyCustomers(engine, 'shopify', batch);
    result.customers += r.customers;
    result.consents += r.consents;
    batch = [];
  };
  for await (const rec of records) {
    if ('error' in rec) {
      result.rejected.push({ line: rec.line, reason: rec.error });
      continue;
    }
    const r = rec.record as Record<string, string>;
    const id = r['Customer ID']?.replace(/^'/, '').trim();
    if (!id) {
      result.rejected.push({ line: rec.line, reason: 'Customer ID: empty' });
      continue;
    }
    const consent = yes(r['Accepts Email Marketing'])
      ? exportConsent(file, 'Accepts Email Marketing', writtenAt)
      : undefined;
    batch.push({
      input: {
        externalId: id,
        email: r['Email'] || null,
        firstName: r['First Name'] || null,
        lastName: r['Last Name'] || null,
        tags: (r['Tags'] ?? '')
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        acquiredVia: Number(r['Total Orders'] ?? 0) > 0 ? 'sale' : 'unknown',
      },
      consent,
    });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
}

interface PendingOrder {
  line: number;
  email: string;
  order: ShopOrder['input'] & { items: NonNullable<ShopOrder['input']['items']> };
  consent?: ShopConsent;
}

/** The order-level fields of an order's first row. */
function orderFromFirstRow(r: Record<string, string>, line: number, file: string): PendingOrder {
  const currency = (r['Currency'] || '').trim();
  if (!/^[A-Z]{3}$/i.test(currency)) throw new Error(`Currency: "${currency}" is not a currency code`);
  const email = (r['Email'] ?? '').trim();
  if (!email) throw new Error('Email: empty (the orders export names the customer by address)');
  const created = timeOf(r['Created at'], 'Created at');
  if (created === undefined) throw new Error('Created at: empty');
  const total = minor(r['Total'], currency);
  const refunded = Math.min(total, minor(r['Refunded Amount'], currency));
  const cancelled = timeOf(r['Cancelled at'], 'Cancelled at') !== undefined;
  return {
    line,
    email,
    order: {
      externalId: (r['Id'] || r['Name'] || '').trim(),
      customerExternalId: '',
      orderedAt: created,
      totalMinor: total,
      currency: currency.toUpperCase(),
      discountMinor: minor(r['Discount Amount'], currency),
      status: cancelled ? 'cancelled' : refunded > 0 && refunded >= total ? 'returned' : 'paid',
      returnedMinor: refunded,
      couponCode: r['Discount Code'] || null,
      items: [],
    },
    // The box ticked at this checkout: evidence dated with the order.
    consent: yes(r['Accepts Marketing']) ? exportConsent(file, 'Accepts Marketing', created) : undefined,
  };
}

async function orders(engine: Engine, file: string, records: Records, result: ShopifyExportResult): Promise<void> {
  let batch: PendingOrder[] = [];
  let current: PendingOrder | undefined;
  let currentName = '';
  const flush = async () => {
    const pending = batch;
    batch = [];
    if (pending.length === 0) return;
    // The export has no customer id: the customer is the one with this address.
    const emails = [...new Set(pending.map((p) => normalizeEmail(p.email)))];
    const found = new Map<string, string>();
    for (let i = 0; i < emails.length; i += 500) {
      const rows = await engine.ctx.k
        .selectFrom('customers')
        .select(['email', 'external_id'])
        .where('email', 'in', emails.slice(i, i + 500))
        .execute();
      for (const c of rows) if (c.email) found.set(c.email, c.external_id);
    }
    const known: PendingOrder[] = [];
    for (const p of pending) {
      const id = found.get(normalizeEmail(p.email));
      if (id) known.push({ ...p, order: { ...p.order, customerExternalId: id } });
      else
        result.rejected.push({
          line: p.line,
          reason: `Email: no customer with the address ${p.email} (import the customers export first)`,
        });
    }
    const r = await applyOrders(
      engine,
      'shopify',
      known.map((p) => ({ input: p.order })),
    );
    const stored = new Set(known.map((p) => p.order.externalId));
    const lineOf = new Map(known.map((p) => [p.order.externalId, p.line]));
    for (const x of r.rejected) {
      stored.delete(x.externalId);
      result.rejected.push({ line: lineOf.get(x.externalId) ?? 0, reason: x.reason });
    }
    for (const p of known.filter((k) => stored.has(k.order.externalId))) {
      result.orders++;
      result.lineItems += p.order.items.length;
      if ((p.order.returnedMinor ?? 0) > 0) result.refunds++;
      if (p.order.status === 'cancelled') result.cancelled++;
    }
    result.conversions += r.conversions;
    // One customer at a time: the same customer's checkouts are separate ledger entries.
    for (const p of known.filter((k) => stored.has(k.order.externalId) && k.consent)) {
      result.consents += (
        await applyCustomers(engine, 'shopify', [
          { input: { externalId: p.order.customerExternalId }, consent: p.consent },
        ])
      ).consents;
    }
  };
  const close = () => {
    if (current) batch.push(current);
    current = undefined;
  };
  for await (const rec of records) {
    if ('error' in rec) {
      result.rejected.push({ line: rec.line, reason: rec.error });
      continue;
    }
    const r = rec.record as Record<string, string>;
    const name = (r['Name'] ?? '').trim();
    try {
      if (!name) throw new Error('Name: empty');
      if (name !== currentName) {
        close();
        if (batch.length >= BATCH) await flush();
        currentName = name;
        current = orderFromFirstRow(r, rec.line, file);
      }
      if (!current) continue; // a later line of an order whose first row was refused
      const currency = current.order.currency!;
      if (r['Lineitem name']) {
        current.order.items.push({
          sku: r['Lineitem sku'] || `${current.order.externalId}-${current.order.items.length + 1}`,
          name: r['Lineitem name'],
          quantity: Number.parseInt(r['Lineitem quantity'] || '1', 10),
          unitPriceMinor: minor(r['Lineitem price'], currency),
        });
      }
    } catch (err) {
      if (name === currentName) current = undefined;
      result.rejected.push({ line: rec.line, reason: (err as Error).message });
    }
  }
  close();
  await flush();
}
