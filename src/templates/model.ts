/**
 * The data model every template renders from: one documented place for every key a template
 * may use. The static check (`checkTemplate`) resolves each `{{variable}}` against it, so a typo
 * is a validate-time error naming template, line and variable, never a blank in a sent mail.
 */
import { CHURN_REASONS } from '../shop/types.js';

/** How a value is shown and which helpers accept it. `any` allows every sub-path (free-form data). */
export type FieldType = 'string' | 'number' | 'boolean' | 'money' | 'timestamp' | 'url' | 'object' | 'list' | 'any';

/** One key of the data model. */
export interface Field {
  type: FieldType;
  doc: string;
  /** The value may be null (unknown): print it only inside `{{#if key}}`. */
  nullable?: boolean;
  /** Keys of an object. */
  fields?: Record<string, Field>;
  /** The element of a list. */
  items?: Field;
}

const s = (doc: string, nullable = false): Field => ({ type: 'string', doc, nullable });
const n = (doc: string, nullable = false): Field => ({ type: 'number', doc, nullable });
const money = (doc: string, nullable = false): Field => ({ type: 'money', doc, nullable });
const time = (doc: string, nullable = false): Field => ({ type: 'timestamp', doc, nullable });
const url = (doc: string, nullable = false): Field => ({ type: 'url', doc, nullable });
const obj = (doc: string, fields: Record<string, Field>, nullable = false): Field => ({
  type: 'object',
  doc,
  fields,
  nullable,
});
const list = (doc: string, items: Field): Field => ({ type: 'list', doc, items });

/** A product as templates see it (recommendations and last-order items). */
export const PRODUCT_FIELDS: Record<string, Field> = {
  sku: s('SKU (the product external id)'),
  name: s('product name'),
  category: s('category', true),
  price: money('unit price in minor units'),
  url: url('product page; a tracked link in the sent mail (falls back to shop_url)'),
  image_url: url('product image', true),
};

/**
 * Every key a template may use, with its meaning. Amounts are minor units (`{{money total_spent}}`),
 * times are epoch milliseconds (`{{date last_order.ordered_at}}`, `{{since last_order.ordered_at}}`).
 */
export const DATA_MODEL: Record<string, Field> = {
  locale: s('formatting locale (BCP 47) of the customer, e.g. de-DE; helpers use it'),
  language: s('language of the template file chosen, e.g. de (after fallback)'),
  time_zone: s('IANA time zone of the customer'),
  currency: s('ISO 4217 currency of the customer (of the last order)'),
  now: time('the moment of sending (for relative times)'),
  style: s('salutation style: formal or informal (customer attribute > sequence > language default)'),
  first_name: s('first name', true),
  last_name: s('last name', true),
  title: s('academic title, e.g. Dr.', true),
  email: s('email address', true),
  salutation: s('greeting line without comma: "Sehr geehrte Frau Dr. Müller", "Hallo Anna", neutral when unknown'),
  attributes: {
    type: 'any',
    doc: 'free-form customer attributes recorded by the shop (unchecked: a missing one fails the message)',
  },
  orders_count: n('number of orders (not cancelled)'),
  total_spent: money('lifetime spend in minor units'),
  average_order: money('average order value in minor units'),
  first_order_at: time('time of the first order', true),
  days_since_last_order: n('whole days since the last order', true),
  last_order: obj(
    'the most recent order; null for a customer without orders',
    {
      number: s("the shop's order number"),
      ordered_at: time('time of the order'),
      total: money('order total in minor units'),
      items: list('its items', obj('an item', { ...PRODUCT_FIELDS, quantity: n('quantity') })),
    },
    true,
  ),
  favorite_categories: list('categories bought most often, most frequent first (up to 3)', s('a category')),
  favorite_category: s('the category bought most often', true),
  recommendations: list(
    'up to 3 in-stock products the customer does not own yet: bought together with their products, else bestsellers of their favourite categories, else of the shop',
    obj('a recommended product', {
      ...PRODUCT_FIELDS,
      reason: s('bought_together, category_bestseller or bestseller'),
    }),
  ),
  coupon: obj(
    'the personal coupon of this step; null when the step gives none',
    {
      code: s('unique code'),
      percent: n('percent off', true),
      amount: money('amount off in minor units', true),
      expires_at: time('expiry time'),
    },
    true,
  ),
  churn_reason: s('the known churn reason key (price, service, ...)', true),
  churn_reason_label: s('the churn reason in the customer language', true),
  reasons: list(
    'every churn reason with its one-click survey link',
    obj('a reason', { key: s('reason key'), label: s('label in the customer language'), url: url('survey link') }),
  ),
  reason_links: obj('survey link per reason key', {}, false),
  shop_url: url('the shop (tracked)'),
  unsubscribe_url: url('one-click unsubscribe page (never tracked)'),
  preferences_url: url('the preference page: snooze, frequency, topics, language, unsubscribe (never tracked)'),
  webview_url: url('the mail in the browser (never tracked)'),
  tracking_base: url('base URL of the tracking server (internal)'),
  preheader: s('the rendered preheader of the step (may be empty)'),
  sender: obj('the sender', { name: s('shop name'), postal_address: s('postal address (legally required)') }),
  notice: obj('legal texts in the customer language', {
    right_to_object: s('notice of the right to object (legally required)'),
    unsubscribe: s('label of the unsubscribe link'),
    preferences: s('label of the preference-page link'),
    view_online: s('label of the web-view link'),
  }),
  labels: obj('texts of the shared partials in the customer language and style', {}),
  message: obj('what is being sent', {
    sequence: s('sequence id'),
    step: s('step id'),
    variant: s('variant id', true),
    template: s('template name'),
  }),
};

/** The texts of the shared partials, per language: `{{labels.your_code}}` and so on. */
export const LABEL_KEYS = [
  'last_order',
  'recommended',
  'view_product',
  'your_code',
  'valid_until',
  'off',
  'shop_now',
  'reason_question',
  'reason_thanks',
] as const;

// reason_links and labels are objects whose keys are fixed elsewhere; fill them in here.
DATA_MODEL.reason_links!.fields = Object.fromEntries(CHURN_REASONS.map((r) => [r, url(`survey link for "${r}"`)]));
DATA_MODEL.labels!.fields = Object.fromEntries(LABEL_KEYS.map((k) => [k, s(`label "${k}"`)]));

/** Keys whose value must appear, unconditionally, in every marketing mail (law, not taste). */
export const REQUIRED_MARKERS = [
  { path: 'unsubscribe_url', what: 'the unsubscribe link (<a href="{{unsubscribe_url}}">)', href: true },
  { path: 'sender.postal_address', what: "the sender's postal address ({{sender.postal_address}})", href: false },
  {
    path: 'notice.right_to_object',
    what: 'the notice of the right to object ({{notice.right_to_object}})',
    href: false,
  },
] as const;

/** One line per key, for docs and `comeback preview --help`-style listings. */
export function describeDataModel(model: Record<string, Field> = DATA_MODEL, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, f] of Object.entries(model)) {
    const path = prefix + key;
    out.push(`${path}${f.nullable ? '?' : ''}: ${f.type} — ${f.doc}`);
    if (f.fields) out.push(...describeDataModel(f.fields, `${path}.`));
    if (f.items?.fields) out.push(...describeDataModel(f.items.fields, `${path}[].`));
  }
  return out;
}
