import type { Customer } from '../db/schema.js';
import type { ConsentBasis, ConsentState, SendDecision } from './types.js';

/** What the policy needs to know about a sequence. */
export interface SequencePolicy {
  /** Bases the sequence accepts, in the order written. */
  consent: readonly ConsentBasis[];
  /** The sequence advertises the shop's own similar goods (required for `existing_customer`). */
  ownSimilarGoods?: boolean;
}

/** Preference when several bases are in force: the strongest proof first. */
const STRENGTH: ConsentBasis[] = ['double_opt_in', 'opt_in', 'existing_customer'];

/**
 * The one place that decides whether a marketing mail may go to a customer. Used at enrolment
 * and again immediately before each send.
 */
export function canSend(
  customer: Pick<Customer, 'email' | 'erased_at' | 'acquired_via'>,
  state: ConsentState,
  suppressed: boolean,
  sequence: SequencePolicy,
): SendDecision {
  if (customer.erased_at !== null) return { allowed: false, reason: 'erased' };
  if (!customer.email) return { allowed: false, reason: 'no_email' };
  if (suppressed) return { allowed: false, reason: 'suppressed' };
  if (state.objected) return { allowed: false, reason: 'objected' };
  if (state.active.length === 0) return { allowed: false, reason: 'no_consent' };
  let existingCustomerProblem: string | undefined;
  for (const basis of STRENGTH) {
    if (!sequence.consent.includes(basis)) continue;
    const active = state.active.find((a) => a.basis === basis);
    if (!active) continue;
    if (basis === 'existing_customer') {
      // §7(3) UWG: address from a sale, own similar goods; objection and footer notice are checked elsewhere.
      if (customer.acquired_via !== 'sale') {
        existingCustomerProblem = 'the address was not obtained in a sale';
        continue;
      }
      if (!sequence.ownSimilarGoods) {
        existingCustomerProblem = 'the sequence does not declare own_similar_goods';
        continue;
      }
    }
    return { allowed: true, basis, consentId: active.consentId };
  }
  if (existingCustomerProblem)
    return { allowed: false, reason: 'existing_customer_conditions', detail: existingCustomerProblem };
  return { allowed: false, reason: 'basis_not_accepted', detail: `has ${state.active.map((a) => a.basis).join(', ')}` };
}
