export * from './types.js';
export {
  appendConsents,
  consentStates,
  deriveConsentState,
  consentHistory,
  toConsentRecord,
  type ConsentRecord,
} from './ledger.js';
export {
  suppress,
  suppressedHashes,
  suppressionsOf,
  liftSuppressions,
  type SuppressionRecord,
} from './suppressions.js';
export { canSend, type SequencePolicy } from './policy.js';
export { enforceConsent, type EnforceResult, type PolicyLookup, type SequenceConsentFields } from './enforce.js';
export {
  requestOptIn,
  confirmOptIn,
  expireOptInRequests,
  requestForToken,
  confirmUrl,
  OptInRequest,
  DEFAULT_OPT_IN_TTL_MS,
  MAX_REQUESTS_PER_DAY,
  type OptInRequestResult,
  type ConfirmResult,
  type OptInDeps,
} from './optin.js';
export { confirmationMail, type ConfirmationMailInput } from './confirmation.js';
