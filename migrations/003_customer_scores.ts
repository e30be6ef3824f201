import { sql, type Kysely } from 'kysely';
import { notNullDefault, withId } from './helpers.js';

/**
 * Purchase-rhythm and purchase-model scores, one row per customer, rewritten by each scoring run
 * (`comeback score`, `engine.score()`), and the runs themselves with the fitted model parameters.
 * Column meanings are documented in docs/SCORING.md and `CUSTOMER_SCORE_FIELDS`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const nn = (c: any) => c.notNull();
  const real = 'double precision';
  await db.schema
    .createTable('customer_scores')
    .addColumn('customer_id', 'bigint', (c) => c.primaryKey())
    .addColumn('run_id', 'bigint', nn)
    .addColumn('orders_count', 'integer', nn)
    .addColumn('first_order_at', 'bigint')
    .addColumn('last_order_at', 'bigint')
    .addColumn('total_spent_minor', 'bigint', nn)
    .addColumn('avg_order_minor', 'bigint', nn)
    .addColumn('median_interval_days', real)
    .addColumn('interval_source', 'text')
    .addColumn('days_since_last_order', 'integer')
    .addColumn('overdue_ratio', real)
    .addColumn('early_warning', 'integer', notNullDefault(0))
    .addColumn('r_score', 'integer')
    .addColumn('f_score', 'integer')
    .addColumn('m_score', 'integer')
    .addColumn('rfm', 'text')
    .addColumn('frequency', 'integer', nn)
    .addColumn('recency', 'integer', nn)
    .addColumn('t', 'integer', nn)
    .addColumn('p_alive', real)
    .addColumn('expected_purchases_90d', real)
    .addColumn('expected_spend_minor', 'bigint')
    .addColumn('expected_value_minor', 'bigint')
    .addColumn('recovery_cost_minor', 'bigint', nn)
    .addColumn('worth_winning_back', 'integer', notNullDefault(0))
    .addColumn('discount_share', real, notNullDefault(0))
    .addColumn('return_rate', real, notNullDefault(0))
    .addColumn('late_payments', 'integer', notNullDefault(0))
    .addColumn('objected', 'integer', notNullDefault(0))
    .addColumn('scored_at', 'bigint', nn)
    .execute();

  await withId(db, db.schema.createTable('score_runs'))
    /** `running`, `done`, `failed`, `abandoned`. */
    .addColumn('status', 'text', nn)
    .addColumn('as_of', 'bigint', nn)
    .addColumn('started_at', 'bigint', nn)
    .addColumn('finished_at', 'bigint')
    .addColumn('customers', 'integer', notNullDefault(0))
    .addColumn('orders', 'bigint', notNullDefault(0))
    .addColumn('invalid_orders', 'integer', notNullDefault(0))
    .addColumn('orders_max_id', 'bigint', notNullDefault(0))
    .addColumn('prior_interval_days', real)
    .addColumn('fit_rows', 'integer', notNullDefault(0))
    .addColumn('bg_r', real)
    .addColumn('bg_alpha', real)
    .addColumn('bg_a', real)
    .addColumn('bg_b', real)
    .addColumn('bg_log_likelihood', real)
    .addColumn('gg_p', real)
    .addColumn('gg_q', real)
    .addColumn('gg_v', real)
    .addColumn('gg_log_likelihood', real)
    .addColumn('fitted_at', 'bigint')
    .addColumn('model_note', 'text')
    .addColumn('settings', 'text', notNullDefault('{}'))
    .addColumn('rfm_cuts', 'text', notNullDefault('{}'))
    .addColumn('seconds', real)
    .addColumn('error', 'text')
    .execute();
  // At most one run at a time: a second `running` row is refused by the database.
  await db.schema
    .createIndex('score_runs_one_running')
    .on('score_runs')
    .column('status')
    .unique()
    .where(sql<boolean>`status = 'running'`)
    .execute();
}

/** Drops the score tables. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('score_runs').ifExists().execute();
  await db.schema.dropTable('customer_scores').ifExists().execute();
}
