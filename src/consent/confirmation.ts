import type { OutgoingMail } from '../delivery/types.js';

/** What the confirmation mail says: per language, with `{shop}`, `{url}` and `{until}` filled in. */
const TEXTS: Record<string, { subject: string; intro: string; action: string; until: string; ignore: string }> = {
  de: {
    subject: 'Bitte bestätigen Sie Ihre Anmeldung bei {shop}',
    intro: 'Sie (oder jemand mit Ihrer Adresse) möchten E-Mails mit Neuigkeiten und Angeboten von {shop} erhalten.',
    action: 'Bitte bestätigen Sie das mit einem Klick:',
    until: 'Der Link gilt bis {until}.',
    ignore:
      'Wenn Sie das nicht waren, ignorieren Sie diese E-Mail einfach: Sie erhalten dann keine weiteren E-Mails von uns.',
  },
  en: {
    subject: 'Please confirm your subscription to {shop}',
    intro: 'You (or someone using your address) asked to receive news and offers by email from {shop}.',
    action: 'Please confirm with one click:',
    until: 'The link is valid until {until}.',
    ignore: 'If this was not you, simply ignore this email: you will not hear from us again.',
  },
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** What the confirmation mail needs to know. */
export interface ConfirmationMailInput {
  /** Negative request id, so it can never be taken for a marketing message id. */
  requestId: number;
  to: string;
  locale: string;
  confirmUrl: string;
  expiresAt: number;
  timeZone: string;
  sender: { name: string; from: string; replyTo?: string; postalAddress: string };
  now: number;
}

/**
 * The double opt-in confirmation mail: a small transactional mail, not a marketing template. It
 * carries no tracking pixel and no tracked links (a confirmation must not depend on tracking),
 * names the shop and its postal address, and says what happens if it is ignored: nothing.
 */
export function confirmationMail(input: ConfirmationMailInput): OutgoingMail {
  const lang = input.locale.split('-')[0]!.toLowerCase();
  const t = TEXTS[lang] ?? TEXTS.en!;
  const until = new Intl.DateTimeFormat(lang === 'de' ? 'de-DE' : 'en-GB', {
    dateStyle: 'long',
    timeStyle: 'short',
    timeZone: input.timeZone,
  }).format(new Date(input.expiresAt));
  const fill = (s: string) =>
    s.replaceAll('{shop}', input.sender.name).replaceAll('{url}', input.confirmUrl).replaceAll('{until}', until);
  const subject = fill(t.subject).replace(/[\r\n]+/g, ' ');
  const lines = [
    fill(t.intro),
    '',
    fill(t.action),
    input.confirmUrl,
    '',
    fill(t.until),
    '',
    fill(t.ignore),
    '',
    '--',
    input.sender.name,
    input.sender.postalAddress,
  ];
  const button = lang === 'de' ? 'Anmeldung bestätigen' : 'Confirm subscription';
  const html = [
    `<!doctype html><html lang="${escapeHtml(lang)}"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>`,
    '<body style="font-family:Arial,Helvetica,sans-serif;line-height:1.5;color:#222;max-width:560px;margin:0 auto;padding:24px">',
    `<p>${escapeHtml(fill(t.intro))}</p>`,
    `<p>${escapeHtml(fill(t.action))}</p>`,
    `<p><a href="${escapeHtml(input.confirmUrl)}" style="display:inline-block;background:#1a5fb4;color:#fff;padding:12px 20px;border-radius:4px;text-decoration:none">${button}</a></p>`,
    `<p style="font-size:13px;color:#555">${escapeHtml(input.confirmUrl)}</p>`,
    `<p>${escapeHtml(fill(t.until))}</p>`,
    `<p>${escapeHtml(fill(t.ignore))}</p>`,
    `<hr><p style="font-size:12px;color:#666">${escapeHtml(input.sender.name)}<br>${escapeHtml(input.sender.postalAddress)}</p>`,
    '</body></html>',
  ].join('\n');
  return {
    messageId: input.requestId,
    from: `"${input.sender.name.replace(/["\\\r\n]/g, '')}" <${input.sender.from}>`,
    to: input.to,
    replyTo: input.sender.replyTo,
    subject,
    html,
    text: lines.join('\n'),
    date: new Date(input.now),
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Comeback-Kind': 'opt-in-confirmation' },
  };
}
