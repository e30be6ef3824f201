import { ImportRowError } from '../../errors.js';
import { COLUMN_CHARS, COUNT, TEXT, tooLong } from '../../util/limits.js';
import { currencyDigits, parseMajorAmount } from '../../util/money.js';
import { parseTime, TIME_FORMATS } from '../../util/time.js';
import type { CustomerInput, OrderInput, ProductInput } from '../types.js';

/** Columns of a customers file (CSV header or JSON Lines keys). */
export const CUSTOMER_COLUMNS = [
  'external_id',
  'email',
  'first_name',
  'last_name',
  'gender',
  'title',
  'locale',
  'time_zone',
  'acquired_via',
  'churn_reason',
  'late_payments',
  'tags',
  'created_at',
  'consent',
  'consent_at',
  'consent_text_version',
  'objected_at',
] as const;

/** Columns of an orders file. Item columns make a row one line of its order. */
export const ORDER_COLUMNS = [
  'order_id',
  'customer_id',
  'ordered_at',
  'total',
  'currency',
  'discount',
  'status',
  'paid_late',
  'returned',
  'coupon_code',
  'sku',
  'product_name',
  'category',
  'quantity',
  'unit_price',
  'items',
] as const;

/** Columns of a products file (the catalogue that recommendations come from). */
export const PRODUCT_COLUMNS = [
  'sku',
  'name',
  'category',
  'price',
  'currency',
  'url',
  'image_url',
  'in_stock',
] as const;

/** Keys of one element of a JSON Lines order's `items` array. */
export const ITEM_COLUMNS = ['sku', 'product_name', 'category', 'quantity', 'unit_price'] as const;

/** Why a value is over its column's limit (`first_name: longer than 200 characters`), if it is. */
function overLimit(column: string, v: unknown): string | undefined {
  const max = COLUMN_CHARS[column] ?? TEXT.short;
  return typeof v === 'string' && v.length > max ? `${column}: ${tooLong(max)}` : undefined;
}

/**
 * The first value of a record over its limit, and in a JSON Lines order's `items` the first
 * element that is not an object of item columns (`__proto__` included) or over a limit. Checked
 * before a row is mapped, so the message names the column as the file does.
 */
export function recordProblem(r: Record<string, unknown>): string | undefined {
  for (const [column, v] of Object.entries(r)) {
    const problem = column === 'items' && Array.isArray(v) ? itemsProblem(v) : overLimit(column, v);
    if (problem) return problem;
  }
  return undefined;
}

function itemsProblem(items: unknown[]): string | undefined {
  if (items.length > COUNT.orderItems)
    return `items: ${items.length} lines, more than the limit of ${COUNT.orderItems}`;
  for (const [i, item] of items.entries()) {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      return `items[${i}]: expected an object with ${ITEM_COLUMNS.join(', ')}`;
    for (const [key, v] of Object.entries(item)) {
      if (!(ITEM_COLUMNS as readonly string[]).includes(key))
        return `items[${i}]: unknown column "${key}" (known: ${ITEM_COLUMNS.join(', ')})`;
      const problem = overLimit(key, v);
      if (problem) return `items[${i}].${problem}`;
    }
  }
  return undefined;
}

/** A consent column's meaning: the basis granted at import, and an objection if any. */
export interface ImportedConsent {
  basis?: 'double_opt_in' | 'opt_in' | 'existing_customer';
  at?: number;
  textVersion?: string;
  objectedAt?: number;
}

const text = (v: unknown): string | undefined => (v === undefined || v === null || v === '' ? undefined : String(v));

/**
 * A field a row may clear: undefined when the file has no such column (the stored value stays),
 * null when the cell is empty (the stored value is cleared), else the text.
 */
function clearable(r: Record<string, unknown>, column: string): string | null | undefined {
  return Object.hasOwn(r, column) ? (text(r[column]) ?? null) : undefined;
}

function time(line: number, column: string, v: unknown): number | undefined {
  const s = text(v);
  if (s === undefined) return undefined;
  const t = parseTime(s);
  if (t === undefined) throw new ImportRowError(line, `${column}: expected ${TIME_FORMATS}, got "${s}"`);
  return t;
}

function int(line: number, column: string, v: unknown): number | undefined {
  const s = text(v);
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s)) throw new ImportRowError(line, `${column}: expected a whole number ≥ 0, got "${s}"`);
  return Number(s);
}

function bool(line: number, column: string, v: unknown): boolean | undefined {
  const s = text(v)?.toLowerCase();
  if (s === undefined) return undefined;
  if (['1', 'true', 'yes', 'y'].includes(s)) return true;
  if (['0', 'false', 'no', 'n'].includes(s)) return false;
  throw new ImportRowError(line, `${column}: expected true or false, got "${s}"`);
}

function money(line: number, column: string, v: unknown, currency: string): number | undefined {
  const s = text(v);
  if (s === undefined) return undefined;
  const minor = parseMajorAmount(s, currency);
  if (minor === undefined || minor < 0) throw new ImportRowError(line, `${column}: ${amountProblem(s, currency)}`);
  return minor;
}

