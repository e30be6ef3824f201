import type { Logger } from 'pino';
import { DAY, type Clock } from '../clock.js';
import type { Db } from '../db/connect.js';
import { collectSummaries } from './collect.js';
import { parseScoringSettings, type ScoringSettingsInput } from './config.js';
import { ScoringError } from './errors.js';
import { fitModels } from './fit.js';
import { quintileCuts, type RfmCuts } from './rfm.js';
import { fitReturnModel, type ReturnBacktestSummary } from './return-model.js';
import { dayIndex, priorInterval } from './rhythm.js';
import { scoreDb, type CustomerScoresTable } from './schema.js';
import type { SummaryStore } from './store.js';
import { scoreCustomer, type ScoringContext } from './score.js';
import { kyselyWriter, type ScoreWriter } from './write.js';
import { openPostgresDirect } from './pg-direct.js';
import { openSqliteDirect } from './sqlite-direct.js';
import { kyselySource } from './source.js';

/** What scoring needs from the engine: the database, the clock and (optionally) a logger. */
export interface ScoringDeps {
  db: Db;
  clock: Clock;
  log?: Logger;
}

/** Which part of a run a progress report is about. */
export type ScorePhase = 'read' | 'write';

/** Options of one run: scoring settings plus the time to score as of and a progress callback. */
export interface ScoreOptions extends ScoringSettingsInput {
  /** Score as of this time (default: the engine clock). Orders after it are left out. */
  now?: number;
  /** Called after every page read and every batch written. */
  onProgress?: (phase: ScorePhase, done: number, total: number) => void;
}

/** The outcome of a scoring run. */
export interface ScoreRunResult {
  runId: number;
  customers: number;
  orders: number;
  invalidOrders: number;
  invalidSamples: string[];
  priorIntervalDays: number;
  bgNbd: { r: number; alpha: number; a: number; b: number; logLikelihood: number } | null;
  gammaGamma: { p: number; q: number; v: number; logLikelihood: number } | null;
  fitRows: number;
  modelNote: string | null;
  /** Fit checks per model: converged, and parameters at the edge of the parameter space. */
  fitChecks: {
    bg: { converged: boolean; atBoundary: string[] } | null;
    gg: { converged: boolean; atBoundary: string[] } | null;
  };
  /** Where `p_return` comes from: the winner of the shop's own backtest, or why there is none. */
  pReturn: ReturnBacktestSummary | { reason: string };
  counts: {
    withOrders: number;
    earlyWarning: number;
    lapsed: number;
    worthWinningBack: number;
    excluded: Record<string, number>;
  };
  cuts: RfmCuts;
  /** Wall-clock seconds per phase, and `cpu`: CPU seconds of this process during the run (user + system). */
  seconds: { read: number; fit: number; write: number; total: number; cpu: number };
}

/** A run left `running` this long is taken to have crashed and no longer blocks new runs. */
const ABANDON_AFTER_MS = 60 * 60_000;

