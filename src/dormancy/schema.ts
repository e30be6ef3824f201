import type { Generated, Kysely, Selectable } from 'kysely';
import type { Database } from '../db/schema.js';

/**
 * One customer's scores (migration 003). Written by every scoring run; meanings in
 * docs/SCORING.md and `CUSTOMER_SCORE_FIELDS`. Nullable columns are null when the value is
 * undefined for the customer (no orders, no fitted model), never NaN.
 */
export interface CustomerScoresTable {
  customer_id: number;
  /** The `score_runs` row that wrote this row. */
  run_id: number;
  orders_count: number;
  first_order_at: number | null;
  last_order_at: number | null;
  total_spent_minor: number;
  avg_order_minor: number;
  median_interval_days: number | null;
  /** `own` (three or more purchase days) or `prior` (shrunk toward / taken from the shop median). */
  interval_source: 'own' | 'prior' | null;
  days_since_last_order: number | null;
  overdue_ratio: number | null;
  early_warning: number;
  r_score: number | null;
  f_score: number | null;
  m_score: number | null;
  /** The three scores as text, e.g. `"545"`. */
  rfm: string | null;
  frequency: number;
  recency: number;
  t: number;
  p_alive: number | null;
  expected_purchases_90d: number | null;
  expected_spend_minor: number | null;
  expected_value_minor: number | null;
  recovery_cost_minor: number;
  worth_winning_back: number;
  discount_share: number;
  return_rate: number;
  late_payments: number;
  objected: number;
  scored_at: number;
  /** Probability of buying again within `returnHorizonDays` without a mail (migration 012); null without a backtest. */
  p_return: number | null;
  /** The usual interval (the one rhythm): own mean days between purchase days, else the shop prior (migration 012). */
  interval_days: number | null;
}

/** One scoring run with the fitted model parameters (null when the model was not fitted). */
export interface ScoreRunsTable {
  id: Generated<number>;
  /** `running`, `done`, `failed`, `abandoned` (a run left `running` by a crash). */
  status: string;
  /** The time the scores describe ("now" of the run). */
  as_of: number;
  started_at: number;
  finished_at: number | null;
  customers: number;
  orders: number;
  invalid_orders: number;
  /** Highest order id seen: a newer order makes the scores stale. */
  orders_max_id: number;
  prior_interval_days: number | null;
  fit_rows: number;
  bg_r: number | null;
  bg_alpha: number | null;
  bg_a: number | null;
  bg_b: number | null;
  bg_log_likelihood: number | null;
  gg_p: number | null;
  gg_q: number | null;
  gg_v: number | null;
  gg_log_likelihood: number | null;
  fitted_at: number | null;
  /** Why the model was not fitted or not used, when it was not. */
  model_note: string | null;
  /** The scoring settings of the run (JSON); automatic re-scoring reuses them. */
  settings: string;
  /** RFM quintile cut points (JSON). */
  rfm_cuts: string;
  seconds: number | null;
  error: string | null;
  /** The score `p_return` comes from (the winner of the shop's backtest), null without one (migration 012). */
  return_method: string | null;
  /** The backtest that chose it (JSON: horizon, cut-off, AUC and calibration gap per score) or why there is none. */
  return_backtest: string | null;
}

/** The score tables as kysely sees them. */
export type ScoreTables = {
  customer_scores: CustomerScoresTable;
  score_runs: ScoreRunsTable;
};

/** The whole database including the score tables. */
export type ScoreDatabase = Database & ScoreTables;

/** A stored score row. */
export type CustomerScore = Selectable<CustomerScoresTable>;

/** A stored scoring run. */
export type ScoreRun = Selectable<ScoreRunsTable>;

/** The engine's kysely instance, typed with the score tables as well. */
export function scoreDb(k: Kysely<Database>): Kysely<ScoreDatabase> {
  return k.withTables<ScoreTables>();
}
