import { consentHistory, deriveConsentState } from '../consent/ledger.js';
import type { ConsentRecord } from '../consent/ledger.js';
import type { ConsentState } from '../consent/types.js';
import type { Customer, Enrollment } from '../db/schema.js';
import { NotFoundError } from '../errors.js';
import { findCustomer } from '../shop/customers.js';
import { parseScoringSettings } from './config.js';
import type { ScoringDeps } from './run.js';
import { scoreDb, type CustomerScore, type ScoreRun } from './schema.js';
import { exclusionReasons, type ExclusionReason } from './value.js';

/** Where a customer stands in their rhythm. */
export type RhythmStatus = 'no_orders' | 'active' | 'due' | 'drifting' | 'lost';

/** Everything `comeback customer ID` shows about one customer. */
export interface CustomerReport {
  customer: Customer;
  score: CustomerScore | null;
  status: RhythmStatus | null;
  exclusions: ExclusionReason[];
  /** The run that wrote the score, with its model parameters. */
  run: ScoreRun | null;
  consent: ConsentState;
  consentHistory: ConsentRecord[];
  /** Suppressions of the customer's address (a hard bounce, a complaint, an unsubscribe): never mailed while they stand. */
  suppressions: { scope: string; reason: string; created_at: number }[];
  enrollments: Enrollment[];
  messages: {
    id: number;
    sequence_id: string;
    step_id: string;
    variant_id: string | null;
    status: string;
    subject: string | null;
    legal_basis: string | null;
    due_at: number;
    sent_at: number | null;
  }[];
  orders: {
    count: number;
    lastOrders: {
      external_id: string;
      ordered_at: number;
      total_minor: number;
      discount_minor: number;
      returned_minor: number;
      status: string;
      currency: string;
    }[];
  };
}

/**
 * Rhythm status from a score: `lost` at or beyond `lostRatio` or with P(alive) below
 * `lostPAlive`; `drifting` with the early-warning flag; `due` from ratio 1; else `active`.
 */
export function rhythmStatus(score: CustomerScore, settings: { lostRatio: number; lostPAlive: number }): RhythmStatus {
  if (score.orders_count === 0 || score.overdue_ratio === null) return 'no_orders';
  if (score.overdue_ratio >= settings.lostRatio || (score.p_alive !== null && score.p_alive < settings.lostPAlive))
    return 'lost';
  if (score.early_warning === 1) return 'drifting';
  return score.overdue_ratio >= 1 ? 'due' : 'active';
}

/** Gathers a customer's scores, consent, enrolments, messages and recent orders. */
export async function customerReport(deps: Pick<ScoringDeps, 'db'>, ref: number | string): Promise<CustomerReport> {
  const k = scoreDb(deps.db.kysely);
  const customer = await findCustomer(deps.db.kysely, ref);
  if (!customer) throw new NotFoundError('customer', String(ref), "Give the internal id or the shop's external id.");
  const score =
    (await k.selectFrom('customer_scores').selectAll().where('customer_id', '=', customer.id).executeTakeFirst()) ??
    null;
  const run = score
    ? ((await k.selectFrom('score_runs').selectAll().where('id', '=', score.run_id).executeTakeFirst()) ?? null)
    : null;
  const settings = parseScoringSettings(run ? JSON.parse(run.settings) : {});
  const history = await consentHistory(deps.db.kysely, customer.id);
  const consent = deriveConsentState(
    history.map((h) => ({ id: h.id, action: h.action, basis: h.basis, recorded_at: h.recordedAt, channel: h.channel })),
  );
  const suppressions = customer.email_hash
    ? await deps.db.kysely
        .selectFrom('suppressions')
        .select(['scope', 'reason', 'created_at'])
        .where('email_hash', '=', customer.email_hash)
        .orderBy('created_at')
        .execute()
    : [];
  const enrollments = await k
    .selectFrom('enrollments')
    .selectAll()
    .where('customer_id', '=', customer.id)
    .orderBy('id', 'desc')
    .limit(20)
    .execute();
  const messages = await k
    .selectFrom('messages')
    .select(['id', 'sequence_id', 'step_id', 'variant_id', 'status', 'subject', 'legal_basis', 'due_at', 'sent_at'])
    .where('customer_id', '=', customer.id)
    .orderBy('id', 'desc')
    .limit(20)
    .execute();
  const lastOrders = await k
    .selectFrom('orders')
    .select(['external_id', 'ordered_at', 'total_minor', 'discount_minor', 'returned_minor', 'status', 'currency'])
    .where('customer_id', '=', customer.id)
    .orderBy('ordered_at', 'desc')
    .limit(5)
    .execute();
  const count = await k
    .selectFrom('orders')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('customer_id', '=', customer.id)
    .executeTakeFirst();
  const exclusions = score
    ? exclusionReasons(
        {
          ordersCount: score.orders_count,
          discountShare: score.discount_share,
          returnRate: score.return_rate,
          latePayments: score.late_payments,
          objected: score.objected === 1,
        },
        settings,
      )
    : [];
  return {
    customer,
    score,
    status: score ? rhythmStatus(score, settings) : null,
    exclusions,
    run,
    consent,
    consentHistory: history,
    suppressions,
    enrollments,
    messages,
    orders: { count: Number(count?.n ?? 0), lastOrders },
  };
}