async function startRun(deps: ScoringDeps, now: number, settings: object): Promise<number> {
  const k = scoreDb(deps.db.kysely);
  const started = deps.clock.now();
  await k
    .updateTable('score_runs')
    .set({ status: 'abandoned', finished_at: started })
    .where('status', '=', 'running')
    .where('started_at', '<', started - ABANDON_AFTER_MS)
    .execute();
  try {
    const row = await k
      .insertInto('score_runs')
      .values({
        status: 'running',
        as_of: now,
        started_at: started,
        finished_at: null,
        customers: 0,
        orders: 0,
        invalid_orders: 0,
        orders_max_id: 0,
        prior_interval_days: null,
        fit_rows: 0,
        bg_r: null,
        bg_alpha: null,
        bg_a: null,
        bg_b: null,
        bg_log_likelihood: null,
        gg_p: null,
        gg_q: null,
        gg_v: null,
        gg_log_likelihood: null,
        fitted_at: null,
        model_note: null,
        settings: JSON.stringify(settings),
        rfm_cuts: '{}',
        seconds: null,
        error: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  } catch (err) {
    const running = await k
      .selectFrom('score_runs')
      .select(['id', 'started_at'])
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (running)
      throw new ScoringError(
        `a scoring run is already in progress (run ${running.id}, started ${new Date(running.started_at).toISOString()})`,
        { cause: err },
      );
    throw err;
  }
}

/** Scores every summary and writes the rows in batches; the next batch is computed while one is written. */
async function writeScores(
  writer: ScoreWriter,
  store: SummaryStore,
  ctx: ScoringContext,
  onProgress: ScoreOptions['onProgress'],
): Promise<ScoreRunResult['counts']> {
  const s = ctx.settings;
  const counts: ScoreRunResult['counts'] = {
    withOrders: 0,
    earlyWarning: 0,
    lapsed: 0,
    worthWinningBack: 0,
    excluded: {},
  };
  let pending: Promise<void> = Promise.resolve();
  try {
    let batch: CustomerScoresTable[] = [];
    for (let i = 0; i < store.length; i++) {
      const { row, exclusions } = scoreCustomer(store.row(i), ctx);
      if (row.orders_count > 0) counts.withOrders++;
      counts.earlyWarning += row.early_warning;
      counts.worthWinningBack += row.worth_winning_back;
      if (
        row.overdue_ratio !== null &&
        (row.overdue_ratio >= s.lostRatio || (row.p_alive !== null && row.p_alive < s.lostPAlive))
      )
        counts.lapsed++;
      for (const e of exclusions) counts.excluded[e] = (counts.excluded[e] ?? 0) + 1;
      batch.push(row);
      if (batch.length >= s.writeBatchSize || i === store.length - 1) {
        const rows = batch;
        const done = i + 1;
        batch = [];
        await pending;
        pending = writer.write(rows).then(() => onProgress?.('write', done, store.length));
      }
    }
    await pending;
  } finally {
    await pending.catch(() => undefined);
    await writer.close();
  }
  return counts;
}

/**
 * Scores every customer: one streaming pass over customers, orders and consents in id pages,
 * the models fitted once on the summaries, then every score computed and upserted in batches.
 * Rows of customers that no longer exist or were erased are removed. One run at a time (the
 * database refuses a second `running` run; it fails with a ScoringError).
 */
export async function scoreCustomers(deps: ScoringDeps, options: ScoreOptions = {}): Promise<ScoreRunResult> {
  const { now: nowOption, onProgress, ...input } = options;
  const settings = parseScoringSettings(input);
  const now = nowOption ?? deps.clock.now();
  if (!Number.isFinite(now) || now < 0) throw new ScoringError(`scoring time must be a timestamp, got ${now}`);
  const k = scoreDb(deps.db.kysely);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const runId = await startRun(deps, now, settings);
  const direct = deps.db.dialect === 'sqlite' ? await openSqliteDirect(deps.db.kysely) : null;
  const pgDirect = deps.db.dialect === 'postgres' && deps.db.pool ? await openPostgresDirect(deps.db.pool) : null;
  try {
    const source = direct?.source ?? pgDirect?.source ?? kyselySource(deps.db.kysely);
    const collected = await collectSummaries(source, now, settings.pageSize, (d, t) => onProgress?.('read', d, t), {
      max: settings.maxBacktestCustomers,
      seed: settings.seed,
    });
    const t1 = performance.now();
    if (collected.invalidOrders > 0)
      deps.log?.warn(
        { invalid: collected.invalidOrders, samples: collected.invalidSamples },
        'scoring: orders left out',
      );
    const store = collected.store;
    const { ordersCount, purchaseDays, ownInterval } = store.cols;
    const has = (i: number) => ordersCount[i]! > 0;
    const prior = priorInterval(
      store.select('ownInterval', (i) => purchaseDays[i]! - 1 >= settings.minOwnIntervals),
      store.select('ownInterval', (i) => purchaseDays[i]! >= 2 && !Number.isNaN(ownInterval[i]!)),
      settings.defaultIntervalDays,
    );
    const recency = store.select('lastOrderAt', has).map((t) => Math.max(0, (now - t) / DAY));
    const cuts: RfmCuts = {
      recency: quintileCuts(recency),
      frequency: quintileCuts(store.select('ordersCount', has)),
      monetary: quintileCuts(store.select('netMinor', has)),
    };
    const models = fitModels(store, settings);
    const returnModel = fitReturnModel(collected.sample, dayIndex(now), settings.returnHorizonDays, models.bg, prior);
    const pReturn = 'reason' in returnModel ? { reason: returnModel.reason } : returnModel.summary;
    // Too little data is a normal state of a young shop (info); a failed fit is worth a warning.
    if (models.note)
      deps.log?.[models.note.startsWith('model not fitted') ? 'info' : 'warn'](
        { note: models.note },
        'scoring: purchase model',
      );
    const t2 = performance.now();

    const modelErrors = { count: 0, first: null as string | null };
    const ctx: ScoringContext = {
      settings,
      now,
      runId,
      priorIntervalDays: prior,
      cuts,
      models,
      cache: new Map(),
      modelErrors,
      ...('reason' in returnModel ? {} : { returnModel }),
    };
    const counts = await writeScores(
      direct?.writer ?? pgDirect?.writer ?? kyselyWriter(k, deps.db.dialect),
      store,
      ctx,
      onProgress,
    );
    if (modelErrors.count > 0) {
      const note = `model values not computable for ${modelErrors.count} customers (rhythm-only score, model fields null); first: ${modelErrors.first}`;
      models.note = models.note ? `${models.note}; ${note}` : note;
      deps.log?.warn(
        { customers: modelErrors.count, first: modelErrors.first },
        'scoring: purchase model failed for some customers',
      );
    }
    await k.deleteFrom('customer_scores').where('run_id', '!=', runId).execute();
    const t3 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const seconds = {
      read: (t1 - t0) / 1000,
      fit: (t2 - t1) / 1000,
      write: (t3 - t2) / 1000,
      total: (t3 - t0) / 1000,
      cpu: (cpu.user + cpu.system) / 1e6,
    };
    const { bg, gg } = models;
    await k
      .updateTable('score_runs')
      .set({
        status: 'done',
        finished_at: deps.clock.now(),
        customers: store.length,
        orders: collected.orders,
        invalid_orders: collected.invalidOrders,
        orders_max_id: collected.ordersMaxId,
        prior_interval_days: prior,
        fit_rows: models.fitRows,
        bg_r: bg?.r ?? null,
        bg_alpha: bg?.alpha ?? null,
        bg_a: bg?.a ?? null,
        bg_b: bg?.b ?? null,
        bg_log_likelihood: bg?.logLikelihood ?? null,
        gg_p: gg?.p ?? null,
        gg_q: gg?.q ?? null,
        gg_v: gg?.v ?? null,
        gg_log_likelihood: gg?.logLikelihood ?? null,
        fitted_at: bg || gg ? deps.clock.now() : null,
        model_note: models.note,
        rfm_cuts: JSON.stringify(cuts),
        seconds: seconds.total,
        return_method: 'reason' in pReturn ? null : pReturn.method,
        return_backtest: JSON.stringify(pReturn),
      })
      .where('id', '=', runId)
      .execute();
    return {
      runId,
      customers: store.length,
      orders: collected.orders,
      invalidOrders: collected.invalidOrders,
      invalidSamples: collected.invalidSamples,
      priorIntervalDays: prior,
      bgNbd: bg,
      gammaGamma: gg,
      fitRows: models.fitRows,
      modelNote: models.note,
      fitChecks: models.checks ?? { bg: null, gg: null },
      pReturn,
      counts,
      cuts,
      seconds,
    };
  } catch (err) {
    await k
      .updateTable('score_runs')
      .set({ status: 'failed', finished_at: deps.clock.now(), error: (err as Error).message })
      .where('id', '=', runId)
      .execute();
    throw err;
  } finally {
    direct?.close();
    await pgDirect?.close();
  }
}
