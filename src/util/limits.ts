/**
 * Every size limit on input, in one place; docs/LIMITS.md lists them in one table. A value over a
 * limit is refused with an error naming the place, and a limit on bytes is checked before the
 * bytes are read, so a hostile file or request costs no more memory than the limit itself.
 */
import { z } from 'zod';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Lengths of text fields, in characters (the same for an imported column and an API field). */
export const TEXT = {
  /** Shop ids: customer, order, SKU. */
  id: 200,
  /** An address (RFC 5321 allows no longer path). */
  email: 254,
  /** First and last name, product name, category, coupon code, consent wording version, source. */
  name: 200,
  /** A salutation title (Dr., Prof.). */
  title: 100,
  /** A BCP 47 language tag (locale). */
  locale: 35,
  /** An IANA time zone name. */
  timeZone: 64,
  /** One tag; a customer has at most `COUNT.tags` of them. */
  tag: 100,
  /** Short values: times, amounts, numbers, flags, enumerations (consent basis, status, gender). */
  short: 64,
  /** Product and image URLs. */
  url: 2048,
  /** Sequence `name`, and a subject or preheader text. */
  label: 500,
  /** Sequence `description` and a condition. */
  description: 5000,
} as const;

/** How many of a thing one input may hold. */
export const COUNT = {
  /** Columns in an import file's header (the known columns are far fewer). */
  columns: 64,
  /** Tags of one customer. */
  tags: 100,
  /** Lines (items) of one order. */
  orderItems: 1000,
  /** Steps of one sequence. */
  steps: 50,
  /** Variants of one step, and cases of one `when` branch. */
  variants: 20,
  /** Customers in one `POST /api/customers`. */
  customersPerRequest: 1000,
  /** Topics the config declares for the preference page (each name at most `TEXT.short`). */
  topics: 20,
  /** Addresses of the config's `seedList` (test sends). */
  seedList: 50,
} as const;

/** Sizes in bytes. */
export const BYTES = {
  /** One line of an import file (a CSV record, a JSON Lines object). */
  importLine: MiB,
  /** A sequence YAML file. */
  sequenceFile: 256 * KiB,
  /** A template file (MJML layout, partial or text), and a templates settings file. */
  templateFile: 512 * KiB,
  /** The JSON body of an API request. */
  apiBody: MiB,
  /** Free-form JSON a request carries: trigger data, customer attributes, consent evidence. */
  json: 16 * KiB,
  /** A raw mail posted to `POST /api/inbound` (a bounce quotes the original). */
  inboundMail: 10 * MiB,
  /** The body of an unsubscribe POST (`List-Unsubscribe=One-Click` and a few form fields), and of a preference-page form. */
  unsubscribeBody: 64 * KiB,
  /** A SendGrid event webhook batch. */
  webhookBody: 16 * MiB,
  /** Default of `sender.maxMessageBytes`: the largest mail the sender builds (subject, HTML, text). */
  message: 2 * MiB,
  /** A request to the studio (`comeback studio`): a file's text as JSON, with room for escaping. */
  studioRequest: 2 * MiB,
} as const;

/** The message for a text over its limit: `longer than 200 characters`. */
export function tooLong(max: number): string {
  return `longer than ${max.toLocaleString('en')} characters`;
}

/** A byte count for people: `1 MiB`, `256 KiB`, `312 bytes`. */
export function formatBytes(n: number): string {
  if (n >= MiB) return `${Number((n / MiB).toFixed(1))} MiB`;
  if (n >= KiB) return `${Number((n / KiB).toFixed(1))} KiB`;
  return `${n} bytes`;
}

/** The message for a file or body over its limit: `12.5 MiB, larger than the limit of 256 KiB`. */
export function tooLarge(size: number, max: number): string {
  const [a, b] = [formatBytes(size), formatBytes(max)];
  // Just over the limit, rounded figures would read "16 KiB, larger than 16 KiB".
  if (a === b) return `${size.toLocaleString('en')} bytes, larger than the limit of ${max.toLocaleString('en')} bytes`;
  return `${a}, larger than the limit of ${b}`;
}

/** The size of a value as JSON, in bytes (what free-form JSON fields are measured by). */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}

/** The longest value of each column of an import file (customers, orders, products), in characters. */
export const COLUMN_CHARS: Readonly<Record<string, number>> = {
  external_id: TEXT.id,
  email: TEXT.email,
  first_name: TEXT.name,
  last_name: TEXT.name,
  gender: TEXT.short,
  title: TEXT.title,
  locale: TEXT.locale,
  time_zone: TEXT.timeZone,
  acquired_via: TEXT.short,
  churn_reason: TEXT.short,
  late_payments: TEXT.short,
  tags: COUNT.tags * (TEXT.tag + 1),
  created_at: TEXT.short,
  consent: TEXT.short,
  consent_at: TEXT.short,
  consent_text_version: TEXT.name,
  objected_at: TEXT.short,
  order_id: TEXT.id,
  customer_id: TEXT.id,
  ordered_at: TEXT.short,
  total: TEXT.short,
  currency: TEXT.short,
  discount: TEXT.short,
  status: TEXT.short,
  paid_late: TEXT.short,
  returned: TEXT.short,
  coupon_code: TEXT.name,
  sku: TEXT.id,
  product_name: TEXT.name,
  category: TEXT.name,
  quantity: TEXT.short,
  unit_price: TEXT.short,
  name: TEXT.name,
  price: TEXT.short,
  url: TEXT.url,
  image_url: TEXT.url,
  in_stock: TEXT.short,
};

/** A zod string of at most `max` characters, refused with `longer than N characters`. */
export function boundedText(max: number) {
  return z.string().max(max, tooLong(max));
}

/** A zod record of free-form JSON of at most `BYTES.json` bytes (trigger data, attributes, evidence). */
export function boundedJson() {
  return z.record(z.string(), z.unknown()).superRefine((v, ctx) => {
    const size = jsonBytes(v);
    if (size > BYTES.json) ctx.addIssue({ code: 'custom', message: tooLarge(size, BYTES.json) });
  });
}

/** The operator console: users, logins and the reasons actions carry. */
export const OPERATOR = {
  /** A dashboard username. */
  username: 64,
  /** Shortest password `comeback users add` accepts. */
  passwordMin: 12,
  /** Longest password (scrypt hashes any length, but a megabyte login form costs for nothing). */
  passwordMax: 1024,
  /** The reason given for an action (pause, resume, settle), kept in the operator log. */
  reason: 1000,
  /** Failed logins in a row before a user is locked out. */
  loginAttempts: 5,
  /** How long a lock-out lasts, in minutes. */
  lockMinutes: 15,
  /** How long a dashboard login lasts, in hours. */
  sessionHours: 8,
  /** Message ids settled by one dashboard action. */
  settleIds: 1000,
} as const;
