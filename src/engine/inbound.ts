/**
 * Applies the mail that comes back (src/tracking/inbound-mail.ts) to the send ledger and the
 * consent state. With an SMTP relay every mail is accepted at once; the recipient's server refuses
 * it later, in a delivery report to the envelope sender (`sender.returnPath`), feedback loops mail
 * complaints, and some mail clients unsubscribe by mailing the List-Unsubscribe `mailto:` address.
 * Without reading those, a hard-bounced address would be mailed again and again, the
 * deliverability guard would never see a bounce, and an opt-out by mail would go unheard.
 */
import { createHash } from 'node:crypto';
import { parseInboundMail, type InboundMail } from '../tracking/inbound-mail.js';
import type { EngineContext } from './context.js';
import { recordEvent } from './events.js';
import { unsubscribeByMail } from './mail-unsubscribe.js';
import { sentMessageId } from './uncertain.js';

/** What one mail that came back did. */
export type InboundOutcome =
  | { action: 'bounce' | 'soft_bounce' | 'complaint' | 'unsubscribe'; messageId: number; detail: string }
  | { action: 'duplicate'; messageId: number; detail: string }
  | { action: 'ignored'; detail: string };

/** Feedback types that are complaints about the mail (not `not-spam`, `auth-failure`, ...). */
const COMPLAINTS = new Set(['abuse', 'fraud']);

/** Why a mailto unsubscribe was not applied, for the operator. */
const UNSUBSCRIBE_IGNORED = {
  no_message_reference: 'the subject names no message',
  unknown_message: 'the subject names no message Comeback sent',
  sender_mismatch: 'it does not come from the address the message was sent to',
} as const;

/**
 * The message a Message-ID names, only when it is exactly the header Comeback sent it with: the
 * id in it is a plain number, so a guessed or forged report must not suppress anyone.
 */
async function messageFor(ctx: EngineContext, header: string | null): Promise<number | undefined> {
  const id = header ? /^<comeback\.(\d+)\.[0-9a-f]{16}@[^>]+>$/.exec(header)?.[1] : undefined;
  if (!id) return undefined;
  const m = await ctx.k
    .selectFrom('messages as m')
    .innerJoin('customers as c', 'c.id', 'm.customer_id')
    .select(['m.id', 'm.message_id_header', 'c.email'])
    .where('m.id', '=', Number(id))
    .where('m.status', 'in', ['sent', 'uncertain', 'sending'])
    .executeTakeFirst();
  if (!m) return undefined;
  return sentMessageId(ctx, m.id, m.message_id_header, m.email) === header ? m.id : undefined;
}

/** A bounce or a complaint report. */
type MailReport = Extract<InboundMail, { reportId: string | null }>;

/** A stable id per report and recipient, so that reading a mailbox twice records nothing twice. */
function reportKey(report: MailReport, raw: Buffer): string {
  const id = report.reportId ?? createHash('sha256').update(raw).digest('hex');
  return `mail-report:${id}:${report.recipient ?? ''}`.slice(0, 255);
}

const to = (report: { recipient: string | null }) => (report.recipient ? ` to ${report.recipient}` : '');

/** A bounce or a complaint: recorded once, with the consequences of the same event from a provider webhook. */
async function applyReport(ctx: EngineContext, report: MailReport, raw: Buffer): Promise<InboundOutcome> {
  const messageId = await messageFor(ctx, report.originalMessageId);
  if (messageId === undefined) {
    return {
      action: 'ignored',
      detail: report.originalMessageId
        ? `not a mail Comeback sent: ${report.originalMessageId}`
        : 'the report does not return the original Message-ID',
    };
  }
  let event: 'bounce' | 'soft_bounce' | 'complaint';
  let what: string;
  let consequence = 'address suppressed';
  let detail: Record<string, unknown>;
  if (report.kind === 'bounce') {
    // 5.1.x: no such mailbox. Anything else (a full mailbox, a policy block) says nothing against the address.
    const hard = report.status.startsWith('5.1.');
    event = hard ? 'bounce' : 'soft_bounce';
    what = `${hard ? 'hard' : 'soft'} bounce ${report.status}`;
    if (!hard) consequence = 'recorded, nothing suppressed (not a hard bounce)';
    detail = { status: report.status, reason: report.diagnostic ?? `status ${report.status}`, via: 'delivery report' };
  } else {
    if (!COMPLAINTS.has(report.feedbackType))
      return {
        action: 'ignored',
        detail: `message ${messageId}${to(report)}: feedback type ${report.feedbackType} is not a complaint`,
      };
    event = 'complaint';
    what = `complaint (${report.feedbackType})`;
    detail = { feedbackType: report.feedbackType };
  }
  const stored = await recordEvent(ctx, {
    messageId,
    type: event,
    source: 'mail-report',
    providerEventId: reportKey(report, raw),
    detail,
  });
  const line = `message ${messageId}${to(report)}: ${what}`;
  return stored
    ? { action: event, messageId, detail: `${line}; ${consequence}` }
    : { action: 'duplicate', messageId, detail: `${line}; recorded before` };
}

/**
 * Reads one mail that came back and applies it: a hard bounce (status 5.1.x: no such mailbox) or a
 * complaint suppresses the address and counts for the deliverability guard; other failures (a
 * full mailbox, a policy block) are recorded as soft bounces without consequence; an unsubscribe
 * request from the address a message went to unsubscribes it from all marketing, as the one-click
 * link does. Delays, auto-replies and mail that names no message Comeback sent are ignored, each
 * with the reason.
 */
export async function applyInboundMail(ctx: EngineContext, raw: Buffer): Promise<InboundOutcome> {
  const mail = await parseInboundMail(raw);
  if (mail.kind === 'none') return { action: 'ignored', detail: mail.reason };
  if (mail.kind !== 'unsubscribe') return applyReport(ctx, mail, raw);
  const r = await unsubscribeByMail(ctx, {
    from: mail.from,
    subject: mail.subject,
    ...(mail.id ? { id: mail.id } : {}),
  });
  if (r.status === 'ignored')
    return {
      action: 'ignored',
      detail: `unsubscribe request "${mail.subject}" from ${mail.from}: ${UNSUBSCRIBE_IGNORED[r.reason]}`,
    };
  const what = `message ${r.messageId}: unsubscribe request from ${mail.from}`;
  return r.status === 'duplicate'
    ? { action: 'duplicate', messageId: r.messageId, detail: `${what}; recorded before` }
    : { action: 'unsubscribe', messageId: r.messageId, detail: `${what}; unsubscribed from all marketing` };
}
