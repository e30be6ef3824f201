import { assertHeaderSafe } from './headers.js';
import { buildMime } from './mime.js';
import type { OutgoingMail } from './types.js';

export { assertHeaderSafe };

/** Nodemailer message options for a mail (for tools that hand mails to nodemailer's own transports). */
export function toNodemailer(mail: OutgoingMail) {
  for (const [k, v] of Object.entries({ From: mail.from, To: mail.to, Subject: mail.subject, ...mail.headers }))
    assertHeaderSafe(k, v);
  return {
    from: mail.from,
    to: mail.to,
    replyTo: mail.replyTo,
    subject: mail.subject,
    html: mail.html,
    text: mail.text,
    headers: mail.headers,
    date: mail.date,
    // A template must never make nodemailer read a local file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** Builds the RFC 5322 message (multipart/alternative: text + HTML), as every transport sends it. */
export async function composeEml(mail: OutgoingMail): Promise<Buffer> {
  return buildMime(mail);
}
