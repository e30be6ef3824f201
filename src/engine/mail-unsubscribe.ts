/**
 * Unsubscribe requests that arrive as mail (the `mailto:` of the List-Unsubscribe header): the
 * same consequences as the one-click link, for the recipient of the message only.
 */
import addressparser from 'nodemailer/lib/addressparser';
import { hashEmail } from '../util/email.js';
import type { EngineContext } from './context.js';
import { recordEvent } from './events.js';

/** What a mailto unsubscribe did. */
export type MailUnsubscribeResult =
  | { status: 'unsubscribed'; messageId: number }
  /** This mail (by its Message-ID) was handled before. */
  | { status: 'duplicate'; messageId: number }
  | { status: 'ignored'; reason: 'no_message_reference' | 'unknown_message' | 'sender_mismatch' };

/**
 * Handles a mail to the `mailto:` address of the List-Unsubscribe header (subject
 * `unsubscribe-<message id>`, or a signed unsubscribe token). The sender of that mail must be the
 * recipient of the message (compared by address hash), so nobody can unsubscribe someone else by
 * guessing an id. Applies the same consequences as the one-click link: withdrawal, suppression of
 * all marketing, pending messages cancelled. Call it from the shop's inbound mail processing, or
 * let `comeback inbound` read the mailbox. With the request's own Message-ID (`id`), the same mail
 * read twice is recorded once.
 */
export async function unsubscribeByMail(
  ctx: EngineContext,
  mail: { from: string; subject: string; id?: string },
): Promise<MailUnsubscribeResult> {
  const token = /\b(u[0-9a-z]{1,11}\.[A-Za-z0-9_-]{22})\b/.exec(mail.subject)?.[1];
  const id = token
    ? ctx.signer.verify(token, 'unsubscribe')?.id
    : Number(/unsubscribe-(\d{1,15})\b/i.exec(mail.subject)?.[1] ?? NaN);
  if (id === undefined || !Number.isSafeInteger(id)) return { status: 'ignored', reason: 'no_message_reference' };
  const m = await ctx.k
    .selectFrom('messages')
    .innerJoin('customers', 'customers.id', 'messages.customer_id')
    .select(['messages.id', 'customers.email_hash'])
    .where('messages.id', '=', id)
    .executeTakeFirst();
  if (!m) return { status: 'ignored', reason: 'unknown_message' };
  // Any form of From: `Lea <lea@example.com>`, `lea@example.com (Lea)`, a bare address.
  const sender = addressparser(mail.from, { flatten: true })[0];
  const address = sender && 'address' in sender ? sender.address : mail.from;
  if (!m.email_hash || m.email_hash !== hashEmail(address)) return { status: 'ignored', reason: 'sender_mismatch' };
  const stored = await recordEvent(ctx, {
    messageId: m.id,
    type: 'unsubscribe',
    source: 'mailto',
    detail: { scope: 'all' },
    ...(mail.id ? { providerEventId: `mailto:${mail.id}`.slice(0, 255) } : {}),
  });
  return { status: stored ? 'unsubscribed' : 'duplicate', messageId: m.id };
}
