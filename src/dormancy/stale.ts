import { sql } from 'kysely';
import { parseScoringSettings, type ScoringSettings } from './config.js';
import { ScoringError } from './errors.js';
import { scoreCustomers, type ScoreRunResult, type ScoringDeps } from './run.js';
import { scoreDb, type ScoreRun } from './schema.js';

/** The newest finished run, or undefined before the first one. */
export async function latestRun(deps: Pick<ScoringDeps, 'db'>): Promise<ScoreRun | undefined> {
  return scoreDb(deps.db.kysely)
    .selectFrom('score_runs')
    .selectAll()
    .where('status', '=', 'done')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Whether the stored scores need a new run, and why. */
export interface Staleness {
  stale: boolean;
  reason: 'never_scored' | 'too_old' | 'new_orders' | 'fresh' | 'run_in_progress';
  /** The settings a new run would use: the last run's, else the defaults. */
  settings: ScoringSettings;
  lastRun?: ScoreRun;
}

/**
 * Scores are stale when there are none, when the last run is older than its `staleAfterHours`,
 * or when an order was added since (an order id above the run's watermark). A run in progress
 * is not stale: its scores are on their way.
 */
export async function scoreStaleness(deps: ScoringDeps): Promise<Staleness> {
  const k = scoreDb(deps.db.kysely);
  const last = await latestRun(deps);
  const settings = parseScoringSettings(last ? JSON.parse(last.settings) : {});
  const running = await k.selectFrom('score_runs').select('id').where('status', '=', 'running').executeTakeFirst();
  if (running) return { stale: false, reason: 'run_in_progress', settings, ...(last ? { lastRun: last } : {}) };
  if (!last) return { stale: true, reason: 'never_scored', settings };
  if (deps.clock.now() - last.as_of > settings.staleAfterHours * 3_600_000)
    return { stale: true, reason: 'too_old', settings, lastRun: last };
  const max = await k
    .selectFrom('orders')
    .select(sql<number | null>`max(id)`.as('m'))
    .executeTakeFirst();
  if (Number(max?.m ?? 0) > last.orders_max_id) return { stale: true, reason: 'new_orders', settings, lastRun: last };
  return { stale: false, reason: 'fresh', settings, lastRun: last };
}

/**
 * Re-scores when the scores are stale, with the settings of the last run (so settings given to
 * `comeback score` stick). Returns the run, or null when the scores were fresh or another run is
 * in progress.
 */
export async function refreshScoresIfStale(deps: ScoringDeps): Promise<ScoreRunResult | null> {
  const st = await scoreStaleness(deps);
  if (!st.stale) return null;
  deps.log?.info({ reason: st.reason }, 'scores are stale: scoring before audience evaluation');
  try {
    return await scoreCustomers(deps, st.settings);
  } catch (err) {
    if (err instanceof ScoringError && /already in progress/.test(err.message)) return null;
    throw err;
  }
}
