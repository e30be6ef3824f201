/**
 * Applies the bounces and complaints that come back by mail (src/tracking/mail-reports.ts) to the
 * send ledger. With an SMTP relay every mail is accepted at once; the recipient's server refuses it
 * later, in a delivery report to the envelope sender (`sender.returnPath`). Without reading those,
 * a hard-bounced address would be mailed again and again and the deliverability guard would never
 * see a bounce.
 */
import { createHash } from 'node:crypto';
import { senderHeader } from '../delivery/headers.js';
import { messageIdOf } from '../delivery/mime.js';
import { parseMailReport, type MailReport } from '../tracking/mail-reports.js';
import type { EngineContext } from './context.js';
import { recordEvent } from './events.js';

/** What one returned mail did. */
export type ReportOutcome =
  | { action: 'bounce' | 'complaint'; messageId: number; detail: string }
  | { action: 'duplicate'; messageId: number; detail: string }
  | { action: 'ignored'; detail: string };

/** Feedback types that are complaints about the mail (not `not-spam`, `auth-failure`, ...). */
const COMPLAINTS = new Set(['abuse', 'fraud']);

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
  // Mails sent before the header was stored with them (migration 009): computed as it was then.
  const sent = m.message_id_header ?? (m.email ? messageIdOf({ messageId: m.id, from: senderHeader(ctx.config.sender), to: m.email }) : null);
  return sent === header ? m.id : undefined;
}

/** A stable id per report and recipient, so that reading a mailbox twice records nothing twice. */
function reportKey(report: Extract<MailReport, { reportId: string | null }>, raw: Buffer): string {
  const id = report.reportId ?? createHash('sha256').update(raw).digest('hex');
  return `mail-report:${id}:${report.recipient ?? ''}`.slice(0, 255);
}

/**
 * Reads one returned mail and applies it: a hard bounce (status 5.1.x: no such mailbox) or a
 * complaint suppresses the address and counts for the deliverability guard, as the same event from
 * SendGrid's webhook does. Delays, other failures (a full mailbox, a policy block), auto-replies
 * and mail that names no message Comeback sent are ignored, each with the reason.
 */
export async function applyMailReport(ctx: EngineContext, raw: Buffer): Promise<ReportOutcome> {
  const report = await parseMailReport(raw);
  if (report.kind === 'none') return { action: 'ignored', detail: report.reason };
  const messageId = await messageFor(ctx, report.originalMessageId);
  if (messageId === undefined) {
    return { action: 'ignored', detail: report.originalMessageId ? `not a mail Comeback sent: ${report.originalMessageId}` : 'the report does not return the original Message-ID' };
  }
  const to = report.recipient ? ` to ${report.recipient}` : '';
  if (report.kind === 'bounce') {
    if (!report.status.startsWith('5.1.')) return { action: 'ignored', detail: `message ${messageId}${to}: status ${report.status} is not a hard bounce; nothing suppressed` };
    const detail = { status: report.status, reason: report.diagnostic ?? `status ${report.status}`, via: 'delivery report' };
    const stored = await recordEvent(ctx, { messageId, type: 'bounce', source: 'mail-report', providerEventId: reportKey(report, raw), detail });
    const what = `message ${messageId}${to}: hard bounce ${report.status}`;
    return stored ? { action: 'bounce', messageId, detail: `${what}; address suppressed` } : { action: 'duplicate', messageId, detail: `${what}; recorded before` };
  }
  if (!COMPLAINTS.has(report.feedbackType)) return { action: 'ignored', detail: `message ${messageId}${to}: feedback type ${report.feedbackType} is not a complaint` };
  const stored = await recordEvent(ctx, { messageId, type: 'complaint', source: 'mail-report', providerEventId: reportKey(report, raw), detail: { feedbackType: report.feedbackType } });
  const what = `message ${messageId}${to}: complaint (${report.feedbackType})`;
  return stored ? { action: 'complaint', messageId, detail: `${what}; address suppressed` } : { action: 'duplicate', messageId, detail: `${what}; recorded before` };
}
