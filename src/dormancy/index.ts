/**
 * Dormancy: who is gone, who is pausing, who is worth winning back. Purchase rhythm per
 * customer, RFM, BG/NBD and Gamma-Gamma, exclusion signals, and the scoring run that stores
 * them in `customer_scores` (docs/SCORING.md).
 */
export { CUSTOMER_SCORE_FIELDS, type CustomerScoreField } from './fields.js';
export {
  ScoringSettings,
  DEFAULT_SCORING_SETTINGS,
  parseScoringSettings,
  type ScoringSettingsInput,
} from './config.js';
export { scoreCustomers, type ScoreOptions, type ScoreRunResult, type ScorePhase, type ScoringDeps } from './run.js';
export { refreshScoresIfStale, scoreStaleness, latestRun, type Staleness } from './stale.js';
export {
  scoreDb,
  type CustomerScore,
  type ScoreRun,
  type ScoreTables,
  type ScoreDatabase,
  type CustomerScoresTable,
  type ScoreRunsTable,
} from './schema.js';
export { customerReport, type CustomerReport } from './inspect.js';
export { ScoringError } from './errors.js';
export {
  backtest,
  evaluateOrigin,
  featuresAt,
  SIGNALS,
  type BacktestResult,
  type BacktestOptions,
  type DayHistory,
  type OriginResult,
  type SignalName,
  type SignalResult,
} from './backtest.js';
export { backtestShop, type BacktestShopOptions, type ShopBacktest } from './backtest-run.js';
export { auc, calibrationDeciles, type Decile } from './calibrate.js';
export { RECALIBRATIONS, type RecalibrationName } from './recalibrate.js';
export { chooseRecalibration, type RecalibrationChoice, type RecalibrationCandidate } from './backtest-choice.js';
export {
  pooledCalibration,
  type PooledCalibration,
  type PooledDecile,
  type CutoffPredictions,
} from './pooled-calibration.js';
export { fitRegularity, regularityPredict, type RegularityParams } from './regularity.js';
export type { ReturnBacktestSummary } from './return-model.js';
export {
  summarizeHistory,
  rhythmOf,
  priorInterval,
  overdueRatio,
  isEarlyWarning,
  median,
  type HistorySummary,
  type OrderFacts,
  type Rhythm,
} from './rhythm.js';
export { quintileCuts, scoreHigh, scoreLow, type RfmCuts } from './rfm.js';
export {
  exclusionReasons,
  recoveryCostMinor,
  isWorthWinningBack,
  type ExclusionReason,
  type ExclusionSignals,
} from './value.js';
export {
  fitBgNbd,
  bgNbdPAlive,
  bgNbdExpectedPurchases,
  bgNbdExpectedPurchasesNew,
  fitGammaGamma,
  gammaGammaExpectedSpend,
  customerLifetimeValue,
  type BgNbdParams,
  type BgNbdFit,
  type GammaGammaParams,
  type GammaGammaFit,
  type CustomerHistory,
  type SpendHistory,
  type ClvCustomer,
  type ClvOptions,
} from './model/index.js';
