import { z } from 'zod';
import { boundedJson, boundedText as text, COUNT, TEXT } from '../util/limits.js';
import { isTimeZone, parseTime, TIME_FORMATS } from '../util/time.js';

const isoTime = z.union([z.number().int(), z.date(), text(TEXT.short)]).transform((v, ctx) => {
  const t = typeof v === 'number' ? v : typeof v === 'string' ? parseTime(v) : v.getTime();
  if (t === undefined || !Number.isFinite(t)) {
    ctx.addIssue({ code: 'custom', message: `expected ${TIME_FORMATS}, got "${String(v)}"` });
    return z.NEVER;
  }
  return t;
});

const timeZone = text(TEXT.timeZone).refine(isTimeZone, { message: 'expected an IANA time zone like Europe/Berlin' });

/** The churn reasons of the source material; sequences branch on them. */
export const CHURN_REASONS = [
  'moved',
  'financial',
  'variety',
  'life_phase',
  'price',
  'quality',
  'service',
  'image',
  'location',
  'new_contact',
  'competitor',
] as const;
export const ChurnReason = z.enum(CHURN_REASONS);
export type ChurnReason = z.infer<typeof ChurnReason>;

/** A customer as the shop records it. `externalId` is the shop's own id and the upsert key. */
export const CustomerInput = z.strictObject({
  externalId: text(TEXT.id).min(1),
  email: text(TEXT.email).pipe(z.email()).nullish(),
  firstName: text(TEXT.name).nullish(),
  lastName: text(TEXT.name).nullish(),
  gender: z.enum(['f', 'm', 'd']).nullish(),
  title: text(TEXT.title).nullish(),
  locale: text(TEXT.locale).min(2).optional(),
  timeZone: timeZone.optional(),
  /** `sale` when the address came from a purchase (needed for the existing-customer basis). */
  acquiredVia: z.enum(['sale', 'newsletter', 'import', 'api', 'unknown']).optional(),
  churnReason: ChurnReason.nullish(),
  latePayments: z.number().int().min(0).optional(),
  tags: z.array(text(TEXT.tag)).max(COUNT.tags, `more than ${COUNT.tags} tags`).optional(),
  attributes: boundedJson().optional(),
  createdAt: isoTime.optional(),
});
export type CustomerInput = z.input<typeof CustomerInput>;

/** One line of an order. Prices in minor units. */
export const OrderItemInput = z.strictObject({
  sku: text(TEXT.id).min(1),
  name: text(TEXT.name).min(1),
  category: text(TEXT.name).nullish(),
  quantity: z.number().int().positive().default(1),
  unitPriceMinor: z.number().int().min(0),
});
export type OrderItemInput = z.input<typeof OrderItemInput>;

/** An order. `externalId` is the shop's order id and makes recording idempotent. */
export const OrderInput = z.strictObject({
  externalId: text(TEXT.id).min(1),
  customerExternalId: text(TEXT.id).min(1),
  orderedAt: isoTime,
  totalMinor: z.number().int().min(0),
  currency: z.string().length(3).optional(),
  discountMinor: z.number().int().min(0).default(0),
  status: z.enum(['paid', 'returned', 'cancelled']).default('paid'),
  paidLate: z.boolean().default(false),
  returnedMinor: z.number().int().min(0).default(0),
  couponCode: text(TEXT.name).nullish(),
  items: z.array(OrderItemInput).max(COUNT.orderItems, `more than ${COUNT.orderItems} items`).default([]),
});
export type OrderInput = z.input<typeof OrderInput>;
export type ParsedOrder = z.output<typeof OrderInput>;

/** A product of the catalogue (used for recommendations). */
export const ProductInput = z.strictObject({
  externalId: text(TEXT.id).min(1),
  name: text(TEXT.name).min(1),
  category: text(TEXT.name).nullish(),
  priceMinor: z.number().int().min(0),
  currency: z.string().length(3).optional(),
  url: text(TEXT.url).pipe(z.url()).nullish(),
  imageUrl: text(TEXT.url).pipe(z.url()).nullish(),
  inStock: z.boolean().default(true),
});
export type ProductInput = z.input<typeof ProductInput>;
