/**
 * The documented customer fields that `audience.where`, `unless`, `only_if` and `branch.when`
 * may use. One list, so that validation, the JSON Schema description, `docs/SEQUENCES.md` and the
 * SQL that computes the values agree. Money is in major units of the shop currency (49.9, not 4990).
 */

/** The type of a field as expressions see it. */
export type FieldType = 'number' | 'string' | 'list' | 'boolean';

/** One documented field. */
export interface FieldDoc {
  type: FieldType;
  doc: string;
  /** The value may be unknown (null): any comparison with it is false. */
  nullable?: boolean;
  /** Needs the purchase-model scores (`customer_scores` table). */
  model?: boolean;
}

/** Fields computed from the customer record and their purchase history. */
export const CUSTOMER_FIELDS = {
  orders_count: { type: 'number', doc: 'orders that were not cancelled' },
  total_spent: { type: 'number', doc: 'lifetime spend in the shop currency (major units, e.g. 249.9)' },
  average_order: { type: 'number', doc: 'average order value in the shop currency' },
  days_since_last_order: { type: 'number', doc: 'whole days since the last order' },
  days_since_first_order: { type: 'number', doc: 'whole days since the first order' },
  interval_days: {
    type: 'number',
    doc: "the customer's usual interval: mean days between purchase days (several orders on one day are one purchase; unknown with one purchase day) — the same rhythm as the stored scores",
    nullable: true,
  },
  overdue_ratio: {
    type: 'number',
    doc: 'days since the last order divided by interval_days (unknown with one purchase day); equal to the stored score for every customer with two or more purchase days',
    nullable: true,
  },
  median_interval_days: {
    type: 'number',
    doc: "the usual interval as stored by `comeback score` (the name is historical): interval_days, or the shop's usual interval for a customer with one purchase day",
    nullable: true,
    model: true,
  },
  p_return: {
    type: 'number',
    doc: "probability of buying again within the scoring horizon (90 days) without a mail, 0..1: the score that won the shop's own backtest (`comeback score`)",
    nullable: true,
    model: true,
  },
  discount_share: { type: 'number', doc: 'share of orders with a discount, 0..1 (bargain hunters are high)' },
  return_rate: { type: 'number', doc: 'share of the order value that was returned, 0..1' },
  late_payments: {
    type: 'number',
    doc: 'late payments: the larger of the count recorded on the customer and the orders marked paid late',
  },
  locale: { type: 'string', doc: 'the customer locale, e.g. "de-DE"' },
  language: { type: 'string', doc: 'the language part of the locale, e.g. "de"' },
  tags: { type: 'list', doc: 'tags of the customer: "vip" in tags' },
  categories: { type: 'list', doc: 'product categories the customer has bought: "coffee" in categories' },
  churn_reason: { type: 'string', doc: 'the known churn reason (price, service, ...) or "unknown"' },
  acquired_via: { type: 'string', doc: 'how the address was obtained: sale, newsletter, import, api, unknown' },
  p_alive: {
    type: 'number',
    doc: 'probability that the customer is still active (purchase model)',
    nullable: true,
    model: true,
  },
  expected_value: {
    type: 'number',
    doc: 'expected future value in the shop currency (purchase model)',
    nullable: true,
    model: true,
  },
  expected_purchases_90d: {
    type: 'number',
    doc: 'expected purchases in the next 90 days (purchase model)',
    nullable: true,
    model: true,
  },
  worth_winning_back: {
    type: 'number',
    doc: '1 when the expected value covers the recovery cost and no exclusion applies (scoring), else 0',
    nullable: true,
    model: true,
  },
  early_warning: {
    type: 'number',
    doc: '1 when drifting past their rhythm but not yet lost (scoring), else 0',
    nullable: true,
    model: true,
  },
  rfm: { type: 'string', doc: 'RFM scores as text, e.g. "545" (scoring)', nullable: true, model: true },
  objected: {
    type: 'number',
    doc: '1 when the customer objected to marketing (consent ledger as of the last scoring run), else 0',
    nullable: true,
    model: true,
  },
} as const satisfies Record<string, FieldDoc>;

/** Name of a customer field. */
export type CustomerField = keyof typeof CUSTOMER_FIELDS;

/** Engagement facts since enrolment (human events only), usable in step conditions and branches. */
export const ENGAGEMENT_FACTS = {
  opened: { type: 'boolean', doc: 'a human opened a mail of this enrolment (machine opens never count)' },
  clicked: { type: 'boolean', doc: 'a human clicked a link in a mail of this enrolment (scanner clicks never count)' },
  purchased: { type: 'boolean', doc: 'an order since enrolment was attributed to it' },
  survey_answered: { type: 'boolean', doc: 'the customer answered the reason survey' },
  churn_reason_known: { type: 'boolean', doc: 'a churn reason is known (imported or answered)' },
} as const satisfies Record<string, FieldDoc>;

/** Name of an engagement fact. */
export type EngagementFact = keyof typeof ENGAGEMENT_FACTS;

/** The values of the customer fields of one customer. */
export type CustomerValues = {
  [K in CustomerField]: (typeof CUSTOMER_FIELDS)[K]['type'] extends 'list'
    ? string[]
    : (typeof CUSTOMER_FIELDS)[K]['type'] extends 'string'
      ? (typeof CUSTOMER_FIELDS)[K] extends { nullable: true }
        ? string | null
        : string
      : number | null;
};

/** Functions expressions may call, besides filtrex's own (abs, ceil, floor, round, min, max, ...). */
export const EXPRESSION_FUNCTIONS = [
  'abs',
  'ceil',
  'empty',
  'exists',
  'floor',
  'log',
  'log2',
  'log10',
  'max',
  'min',
  'round',
  'sqrt',
] as const;

/** A sample customer with typical values: validation evaluates every expression on it to catch type errors. */
export const SAMPLE_CUSTOMER: CustomerValues = {
  orders_count: 4,
  total_spent: 240,
  average_order: 60,
  days_since_last_order: 120,
  days_since_first_order: 400,
  interval_days: 40,
  overdue_ratio: 3,
  median_interval_days: 35,
  p_return: 0.2,
  discount_share: 0.25,
  return_rate: 0.05,
  late_payments: 0,
  locale: 'de-DE',
  language: 'de',
  tags: ['vip'],
  categories: ['coffee'],
  churn_reason: 'price',
  acquired_via: 'sale',
  p_alive: 0.4,
  expected_value: 55,
  expected_purchases_90d: 0.4,
  worth_winning_back: 1,
  early_warning: 0,
  rfm: '345',
  objected: 0,
};
