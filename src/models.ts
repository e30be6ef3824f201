/**
 * `comeback/models`: the purchase models on their own: BG/NBD (is the customer still "alive",
 * how many purchases to expect), Gamma-Gamma (spend per purchase), customer lifetime value, and
 * the scoring run that stores them per customer (docs/SCORING.md).
 * @packageDocumentation
 */
export {
  fitBgNbd,
  bgNbdPAlive,
  bgNbdExpectedPurchases,
  bgNbdExpectedPurchasesNew,
  fitGammaGamma,
  gammaGammaExpectedSpend,
  customerLifetimeValue,
  scoreCustomers,
  refreshScoresIfStale,
  scoreStaleness,
  scoreDb,
  customerReport,
  CUSTOMER_SCORE_FIELDS,
  DEFAULT_SCORING_SETTINGS,
  parseScoringSettings,
  ScoringError,
  type BgNbdParams,
  type BgNbdFit,
  type GammaGammaParams,
  type GammaGammaFit,
  type CustomerHistory,
  type SpendHistory,
  type ClvCustomer,
  type ClvOptions,
  type ScoreOptions,
  type ScoreRunResult,
  type ScoringSettingsInput,
  type CustomerScore,
  type ScoreRun,
  type CustomerReport,
} from './dormancy/index.js';
