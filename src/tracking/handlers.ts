import type { EngineContext } from '../engine/context.js';
import { recordEvent } from '../engine/events.js';
import { classifyClick, classifyOpen, type RequestShape } from './classify.js';

async function sentAt(ctx: EngineContext, messageId: number): Promise<{ sent_at: number | null; links: string } | undefined> {
  return ctx.k.selectFrom('messages').select(['sent_at', 'links']).where('id', '=', messageId).executeTakeFirst();
}

/** Records an open from a pixel token. Returns false (and records nothing) for a bad token. */
export async function trackOpen(ctx: EngineContext, token: string, req: RequestShape): Promise<boolean> {
  const p = ctx.signer.verify(token, 'open');
  if (!p) return false;
  const m = await sentAt(ctx, p.id);
  if (!m) return false;
  const verdict = classifyOpen({ ...req, sinceSentMs: m.sent_at !== null ? ctx.clock.now() - m.sent_at : undefined }, ctx.config.tracking);
  return recordEvent(ctx, { messageId: p.id, type: 'open', source: 'pixel', userAgent: req.userAgent, machine: verdict.machine, machineReason: verdict.machine ? verdict.reason : undefined });
}

/**
 * Records a click and returns the target stored with the message for that link index: the URL
 * never comes from the request, so there is no open redirect. Undefined for a bad token.
 */
export async function trackClick(ctx: EngineContext, token: string, req: RequestShape): Promise<string | undefined> {
  const p = ctx.signer.verify(token, 'click');
  if (!p || p.index === undefined) return undefined;
  const m = await sentAt(ctx, p.id);
  const target = m ? (JSON.parse(m.links) as string[])[p.index] : undefined;
  if (!target) return undefined;
  const verdict = classifyClick({ ...req, sinceSentMs: m!.sent_at !== null ? ctx.clock.now() - m!.sent_at : undefined }, {}, ctx.config.tracking);
  await recordEvent(ctx, { messageId: p.id, type: 'click', source: 'link', linkIndex: p.index, userAgent: req.userAgent, machine: verdict.machine, machineReason: verdict.machine ? verdict.reason : undefined });
  return target;
}

/** Records a survey answer (the churn reason by index). False for a bad token. */
export async function trackReason(ctx: EngineContext, token: string, req: RequestShape): Promise<boolean> {
  const p = ctx.signer.verify(token, 'reason');
  if (!p || p.index === undefined) return false;
  const verdict = classifyClick(req, {}, ctx.config.tracking);
  if (verdict.machine) return recordEvent(ctx, { messageId: p.id, type: 'click', source: 'reason_link', linkIndex: -1, userAgent: req.userAgent, machine: true, machineReason: verdict.reason });
  return recordEvent(ctx, { messageId: p.id, type: 'reason', source: 'survey', linkIndex: p.index, userAgent: req.userAgent });
}

/**
 * Unsubscribes the recipient of a message: from all marketing mail (the default, and what RFC 8058
 * one-click means) or from the message's sequence only. `via` names the path (`one_click`,
 * `page`), `reason` is the optional answer to "why are you leaving?". Idempotent: the same request
 * again (a client retrying, a double click, 50 identical POSTs at once) records one event and one
 * withdrawal, held by the events table's unique key, not by a read before the write. The key holds
 * the person's latest consent grant, so an old mail's link works again after a re-subscription.
 * True for a valid token (also when it changed nothing), false for a bad one.
 */
export async function trackUnsubscribe(
  ctx: EngineContext,
  token: string,
  scope: 'all' | 'sequence' = 'all',
  options: { via?: string; reason?: string; evidence?: Record<string, unknown> } = {},
): Promise<boolean> {
  const p = ctx.signer.verify(token, 'unsubscribe');
  if (!p) return false;
  const m = await ctx.k.selectFrom('messages').select(['sequence_id', 'customer_id']).where('id', '=', p.id).executeTakeFirst();
  if (!m) return false;
  const target = scope === 'all' ? 'all' : m.sequence_id;
  const grant = await ctx.k
    .selectFrom('consents')
    .select('id')
    .where('customer_id', '=', m.customer_id)
    .where('action', '=', 'grant')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  const detail: Record<string, unknown> = { scope: target };
  if (options.reason) detail.reason = options.reason;
  // Keyed hashes of IP and user agent (never the values), kept with the withdrawal in the ledger.
  if (options.evidence) detail.evidence = options.evidence;
  const key = `unsubscribe:${p.id}:${target}:${grant?.id ?? 0}`;
  await recordEvent(ctx, { messageId: p.id, type: 'unsubscribe', source: options.via ?? 'one_click', detail, providerEventId: key });
  return true;
}