/** Why an amount was refused, with how to write it. */
function amountProblem(s: string, currency: string): string {
  const digits = currencyDigits(currency);
  if (/^\d{1,3}[.,]\d{3}$/.test(s)) {
    const [whole, part] = s.split(/[.,]/) as [string, string];
    return (
      `"${s}" is ambiguous: ${whole}${part} with a thousands separator, or ${whole} and a fraction? ` +
      `Write ${whole}${part} (or ${s}${s.includes('.') ? ',00' : '.00'}) for ${whole}${part}` +
      (digits > 0 ? `, or at most ${digits} decimals for a fraction (${whole}.${part.slice(0, digits)})` : '')
    );
  }
  if (/^\d+[.,]\d+$/.test(s))
    return `"${s}" has more decimals than ${currency} has (${digits}): expected an amount like 49.90`;
  return `expected an amount like 49.90, got "${s}"`;
}

function currencyOf(line: number, r: Record<string, unknown>, defaultCurrency: string): string {
  const currency = text(r.currency)?.toUpperCase() ?? defaultCurrency;
  if (!/^[A-Z]{3}$/.test(currency))
    throw new ImportRowError(line, `currency: expected a 3-letter code like EUR, got "${currency}"`);
  return currency;
}

/** Maps one customers-file record to library input plus its consent columns. */
export function customerFromRecord(
  line: number,
  r: Record<string, unknown>,
): { customer: CustomerInput; consent: ImportedConsent } {
  const basis = text(r.consent);
  if (basis !== undefined && !['double_opt_in', 'opt_in', 'existing_customer'].includes(basis)) {
    throw new ImportRowError(line, `consent: expected double_opt_in, opt_in or existing_customer, got "${basis}"`);
  }
  const tags = clearable(r, 'tags');
  // A column the file does not have keeps what is stored; an empty cell clears a field that may be
  // empty (and keeps locale, time zone, acquisition and late payments, which always have a value).
  return {
    customer: {
      externalId: text(r.external_id) ?? '',
      email: clearable(r, 'email'),
      firstName: clearable(r, 'first_name'),
      lastName: clearable(r, 'last_name'),
      gender: clearable(r, 'gender') as CustomerInput['gender'],
      title: clearable(r, 'title'),
      locale: text(r.locale),
      timeZone: text(r.time_zone),
      acquiredVia: text(r.acquired_via) as CustomerInput['acquiredVia'],
      churnReason: clearable(r, 'churn_reason') as CustomerInput['churnReason'],
      latePayments: int(line, 'late_payments', r.late_payments),
      tags:
        tags === undefined
          ? undefined
          : tags === null
            ? []
            : tags
                .split(/[;|]/)
                .map((t) => t.trim())
                .filter(Boolean),
      createdAt: time(line, 'created_at', r.created_at),
    },
    consent: {
      basis: basis as ImportedConsent['basis'],
      at: time(line, 'consent_at', r.consent_at),
      textVersion: text(r.consent_text_version),
      objectedAt: time(line, 'objected_at', r.objected_at),
    },
  };
}

/** Maps one orders-file record to an order (with at most one item from the item columns, or `items`). */
export function orderFromRecord(line: number, r: Record<string, unknown>, defaultCurrency: string): OrderInput {
  const currency = currencyOf(line, r, defaultCurrency);
  const itemOf = (it: Record<string, unknown>) => ({
    sku: text(it.sku) ?? '',
    name: text(it.product_name) ?? text(it.sku) ?? '',
    category: text(it.category) ?? null,
    quantity: int(line, 'quantity', it.quantity) ?? 1,
    unitPriceMinor: money(line, 'unit_price', it.unit_price, currency) ?? 0,
  });
  let items: ReturnType<typeof itemOf>[] = [];
  if (Array.isArray(r.items)) items = (r.items as Record<string, unknown>[]).map(itemOf);
  else if (text(r.sku)) items = [itemOf(r)];
  const total = money(line, 'total', r.total, currency);
  if (total === undefined) throw new ImportRowError(line, 'total: required (the order total, e.g. 49.90)');
  return {
    externalId: text(r.order_id) ?? '',
    customerExternalId: text(r.customer_id) ?? '',
    orderedAt: time(line, 'ordered_at', r.ordered_at) ?? NaN,
    totalMinor: total,
    currency,
    discountMinor: money(line, 'discount', r.discount, currency) ?? 0,
    status: (text(r.status) ?? 'paid') as 'paid',
    paidLate: bool(line, 'paid_late', r.paid_late) ?? false,
    returnedMinor: money(line, 'returned', r.returned, currency) ?? 0,
    couponCode: text(r.coupon_code) ?? null,
    items,
  };
}

/** Maps one products-file record to a catalogue product. */
export function productFromRecord(line: number, r: Record<string, unknown>, defaultCurrency: string): ProductInput {
  const currency = currencyOf(line, r, defaultCurrency);
  const price = money(line, 'price', r.price, currency);
  if (price === undefined) throw new ImportRowError(line, 'price: required (the current price, e.g. 12.90)');
  return {
    externalId: text(r.sku) ?? '',
    name: text(r.name) ?? '',
    category: text(r.category) ?? null,
    priceMinor: price,
    currency,
    url: text(r.url) ?? null,
    imageUrl: text(r.image_url) ?? null,
    inStock: bool(line, 'in_stock', r.in_stock) ?? true,
  };
}
