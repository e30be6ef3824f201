import type { Kysely, Transaction } from 'kysely';
import { ZodError } from 'zod';
import { appendConsents } from '../../consent/ledger.js';
import type { ConsentEntry } from '../../consent/types.js';
import type { Database } from '../../db/schema.js';
import { ImportRowError } from '../../errors.js';
import { didYouMean } from '../../util/did-you-mean.js';
import { toCustomerRow, upsertCustomerRows, type CustomerDefaults, type CustomerWrite } from '../customers.js';
import { currencyProblem, toShopCurrency, type ShopMoney, type ShopOrder } from '../currency.js';
import { recordOrderBatch } from '../orders.js';
import { upsertProducts } from '../products.js';
import { OrderInput, ProductInput } from '../types.js';
import {
  CUSTOMER_COLUMNS,
  customerFromRecord,
  ORDER_COLUMNS,
  orderFromRecord,
  PRODUCT_COLUMNS,
  productFromRecord,
  recordProblem,
  type ImportedConsent,
} from './columns.js';
import { LAYOUTS } from './layouts.js';
import { readRecords, type ReadProgress } from './records.js';

/** What is imported. */
export type ImportKind = 'customers' | 'orders' | 'products';

/** Options of an import run. */
export interface ImportOptions {
  /** Roll the whole import back at the first bad row (default: skip bad rows and go on). */
  strict?: boolean;
  batchSize?: number;
  /** The file's text encoding (default utf-8; windows-1252 for files saved by Excel). */
  encoding?: string;
  defaults: CustomerDefaults & { currency: string };
  /** The shop's currency and exchange rates: an order in another currency without a rate is refused. */
  money?: ShopMoney;
  /**
   * Stores one batch of orders inside the import's transaction. The engine passes its order door
   * (store and attribute); without it orders are only stored.
   */
  storeOrders?: (
    db: Kysely<Database>,
    orders: ShopOrder[],
  ) => Promise<{ unknownCustomer: ShopOrder[]; conversions?: number }>;
  now: () => number;
  onProgress?: (p: ReadProgress & { rows: number; rejected: number }) => void;
}

/** A rejected row: its line in the file and why. */
export interface RejectedRow {
  line: number;
  reason: string;
}

/** Outcome of an import. */
export interface ImportResult {
  kind: ImportKind;
  imported: number;
  rejected: RejectedRow[];
  /** True when `strict` aborted the import and nothing was stored. */
  rolledBack: boolean;
  seconds: number;
  /** Customers with an objection (`objected_at`) new to the ledger: their pending mail must stop at once. */
  objected: number[];
  /** Conversions the imported orders produced (0 when an import is imported again). */
  conversions: number;
}

/** Why a row of an erased person is skipped: erasure is not undone by an import. */
const ERASED = 'the address was erased (GDPR Art. 17) and is not stored again';

function reasonOf(err: unknown): string {
  if (err instanceof ZodError) {
    return err.issues.map((i) => `${i.path.join('.') || 'row'}: ${i.message}`).join('; ');
  }
  if (err instanceof ImportRowError) return err.message.replace(/^line \d+: /, '');
  return (err as Error).message;
}

/**
 * Streams a CSV or JSON Lines file into the database in batches (constant memory).
 * Idempotent: rows are upserted by the shop's external id. By default a bad row is reported with
 * its line and skipped, and every good row is stored; with `strict` the first bad row rolls the
 * whole import back. An unknown CSV column stops the import before anything is stored.
 */
