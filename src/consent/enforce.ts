import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { consentStates } from './ledger.js';
import { canSend } from './policy.js';
import { suppressedHashes } from './suppressions.js';
import type { ConsentBasis } from './types.js';

/** The parts of a sequence the consent policy looks at. */
export interface SequenceConsentFields {
  consent: readonly ConsentBasis[];
  own_similar_goods?: boolean;
}

/** Where the consent settings of a sequence version come from: the engine's sequence registry fits. */
export interface PolicyLookup {
  version(sequenceId: string, version: number): Promise<SequenceConsentFields>;
}

/** What enforcing a withdrawal did. */
export interface EnforceResult {
  /** Enrolments ended because the policy no longer allows mail. */
  exited: number;
  /** Reserved or claimed (not yet handed to the transport) messages cancelled. */
  cancelled: number;
}

/**
 * Applies a change of consent or suppression at once: every active, mailed enrolment of the
 * customer is checked against the policy again, and where mail is no longer allowed its messages
 * not yet handed to the transport (`reserved`, or `claimed` by a worker that is still rendering)
 * are cancelled and the enrolment ends (`exit_reason` = the policy's reason); where mail is still
 * allowed, the enrolment and its pending messages are re-bound to the basis that now allows it. Holdout
 * enrolments send nothing and are left alone. The sender checks the policy again before each send,
 * so a message that a concurrent scheduler reserves a moment later is still stopped.
 */
export async function enforceConsent(
  db: Kysely<Database>,
  customerId: number,
  policyOf: PolicyLookup,
  now: number,
): Promise<EnforceResult> {
  const result: EnforceResult = { exited: 0, cancelled: 0 };
  const enrollments = await db
    .selectFrom('enrollments')
    .select(['id', 'sequence_id', 'sequence_version'])
    .where('customer_id', '=', customerId)
    .where('status', '=', 'active')
    .where('holdout', '=', 0)
    .execute();
  // Reserved messages of enrolments that already ended (e.g. completed after their last step).
  const reservedElsewhere = await db
    .selectFrom('messages')
    .select(['enrollment_id', 'sequence_id'])
    .distinct()
    .where('customer_id', '=', customerId)
    .where('status', 'in', ['reserved', 'claimed'])
    .where('enrollment_id', 'not in', enrollments.length ? enrollments.map((e) => e.id) : [-1])
    .execute();
  if (enrollments.length === 0 && reservedElsewhere.length === 0) return result;
  const customer = await db.selectFrom('customers').selectAll().where('id', '=', customerId).executeTakeFirst();
  if (!customer) return result;
  const state = (await consentStates(db, [customerId])).get(customerId)!;
  const versions = new Map<number, { sequence_id: string; version: number; active: boolean }>();
  for (const e of enrollments)
    versions.set(e.id, { sequence_id: e.sequence_id, version: e.sequence_version, active: true });
  if (reservedElsewhere.length) {
    const rows = await db
      .selectFrom('enrollments')
      .select(['id', 'sequence_id', 'sequence_version'])
      .where(
        'id',
        'in',
        reservedElsewhere.map((r) => r.enrollment_id),
      )
      .execute();
    for (const e of rows)
      versions.set(e.id, { sequence_id: e.sequence_id, version: e.sequence_version, active: false });
  }
  for (const [enrollmentId, v] of versions) {
    const suppressed = customer.email_hash
      ? (await suppressedHashes(db, [customer.email_hash], v.sequence_id)).size > 0
      : false;
    const seq = await policyOf.version(v.sequence_id, v.version);
    const decision = canSend(customer, state, suppressed, {
      consent: seq.consent,
      ownSimilarGoods: seq.own_similar_goods,
    });
    if (decision.allowed) {
      // Still allowed, perhaps under another basis (one of several was withdrawn): what is sent
      // from now on records the basis that actually allows it.
      await db
        .updateTable('enrollments')
        .set({ legal_basis: decision.basis, consent_id: decision.consentId })
        .where('id', '=', enrollmentId)
        .execute();
      await db
        .updateTable('messages')
        .set({ legal_basis: decision.basis, consent_id: decision.consentId })
        .where('enrollment_id', '=', enrollmentId)
        .where('status', 'in', ['reserved', 'claimed'])
        .execute();
      continue;
    }
    const cancelled = await db
      .updateTable('messages')
      .set({ status: 'cancelled', error: `consent: ${decision.reason}`, updated_at: now })
      .where('enrollment_id', '=', enrollmentId)
      // `claimed`: a worker is rendering it; cancelling makes its commit (claimed → sending) fail.
      .where('status', 'in', ['reserved', 'claimed'])
      .executeTakeFirst();
    result.cancelled += Number(cancelled.numUpdatedRows);
    if (v.active) {
      const exited = await db
        .updateTable('enrollments')
        .set({ status: 'exited', ended_at: now, next_due_at: null, exit_reason: decision.reason })
        .where('id', '=', enrollmentId)
        .where('status', '=', 'active')
        .executeTakeFirst();
      result.exited += Number(exited.numUpdatedRows);
    }
  }
  return result;
}
