import { CHURN_REASONS } from '../shop/types.js';
import { labelsFor, noticesFor, reasonLabelsFor, salutation, type SalutationStyle } from './notices.js';

const DAY = 86_400_000;

/** A small square product picture as a data URL (no network needed to show it). */
export function placeholderImage(color: string, label: string): string {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><rect width="400" height="400" fill="${color}"/><text x="200" y="215" font-family="Arial" font-size="40" fill="#fff" text-anchor="middle">${label}</text></svg>`;
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

/** Options of the sample data. */
export interface SampleOptions {
  locale?: string;
  style?: SalutationStyle;
  now?: number;
  shopUrl?: string;
  publicUrl?: string;
  coupon?: boolean;
  /** Product pictures as inline data URLs (default; render offline) or as CDN URLs like real data. */
  images?: 'inline' | 'remote';
  /** Customer fields as stored (names are cleaned like real data). */
  customer?: { first_name?: string | null; last_name?: string | null; gender?: string | null; title?: string | null };
}

/**
 * A complete, realistic data model for one made-up customer: for tests, benchmarks, screenshots,
 * and `comeback preview` without a database. Links point at `publicUrl` like real ones.
 */
export function sampleData(options: SampleOptions = {}): Record<string, unknown> {
  const locale = options.locale ?? 'de';
  const style = options.style ?? (locale.startsWith('de') ? 'formal' : 'informal');
  const now = options.now ?? Date.UTC(2026, 5, 1, 10);
  const shop = options.shopUrl ?? 'https://shop.example.com';
  const base = options.publicUrl ?? 'http://localhost:8080';
  const c = { first_name: 'Anna', last_name: 'Müller', gender: 'f', title: 'Dr.', ...options.customer };
  const product = (sku: string, name: string, category: string, price: number, color: string) => ({
    sku,
    name,
    category,
    price,
    url: `${shop}/p/${sku.toLowerCase()}`,
    image_url:
      options.images === 'remote'
        ? `https://cdn.example.com/img/${sku.toLowerCase()}.jpg`
        : placeholderImage(color, sku),
  });
  const reasonLabels = reasonLabelsFor(locale);
  const reasons = CHURN_REASONS.map((key, i) => ({ key, label: reasonLabels[key]!, url: `${base}/r/sample-${i}` }));
  const lastOrderAt = now - 97 * DAY;
  return {
    locale,
    language: locale.split('-')[0],
    time_zone: 'Europe/Berlin',
    currency: 'EUR',
    now,
    style,
    first_name: c.first_name,
    last_name: c.last_name,
    title: c.title,
    email: 'anna.mueller@example.com',
    salutation: salutation(
      {
        first_name: c.first_name ?? null,
        last_name: c.last_name ?? null,
        gender: c.gender ?? null,
        title: c.title ?? null,
      },
      locale,
      style,
    ),
    attributes: {},
    orders_count: 7,
    total_spent: 123450,
    average_order: 17636,
    first_order_at: now - 700 * DAY,
    days_since_last_order: 97,
    last_order: {
      number: 'A-10293',
      ordered_at: lastOrderAt,
      total: 8470,
      items: [
        { ...product('TEA-GREEN', 'Grüner Tee Sencha Premium', 'Tee', 1290, '#4c8c4a'), quantity: 2 },
        { ...product('MUG-01', 'Teetasse aus Steingut, handgemacht', 'Zubehör', 2490, '#8c6a4a'), quantity: 1 },
        { ...product('HONEY-7', 'Akazienhonig 500 g', 'Feinkost', 1700, '#c9a227'), quantity: 2 },
      ],
    },
    favorite_categories: ['Tee', 'Zubehör'],
    favorite_category: 'Tee',
    recommendations: [
      { ...product('TEA-MATCHA', 'Matcha Zeremonie-Qualität', 'Tee', 2990, '#6a9c3a'), reason: 'bought_together' },
      {
        ...product('POT-CAST', 'Teekanne aus Gusseisen 1,2 l', 'Zubehör', 5490, '#3a3a3a'),
        reason: 'category_bestseller',
      },
      { ...product('TEA-CHAI', 'Chai Gewürzmischung', 'Tee', 890, '#a0522d'), reason: 'bestseller' },
    ],
    coupon:
      options.coupon === false
        ? null
        : { code: 'CB-7F3A9C21DE', percent: 15, amount: null, expires_at: now + 14 * DAY },
    churn_reason: 'price',
    churn_reason_label: reasonLabels.price,
    reasons,
    reason_links: Object.fromEntries(reasons.map((r) => [r.key, r.url])),
    shop_url: shop,
    unsubscribe_url: `${base}/u/sample`,
    preferences_url: `${base}/p/sample`,
    webview_url: `${base}/v/sample`,
    tracking_base: base,
    preheader: locale.startsWith('de') ? 'Wir haben etwas für Sie' : 'We have something for you',
    sender: {
      name: 'Comeback Demo Shop',
      postal_address: 'Comeback Demo Shop GmbH, Musterstraße 1, 10115 Berlin, Germany',
    },
    notice: noticesFor(locale),
    labels: labelsFor(locale, style),
    message: { sequence: 'winback-lapsed', step: 'miss-you', variant: null, template: 'winback/miss-you' },
  };
}
