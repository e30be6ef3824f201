/** Legal bases for marketing mail. */
export const CONSENT_BASES = ['double_opt_in', 'opt_in', 'existing_customer'] as const;
export type ConsentBasis = (typeof CONSENT_BASES)[number];

/**
 * Where a consent entry came from. Grants come from `checkout`, `newsletter_form`, `import` or
 * `api`; withdrawals also from `unsubscribe`, `complaint`, `objection` (a customer's written or
 * spoken objection recorded by the shop) and `erasure`.
 */
export type ConsentSource =
  'checkout' | 'newsletter_form' | 'import' | 'api' | 'unsubscribe' | 'complaint' | 'objection' | 'erasure';

/** One entry for the append-only ledger. Withdrawals without a basis withdraw every basis (an objection). */
export interface ConsentEntry {
  customerId: number;
  /** `preference`: a preference-centre choice (snooze, frequency, topic, language), never an objection. */
  action: 'grant' | 'withdraw' | 'preference';
  basis?: ConsentBasis | null;
  source: ConsentSource | string;
  /** Version of the wording the person saw (consent text, or the objection notice at collection). */
  textVersion?: string | null;
  /** Proof: time, IP, user agent, confirmation token, order id... */
  evidence?: Record<string, unknown>;
  recordedAt: number;
  channel?: string;
}

/** A basis currently in force, with the ledger entry that granted it. */
export interface ActiveBasis {
  basis: ConsentBasis;
  consentId: number;
  grantedAt: number;
}

/** The current consent state of one customer, derived from the ledger. */
export interface ConsentState {
  active: ActiveBasis[];
  /** The customer objected to or withdrew from all marketing. */
  objected: boolean;
  /** When the last objection was recorded (kept after a later explicit opt-in, for the audit). */
  objectedAt?: number;
}

/** Why a send is not allowed. */
export type DenyReason =
  | 'no_consent'
  | 'objected'
  | 'suppressed'
  | 'no_email'
  | 'erased'
  | 'basis_not_accepted'
  | 'existing_customer_conditions';

/** The policy's answer. */
export type SendDecision =
  { allowed: true; basis: ConsentBasis; consentId: number } | { allowed: false; reason: DenyReason; detail?: string };

/** Suppression reasons written by Comeback. */
export type SuppressionReason = 'unsubscribe' | 'complaint' | 'hard_bounce' | 'objection' | 'erasure';

/**
 * Suppressions a later confirmed double opt-in lifts: the person asked for mail again, with proof.
 * Complaints and hard bounces are never lifted automatically.
 */
export const LIFTED_BY_CONFIRMED_OPT_IN: readonly SuppressionReason[] = ['unsubscribe', 'objection', 'erasure'];
