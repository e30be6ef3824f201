/**
 * Comeback: an email win-back engine. The public library API: `createEngine`, its types and the
 * errors. More entries: `comeback/server` (tracking server), `comeback/dashboard`,
 * `comeback/models` (BG/NBD, Gamma-Gamma, scoring), `comeback/testing` (ManualClock, MemoryTransport).
 * @packageDocumentation
 */
export { createEngine, type EngineOptions } from './app.js';
export type { Engine } from './engine/engine.js';
export type {
  ConsentInput,
  CustomerRecord,
  EngineConsents,
  EngineCustomers,
  EngineEvents,
  EngineOrders,
  EnginePrivacy,
  EngineProducts,
  TriggerResult,
} from './engine/api.js';
export type { EnrollResult } from './engine/enroll.js';
export type { PassResult } from './engine/pass.js';
export type { SendPipeline, SendStats, SendOutcome } from './engine/pipeline.js';
export type { SequenceStats } from './engine/stats.js';
export type * from './metrics/types.js';
export type { WorkerHandle } from './engine/worker-loop.js';
export type { Attribution } from './engine/attribution.js';
export type { RecordedOrders } from './engine/orders.js';
export type { EventInput } from './engine/events.js';
export type { InboundOutcome } from './engine/inbound.js';
export { systemClock, type Clock, DAY, HOUR, MINUTE } from './clock.js';
export { EngineConfig, parseConfig, type EngineConfigInput } from './config/index.js';
export { liveSendingProblems } from './config/live-sending.js';
export * from './errors.js';
export { CustomerInput, OrderInput, ProductInput, CHURN_REASONS, type ChurnReason } from './shop/types.js';
export type { ImportResult, RejectedRow, ImportKind } from './shop/import/run.js';
export { Sequence, parseSequence, loadSequences, decide, parseDuration } from './sequences/index.js';
export { validatePaths, type ValidateOptions, type ValidateResult } from './sequences/validate.js';
export { sequenceJsonSchema } from './sequences/json-schema.js';
export {
  checkExpression,
  evaluate,
  CUSTOMER_FIELDS,
  ENGAGEMENT_FACTS,
  type CustomerValues,
} from './sequences/index.js';
export {
  simulate,
  DEFAULT_ASSUMPTIONS,
  NO_ENGAGEMENT,
  type SimulationOptions,
  type SimulationResult,
  type Assumptions,
} from './simulate/index.js';
export { explainAudience, type AudienceExplanation } from './engine/audience-explain.js';
export {
  canSend,
  CONSENT_BASES,
  OptInRequest,
  type ConsentBasis,
  type ConsentState,
  type SendDecision,
  type ConsentRecord,
  type OptInRequestResult,
  type ConfirmResult,
  type SuppressionRecord,
  type EnforceResult,
} from './consent/index.js';
export type { PersonExport, ForgetResult } from './engine/privacy.js';
export type { PersonAudit, CustomerAudit, MessageAudit } from './engine/person-audit.js';
export { OutboxTransport, type Transport, type OutgoingMail, type SendReceipt } from './delivery/index.js';
export type { JobBackend, JobHandler } from './queue/index.js';
export { classifyOpen, classifyClick, MACHINE_REASONS, type RequestShape, type Verdict } from './tracking/classify.js';
export {
  ScoringError,
  type ScoreOptions,
  type ScoreRunResult,
  type BacktestShopOptions,
  type ShopBacktest,
  type CustomerScore,
} from './dormancy/index.js';
export {
  WEBHOOK_EVENT_TYPES,
  verifySignature,
  signedHeaders,
  type WebhookEventType,
  type EndpointStatus,
  type DeadLetter,
} from './webhooks/index.js';
