/**
 * Mails whose delivery is unknown (a worker died between handing a mail over and recording the
 * reply). They are never resent on their own: an operator looks each up in the provider's log and
 * says what happened, and only then does the ledger change.
 */
import { senderHeader } from '../delivery/headers.js';
import { messageIdOf } from '../delivery/mime.js';
import { emitEvents, withOutbox } from '../webhooks/emit.js';
import type { EngineContext } from './context.js';
import { checkReason, recordOperatorAction, type Actor } from './operator-log.js';

/** An `uncertain` mail with what it takes to find it at the provider. */
export interface UncertainMessage {
  id: number;
  sequenceId: string;
  stepId: string;
  customerExternalId: string;
  email: string | null;
  /** When it was found in `sending` and marked uncertain (epoch ms). */
  since: number;
  subject: string | null;
  error: string | null;
  /** The Message-ID header it was handed over with (search SMTP logs for it); null when the provider writes its own (SendGrid). */
  messageIdHeader: string | null;
}

/** What the operator found out: the provider has it (`sent`), or never got it (`resend`). */
export type UncertainVerdict = 'sent' | 'resend';

/** How many mails are uncertain now. */
export async function countUncertain(ctx: EngineContext): Promise<number> {
  const { n } = await ctx.k
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'uncertain')
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** The oldest `limit` uncertain mails and how many there are in all. */
export async function listUncertain(
  ctx: EngineContext,
  limit = 100,
): Promise<{ total: number; messages: UncertainMessage[] }> {
  const n = await countUncertain(ctx);
  const rows = await ctx.k
    .selectFrom('messages as m')
    .innerJoin('customers as c', 'c.id', 'm.customer_id')
    .select([
      'm.id',
      'm.sequence_id',
      'm.step_id',
      'm.updated_at',
      'm.subject',
      'm.error',
      'm.message_id_header',
      'c.external_id',
      'c.email',
    ])
    .where('m.status', '=', 'uncertain')
    .orderBy('m.updated_at')
    .orderBy('m.id')
    .limit(limit)
    .execute();
  return {
    total: Number(n),
    messages: rows.map((r) => ({
      id: Number(r.id),
      sequenceId: r.sequence_id,
      stepId: r.step_id,
      customerExternalId: r.external_id,
      email: r.email,
      since: Number(r.updated_at),
      subject: r.subject,
      error: r.error,
      messageIdHeader:
        ctx.transport.providerMessageId && !r.message_id_header
          ? null
          : sentMessageId(ctx, Number(r.id), r.message_id_header, r.email),
    })),
  };
}

/**
 * The Message-ID header a mail went out with: the one stored with `sending`, or, for a mail that
 * went `sending` before it was stored (migration 009), computed with today's sender and address,
 * which is what it was unless either changed. Null without either.
 */
export function sentMessageId(
  ctx: EngineContext,
  id: number,
  stored: string | null,
  email: string | null,
): string | null {
  if (stored) return stored;
  return email ? messageIdOf({ messageId: id, from: senderHeader(ctx.config.sender), to: email }) : null;
}

/**
 * Settles uncertain mails: `sent` records them as delivered (at the time they went uncertain),
 * `resend` puts them back to be sent now. Mails that are no longer uncertain are left alone and
 * returned in `skipped`. Recorded in the operator trail as done by `by`, with `reason`.
 */
export async function resolveUncertain(
  ctx: EngineContext,
  ids: number[],
  verdict: UncertainVerdict,
  options: { by?: Actor; reason?: string } = {},
): Promise<{ resolved: number[]; skipped: number[] }> {
  checkReason(options.reason);
  if (ids.length === 0) return { resolved: [], skipped: [] };
  const now = ctx.clock.now();
  // A confirmed mail is reported as `message.sent` in the transaction that records it.
  const done = await withOutbox(ctx.k, ctx.config, async (k) => {
    const q = k.updateTable('messages').where('id', 'in', ids).where('status', '=', 'uncertain');
    if (verdict === 'resend')
      return q
        .set({
          status: 'reserved',
          due_at: now,
          dispatched_at: null,
          updated_at: now,
          error: 'resent by the operator: the provider did not have it',
        })
        .returning('id')
        .execute();
    const sent = await q
      .set((eb) => ({
        status: 'sent',
        sent_at: eb.ref('updated_at'),
        updated_at: now,
        error: 'delivery confirmed by the operator',
      }))
      .returning(['id', 'customer_id', 'enrollment_id', 'sent_at'])
      .execute();
    const events = sent.map((m) => ({
      type: 'message.sent' as const,
      customerId: m.customer_id,
      enrollmentId: m.enrollment_id,
      messageId: Number(m.id),
      occurredAt: Number(m.sent_at),
    }));
    await emitEvents(k, ctx.config, events);
    return sent;
  });
  const resolved = done.map((r) => Number(r.id)).sort((a, b) => a - b);
  const set = new Set(resolved);
  const skipped = ids.filter((id) => !set.has(id));
  await recordOperatorAction(ctx.k, {
    at: now,
    action: verdict === 'sent' ? 'uncertain.mark-sent' : 'uncertain.resend',
    target: `message ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ` and ${ids.length - 20} more` : ''}`,
    reason: options.reason ?? null,
    outcome: resolved.length ? 'done' : 'no longer uncertain',
    counts: { resolved: resolved.length, skipped: skipped.length },
    ...(options.by ? { by: options.by } : {}),
  });
  return { resolved, skipped };
}
