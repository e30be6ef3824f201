import { enforceConsent } from '../consent/enforce.js';
import { appendConsents } from '../consent/ledger.js';
import { suppress } from '../consent/suppressions.js';
import { CHURN_REASONS } from '../shop/types.js';
import { emitEvent, withOutbox, type WebhookEventInput } from '../webhooks/emit.js';
import type { EngineContext } from './context.js';

/** An engagement or delivery event about a message. */
export interface EventInput {
  messageId: number;
  /** `soft_bounce`: a refusal that says nothing against the address (a full mailbox, a policy block); recorded, no consequence. */
  type: 'delivered' | 'open' | 'click' | 'unsubscribe' | 'complaint' | 'bounce' | 'soft_bounce' | 'reason';
  source: string;
  linkIndex?: number;
  /** True for prefetch opens (Apple MPP, proxies) and scanner clicks; kept out of human metrics. */
  machine?: boolean;
  machineReason?: string;
  userAgent?: string;
  providerEventId?: string;
  detail?: Record<string, unknown>;
  at?: number;
}

/** Webhook types of the events that have one (opens and clicks only when a human's). */
const HOOKS: Partial<Record<EventInput['type'], WebhookEventInput['type']>> = {
  open: 'message.opened',
  click: 'message.clicked',
  unsubscribe: 'customer.unsubscribed',
  bounce: 'message.bounced',
  complaint: 'message.complained',
};

/** The webhook event an event reports, or undefined (docs/WEBHOOKS.md). */
function webhookEvent(
  e: EventInput,
  id: number,
  m: { id: number; customer_id: number; enrollment_id: number | null },
  at: number,
): WebhookEventInput | undefined {
  const type = HOOKS[e.type];
  if (!type || (e.machine && (e.type === 'open' || e.type === 'click'))) return undefined;
  const data: Record<string, unknown> = { source: e.source };
  if (e.type === 'click') data.link_index = e.linkIndex ?? null;
  if (e.type === 'unsubscribe') data.scope = typeof e.detail?.scope === 'string' ? e.detail.scope : 'all';
  return {
    type,
    customerId: m.customer_id,
    enrollmentId: m.enrollment_id,
    messageId: m.id,
    refId: id,
    data,
    occurredAt: at,
  };
}

/**
 * Stores an event against its message and applies its consequences: an unsubscribe withdraws
 * consent and suppresses (all marketing, or one sequence with `detail.scope`), a complaint or hard
 * bounce suppresses, a survey answer records the churn reason. Returns false for an unknown
 * message, a message to an erased person or a duplicate provider event (nothing stored).
 */
export async function recordEvent(ctx: EngineContext, e: EventInput): Promise<boolean> {
  const now = e.at ?? ctx.clock.now();
  const message = await ctx.k
    .selectFrom('messages')
    .innerJoin('customers', 'customers.id', 'messages.customer_id')
    .select([
      'messages.id',
      'messages.customer_id',
      'messages.enrollment_id',
      'messages.sequence_id',
      'customers.email_hash',
      'customers.erased_at',
    ])
    .where('messages.id', '=', e.messageId)
    .executeTakeFirst();
  // An erased person's old links record nothing; the hashed suppression already stops all mail.
  if (!message || message.erased_at !== null) return false;
  const inserted = await withOutbox(ctx.k, ctx.config, async (trx) => {
    const row = await trx
      .insertInto('events')
      .values({
        message_id: message.id,
        customer_id: message.customer_id,
        enrollment_id: message.enrollment_id,
        type: e.type,
        link_index: e.linkIndex ?? null,
        machine: e.machine ? 1 : 0,
        machine_reason: e.machineReason ?? null,
        source: e.source,
        provider_event_id: e.providerEventId ?? null,
        user_agent: e.userAgent ?? null,
        detail: JSON.stringify(e.detail ?? {}),
        occurred_at: now,
      })
      .onConflict((oc) => oc.column('provider_event_id').where('provider_event_id', 'is not', null).doNothing())
      .returning('id')
      .executeTakeFirst();
    const hook = row && webhookEvent(e, row.id, message, now);
    if (hook) await emitEvent(trx, ctx.config, hook);
    return row;
  });
  if (!inserted) return false;
  if (e.machine) return true;
  if (e.type === 'unsubscribe') {
    const scope = typeof e.detail?.scope === 'string' ? e.detail.scope : 'all';
    if (scope === 'all') {
      const proof =
        typeof e.detail?.evidence === 'object' && e.detail.evidence !== null
          ? (e.detail.evidence as Record<string, unknown>)
          : {};
      await appendConsents(ctx.k, [
        {
          customerId: message.customer_id,
          action: 'withdraw',
          basis: null,
          source: 'unsubscribe',
          recordedAt: now,
          evidence: { ...proof, messageId: message.id, via: e.source },
        },
      ]);
    }
    if (message.email_hash) await suppress(ctx.k, message.email_hash, 'unsubscribe', now, scope);
  } else if (e.type === 'complaint' || e.type === 'bounce') {
    // A spam complaint is an objection to all marketing; a hard bounce only makes the address unusable.
    if (e.type === 'complaint') {
      await appendConsents(ctx.k, [
        {
          customerId: message.customer_id,
          action: 'withdraw',
          basis: null,
          source: 'complaint',
          recordedAt: now,
          evidence: { messageId: message.id, via: e.source },
        },
      ]);
    }
    if (message.email_hash)
      await suppress(ctx.k, message.email_hash, e.type === 'complaint' ? 'complaint' : 'hard_bounce', now);
  } else if (e.type === 'reason' && e.linkIndex !== undefined && CHURN_REASONS[e.linkIndex]) {
    await ctx.k
      .updateTable('customers')
      .set({ churn_reason: CHURN_REASONS[e.linkIndex], churn_reason_source: 'survey', updated_at: now })
      .where('id', '=', message.customer_id)
      .execute();
  }
  if (e.type === 'unsubscribe' || e.type === 'complaint' || e.type === 'bounce') {
    // Consent: the opt-out takes effect now, not at the next send: reserved messages are cancelled.
    await enforceConsent(ctx.k, message.customer_id, ctx.sequences, now);
  }
  return true;
}
