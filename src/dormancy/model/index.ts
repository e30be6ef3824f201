/**
 * Purchase-model math for dormancy scoring: BG/NBD (will they buy again, and how often),
 * Gamma-Gamma (how much), and their combination into customer lifetime value. Pure functions,
 * no I/O; time is in whatever unit the input data uses.
 */

export {
  bgNbdExpectedPurchases,
  bgNbdExpectedPurchasesIfAlive,
  bgNbdExpectedPurchasesNew,
  bgNbdLogLikelihood,
  bgNbdPAlive,
  fitBgNbd,
  type BgNbdFit,
  type BgNbdFitOptions,
  type BgNbdParams,
} from './bgnbd.js';
export {
  fitGammaGamma,
  gammaGammaExpectedSpend,
  gammaGammaLogLikelihood,
  type GammaGammaFit,
  type GammaGammaParams,
  type SpendHistory,
} from './gammagamma.js';
export { customerLifetimeValue, type ClvCustomer, type ClvOptions } from './clv.js';
export type { CustomerHistory } from './validate.js';
export { betaln, digamma, gammaln, hyp2f1, logSumExp } from './special.js';
export { bfgs, nelderMead, type MinimizeResult } from './optimize.js';