export async function importFile(
  db: Kysely<Database>,
  kind: ImportKind,
  file: string,
  options: ImportOptions,
): Promise<ImportResult> {
  const started = performance.now();
  const strict = options.strict ?? false;
  const result: ImportResult = {
    kind,
    imported: 0,
    rejected: [],
    rolledBack: false,
    seconds: 0,
    objected: [],
    conversions: 0,
  };
  const { columns: allowed, key, sink: makeSink } = KINDS[kind];
  const run = async (trx: Transaction<Database> | null): Promise<void> => {
    const sink = makeSink(options);
    let rows = 0;
    const records = readRecords(file, {
      encoding: options.encoding,
      onProgress: (p) => options.onProgress?.({ ...p, rows, rejected: result.rejected.length }),
      onHeader: (columns) => {
        const unknown = columns.filter((c) => !allowed.includes(c));
        if (unknown.length > 0) {
          throw new ImportRowError(
            1,
            unknownColumns(unknown, allowed) +
              `. Known columns: ${allowed.join(', ')}. Known layouts: ${LAYOUTS.join(', ')} (a Shopify export is recognised by its header)`,
          );
        }
        if (!columns.includes(key)) throw new ImportRowError(1, `missing column "${key}"`);
      },
    });
    const flush = async () => {
      const write = (t: Kysely<Database>) => sink.flush(t, result);
      if (trx) await write(trx);
      else await db.transaction().execute(write);
    };
    for await (const rec of records) {
      rows++;
      const problem = 'error' in rec ? rec.error : (unknownKeys(rec.record, allowed) ?? recordProblem(rec.record));
      try {
        if (problem) throw new ImportRowError(rec.line, problem);
        sink.add(rec.line, (rec as { record: Record<string, unknown> }).record);
      } catch (err) {
        if (strict) throw new ImportRowError(rec.line, reasonOf(err));
        result.rejected.push({ line: rec.line, reason: reasonOf(err) });
      }
      if (sink.pending() >= (options.batchSize ?? 1000)) await flush();
    }
    sink.end();
    await flush();
  };
  try {
    if (strict) await db.transaction().execute((trx) => run(trx));
    else await run(null);
  } catch (err) {
    if (strict && err instanceof ImportRowError) {
      result.rolledBack = true;
      result.imported = 0;
      result.objected = [];
      result.conversions = 0;
      result.rejected.push({ line: err.line, reason: reasonOf(err) });
    } else throw err;
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** JSON Lines records can carry any key; report the unknown ones like a CSV header would. */
function unknownKeys(record: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  const unknown = Object.keys(record).filter((k) => !allowed.includes(k));
  return unknown.length ? unknownColumns(unknown, allowed) : undefined;
}

/** Names the first few unknown columns (a hostile header has thousands) with the nearest known one. */
function unknownColumns(unknown: string[], allowed: readonly string[]): string {
  const shown = unknown
    .slice(0, 10)
    .map((c) =>
      c.length > 60 ? `unknown column "${c.slice(0, 60)}…"` : `unknown column "${c}"${didYouMean(c, allowed)}`,
    );
  return shown.join('; ') + (unknown.length > 10 ? `; and ${unknown.length - 10} more unknown columns` : '');
}

interface Sink {
  add(line: number, record: Record<string, unknown>): void;
  pending(): number;
  end(): void;
  flush(db: Kysely<Database>, result: ImportResult): Promise<void>;
}

/** Per kind: the columns a file may have, the one it must have (the upsert key), and where rows go. */
const KINDS: Record<ImportKind, { columns: readonly string[]; key: string; sink: (options: ImportOptions) => Sink }> = {
  customers: { columns: CUSTOMER_COLUMNS, key: 'external_id', sink: customerSink },
  orders: { columns: ORDER_COLUMNS, key: 'order_id', sink: orderSink },
  products: { columns: PRODUCT_COLUMNS, key: 'sku', sink: productSink },
};

function productSink(options: ImportOptions): Sink {
  let batch: { product: ProductInput; line: number }[] = [];
  return {
    add(line, record) {
      const product = productFromRecord(line, record, options.defaults.currency);
      ProductInput.parse(product); // every problem of the row now, with its line, not at the flush
      batch.push({ product, line });
    },
    pending: () => batch.length,
    end() {},
    async flush(db, result) {
      if (batch.length === 0) return;
      // Later rows with the same SKU win; one statement cannot upsert the same key twice.
      const items = [...new Map(batch.map((b) => [b.product.externalId, b.product])).values()];
      batch = [];
      await upsertProducts(db, items, options.defaults.currency);
      result.imported += items.length;
    },
  };
}

function customerSink(options: ImportOptions): Sink {
  let batch: { write: CustomerWrite; consent: ImportedConsent; line: number }[] = [];
  return {
    add(line, record) {
      const { customer, consent } = customerFromRecord(line, record);
      batch.push({ write: toCustomerRow(customer, options.defaults, options.now()), consent, line });
    },
    pending: () => batch.length,
    end() {},
    async flush(db, result) {
      if (batch.length === 0) return;
      // Later rows with the same id win; one statement cannot upsert the same key twice.
      const byId = new Map(batch.map((b) => [b.write.row.external_id, b]));
      const items = [...byId.values()];
      batch = [];
      const ids = await upsertCustomerRows(
        db,
        items.map((b) => b.write),
      );
      const stored = items.filter((b) => ids.has(b.write.row.external_id));
      for (const b of items)
        if (!ids.has(b.write.row.external_id)) result.rejected.push({ line: b.line, reason: ERASED });
      result.objected.push(
        ...(await recordImportedConsents(
          db,
          stored.map((b) => ({ customerId: ids.get(b.write.row.external_id)!, consent: b.consent })),
        )),
      );
      result.imported += stored.length;
    },
  };
}

/**
 * Ledger entries for consent columns, skipping entries an earlier import of the same file already
 * made. Returns the customers whose objection is new.
 */
async function recordImportedConsents(
  db: Kysely<Database>,
  items: { customerId: number; consent: ImportedConsent }[],
): Promise<number[]> {
  const wanted: ConsentEntry[] = [];
  for (const { customerId, consent } of items) {
    if (consent.basis) {
      wanted.push({
        customerId,
        action: 'grant',
        basis: consent.basis,
        source: 'import',
        textVersion: consent.textVersion ?? null,
        recordedAt: consent.at ?? 0,
        evidence: { imported: true },
      });
    }
    if (consent.objectedAt !== undefined) {
      wanted.push({
        customerId,
        action: 'withdraw',
        basis: null,
        source: 'import',
        recordedAt: consent.objectedAt,
        evidence: { imported: true },
      });
    }
  }
  if (wanted.length === 0) return [];
  const existing = await db
    .selectFrom('consents')
    .select(['customer_id', 'action', 'basis', 'recorded_at'])
    .where('source', '=', 'import')
    .where('customer_id', 'in', [...new Set(wanted.map((w) => w.customerId))])
    .execute();
  const seen = new Set(existing.map((e) => `${e.customer_id}|${e.action}|${e.basis}|${e.recorded_at}`));
  const fresh = wanted.filter((w) => !seen.has(`${w.customerId}|${w.action}|${w.basis ?? null}|${w.recordedAt}`));
  await appendConsents(db, fresh);
  return fresh.filter((w) => w.action === 'withdraw').map((w) => w.customerId);
}

function orderSink(options: ImportOptions): Sink {
  let done: { order: ShopOrder; line: number }[] = [];
  let current: { order: ShopOrder; line: number } | undefined;
  const money = options.money ?? { currency: options.defaults.currency };
  const store: NonNullable<ImportOptions['storeOrders']> =
    options.storeOrders ?? ((db, orders) => recordOrderBatch(db, orders, options.defaults.currency, options.now()));
  const close = () => {
    if (current) done.push(current);
    current = undefined;
  };
  return {
    add(line, record) {
      const parsed = OrderInput.parse(orderFromRecord(line, record, options.defaults.currency));
      const problem = currencyProblem(parsed, money);
      if (problem) throw new ImportRowError(line, problem);
      const order = toShopCurrency(parsed, money);
      // Consecutive rows of the same order are its lines.
      if (current && current.order.externalId === order.externalId && order.items.length > 0) {
        current.order.items.push(...order.items);
        return;
      }
      close();
      current = { order, line };
    },
    pending: () => done.length,
    end: close,
    async flush(db, result) {
      if (done.length === 0) return;
      const byId = new Map(done.map((d) => [d.order.externalId, d]));
      const items = [...byId.values()];
      done = [];
      const { unknownCustomer, conversions } = await store(
        db,
        items.map((d) => d.order),
      );
      result.conversions += conversions ?? 0;
      const unknownIds = new Set(unknownCustomer.map((o) => o.externalId));
      const unknown = items.filter((d) => unknownIds.has(d.order.externalId));
      const reason = (d: (typeof items)[number]) =>
        `customer_id: no customer "${d.order.customerExternalId}" (import customers first)`;
      if (options.strict && unknown.length > 0) throw new ImportRowError(unknown[0]!.line, reason(unknown[0]!));
      for (const d of unknown) result.rejected.push({ line: d.line, reason: reason(d) });
      result.imported += items.length - unknownIds.size;
    },
  };
}
