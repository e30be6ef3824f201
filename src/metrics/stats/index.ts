/**
 * Statistics for measuring win-back success: uplift over the holdout (conversion and revenue),
 * Thompson-sampling allocation over variants, and the deliverability guard. Pure functions, no
 * database: callers pass counts and sums.
 */
export * from './uplift.js';
export * from './bandit.js';
export * from './guard.js';
export * from './simulation.js';
export * from './power.js';
export * from './stratified.js';
export { mulberry32, sampleBeta, sampleGamma, sampleNormal, type Rng } from './random.js';
export {
  betaCdf,
  betaQuantile,
  chiSquareQuantile,
  gammaCdf,
  logGamma,
  normalPdf,
  studentTCdf,
  studentTQuantile,
} from './distributions.js';
