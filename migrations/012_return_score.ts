import type { Kysely } from 'kysely';

/**
 * The return score: `customer_scores.p_return` (probability of buying again within the run's
 * horizon without a mail, from whichever score won the shop's own backtest) and
 * `customer_scores.interval_days` (the one rhythm definition: mean days between purchase days,
 * the shop prior with one purchase day). `median_interval_days` stays, written with the same
 * value, so existing audience rules and SQL keep working. `score_runs` records which score
 * `p_return` came from and the backtest figures that chose it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('customer_scores').addColumn('p_return', 'double precision').execute();
  await db.schema.alterTable('customer_scores').addColumn('interval_days', 'double precision').execute();
  await db.schema.alterTable('score_runs').addColumn('return_method', 'text').execute();
  await db.schema.alterTable('score_runs').addColumn('return_backtest', 'text').execute();
}

/** Drops the columns again. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('score_runs').dropColumn('return_backtest').execute();
  await db.schema.alterTable('score_runs').dropColumn('return_method').execute();
  await db.schema.alterTable('customer_scores').dropColumn('interval_days').execute();
  await db.schema.alterTable('customer_scores').dropColumn('p_return').execute();
}
