/**
 * The columns of `customer_scores`, name → meaning. The one list that docs/SCORING.md,
 * `comeback customer` and the audience rules of sequences agree on. Money is in minor units
 * (4990 = 49.90), times are UTC epoch milliseconds, day counts are UTC calendar days.
 */
export const CUSTOMER_SCORE_FIELDS = {
  customer_id: 'the customer (customers.id); one row per customer that is not erased',
  run_id: 'the scoring run (score_runs.id) that wrote the row',
  orders_count:
    'orders that were not cancelled, up to the scoring time (0: no orders; most other fields are then null)',
  first_order_at: 'time of the first order (null without orders)',
  last_order_at: 'time of the last order (null without orders)',
  total_spent_minor: 'order value net of returns, minor units',
  avg_order_minor: 'total_spent_minor / orders_count, rounded (0 without orders)',
  median_interval_days: 'the same value as interval_days (the name is historical)',
  interval_source:
    "'own' (2+ purchase days with the default minOwnIntervals 1) or 'prior' (the shop prior, or shrunk toward it)",
  days_since_last_order: 'whole days since the last order (floor)',
  overdue_ratio:
    'days since the last order / interval_days (1 = due now, 3 = three intervals late); the audience field of the same name agrees for 2+ purchase days',
  early_warning:
    '1 when drifting: overdue_ratio ≥ 1.5 and < 3 and p_alive (when known) ≥ 0.3 (thresholds configurable)',
  r_score: 'RFM recency quintile 1-5 (5: most recent fifth)',
  f_score: 'RFM frequency quintile 1-5 of orders_count (5: most orders)',
  m_score: 'RFM monetary quintile 1-5 of total_spent_minor (5: highest spend)',
  rfm: 'the three scores as text, e.g. "545"',
  frequency: 'BG/NBD input: repeat purchase days (purchase days - 1)',
  recency: 'BG/NBD input: days from the first to the last purchase day',
  t: 'BG/NBD input T: days from the first purchase day to the scoring day (0 for a first order today)',
  p_alive: 'BG/NBD probability that the customer is still active, 0..1 (null without orders or fitted model)',
  expected_purchases_90d: 'BG/NBD expected purchases in the next 90 days (null without model)',
  expected_spend_minor:
    'Gamma-Gamma expected value of the next order, minor units (the average order when Gamma-Gamma could not be fitted)',
  expected_value_minor:
    'expected revenue over the horizon (365 days), discounted (10 %/year): BG/NBD purchases × expected spend (null without model)',
  recovery_cost_minor:
    'cost of a win-back attempt: mails × mail cost + coupon (% of average order + fixed) × redemption rate',
  worth_winning_back:
    '1 when the customer has ordered, no exclusion applies and margin × expected_value_minor ≥ recovery_cost_minor (without model: exclusions only)',
  discount_share: 'share of orders with a discount, 0..1 (bargain hunters: ≥ 0.6 with 2+ orders excludes)',
  return_rate: 'share of order value returned, 0..1 (≥ 0.5 with 2+ orders excludes)',
  late_payments: 'max(customers.late_payments, orders paid late) (≥ 2 excludes)',
  objected: '1 when the customer objected to marketing (consent ledger; excludes)',
  scored_at: 'the time the scores describe (the run\'s "now")',
  p_return:
    "probability of buying again within returnHorizonDays (90) without a mail, from the score that won the shop's own backtest (score_runs.return_method); null without a backtest",
  interval_days: 'the usual interval (the one rhythm): mean days between purchase days, else the shop prior',
} as const;

/** Name of a `customer_scores` column. */
export type CustomerScoreField = keyof typeof CUSTOMER_SCORE_FIELDS;
