/**
 * `comeback audit`: why each mail to an address was allowed (the legal basis and ledger entry
 * stored with it, and whether that entry was in force when it went out), and what the consent
 * policy says now for every current sequence.
 */
import { foldPreferences, type Preferences } from '../consent/preferences.js';
import { deriveConsentState } from '../consent/ledger.js';
import { canSend } from '../consent/policy.js';
import { suppressedHashes, suppressionsOf, type SuppressionRecord } from '../consent/suppressions.js';
import type { ConsentState } from '../consent/types.js';
import { hashEmail, normalizeEmail } from '../util/email.js';
import type { EngineContext } from './context.js';
import { customersByEmail } from './privacy.js';

/** Why one message was (or was not) allowed, for `comeback audit`. */
export interface MessageAudit {
  messageId: number;
  sequenceId: string;
  stepId: string;
  variantId: string | null;
  status: string;
  reservedAt: number;
  sentAt: number | null;
  legalBasis: string | null;
  consentId: number | null;
  /** The ledger entry the message was sent under. */
  consent: {
    action: string;
    basis: string | null;
    source: string;
    textVersion: string | null;
    recordedAt: number;
    evidence: Record<string, unknown>;
  } | null;
  /** Recomputed from the ledger as it stood at sending: was that entry in force then? */
  inForceAtSend: boolean | null;
  error: string | null;
}

/** The audit of one customer record. */
export interface CustomerAudit {
  customerId: number;
  externalId: string;
  acquiredVia: string;
  state: ConsentState;
  /** The preference-centre choices in force (snooze, frequency, topics, language); never an objection. */
  preferences: Preferences;
  /** Whether each current sequence may mail the customer now, and why not. */
  now: { sequenceId: string; allowed: boolean; basis?: string; reason?: string; detail?: string }[];
  messages: MessageAudit[];
}

/** The audit of an address. */
export interface PersonAudit {
  email: string;
  emailHash: string;
  suppressions: SuppressionRecord[];
  customers: CustomerAudit[];
}

/**
 * Shows why each mail to an address was allowed: the legal basis and ledger entry stored with the
 * message, that entry's evidence, and whether it was in force when the mail went out (the ledger
 * replayed up to that moment); plus what the policy says now for every current sequence.
 */
export async function auditPerson(ctx: EngineContext, email: string): Promise<PersonAudit> {
  const emailHash = hashEmail(email);
  const out: PersonAudit = {
    email: normalizeEmail(email),
    emailHash,
    suppressions: await suppressionsOf(ctx.k, emailHash),
    customers: [],
  };
  for (const c of await customersByEmail(ctx, emailHash)) {
    const ledger = await ctx.k
      .selectFrom('consents')
      .selectAll()
      .where('customer_id', '=', c.id)
      .orderBy('id')
      .execute();
    const state = deriveConsentState(ledger);
    const audit: CustomerAudit = {
      customerId: c.id,
      externalId: c.external_id,
      acquiredVia: c.acquired_via,
      state,
      preferences: foldPreferences(ledger),
      now: [],
      messages: [],
    };
    for (const id of ctx.sequences.ids()) {
      const seq = ctx.sequences.get(id);
      const suppressed = (await suppressedHashes(ctx.k, [emailHash], id)).size > 0;
      const d = canSend(c, state, suppressed, { consent: seq.consent, ownSimilarGoods: seq.own_similar_goods });
      if (d.allowed && seq.topic && audit.preferences.topicsOut.includes(seq.topic)) {
        audit.now.push({
          sequenceId: id,
          allowed: false,
          reason: 'topic_opt_out',
          detail: `the customer left the topic ${seq.topic}`,
        });
        continue;
      }
      audit.now.push(
        d.allowed
          ? { sequenceId: id, allowed: true, basis: d.basis }
          : { sequenceId: id, allowed: false, reason: d.reason, ...(d.detail ? { detail: d.detail } : {}) },
      );
    }
    for (const m of await ctx.k
      .selectFrom('messages')
      .selectAll()
      .where('customer_id', '=', c.id)
      .orderBy('id')
      .execute()) {
      const entry = ledger.find((l) => l.id === m.consent_id);
      const at = m.sent_at ?? m.claimed_at;
      const then = at === null ? null : deriveConsentState(ledger.filter((l) => l.recorded_at <= at));
      audit.messages.push({
        messageId: m.id,
        sequenceId: m.sequence_id,
        stepId: m.step_id,
        variantId: m.variant_id,
        status: m.status,
        reservedAt: m.reserved_at,
        sentAt: m.sent_at,
        legalBasis: m.legal_basis,
        consentId: m.consent_id,
        consent: entry
          ? {
              action: entry.action,
              basis: entry.basis,
              source: entry.source,
              textVersion: entry.text_version,
              recordedAt: entry.recorded_at,
              evidence: JSON.parse(entry.evidence) as Record<string, unknown>,
            }
          : null,
        inForceAtSend:
          then === null || m.status !== 'sent' ? null : then.active.some((a) => a.consentId === m.consent_id),
        error: m.error,
      });
    }
    out.customers.push(audit);
  }
  return out;
}
