import type { FastifyReply } from 'fastify';

/** Escapes text for HTML content and attribute values. */
export function esc(s: unknown): string {
  return String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const EN = {
  invalid_title: 'Link not valid',
  invalid_body:
    'This link is not valid or has expired. If you copied it from an email, please check that it is complete.',
  unsubscribe_title: 'Unsubscribe',
  unsubscribe_question: 'Do you want to stop receiving these emails?',
  unsubscribe_all: 'All marketing emails from us',
  unsubscribe_sequence: 'Only this series of emails',
  unsubscribe_why: 'Would you tell us why? (optional)',
  unsubscribe_button: 'Unsubscribe',
  unsubscribed_title: 'You are unsubscribed',
  unsubscribed_body: 'You will not receive these emails from us any more.',
  reason_thanks_title: 'Thank you for your answer',
  reason_thanks_body: 'Your answer helps us get better.',
  reason_reward: 'As promised, here is your personal code',
  reason_valid_until: 'valid until',
  reason_confirm_title: 'Your answer',
  reason_confirm_body: 'Please confirm your answer:',
  reason_confirm_button: 'Send my answer',
  view_gone_title: 'No longer available',
  view_gone_body: 'This email is no longer available.',
  honeypot_body: 'Nothing to see here.',
};

/** The page texts of one language. */
export type PageText = { [K in keyof typeof EN]: string };

/** The texts of the server's own pages, per language. */
export const PAGE_TEXT: Record<'en' | 'de', PageText> = {
  en: EN,
  de: {
    invalid_title: 'Link ungültig',
    invalid_body:
      'Dieser Link ist ungültig oder abgelaufen. Wenn Sie ihn aus einer E-Mail kopiert haben, prüfen Sie bitte, ob er vollständig ist.',
    unsubscribe_title: 'Abmelden',
    unsubscribe_question: 'Möchten Sie diese E-Mails nicht mehr erhalten?',
    unsubscribe_all: 'Alle Werbe-E-Mails von uns',
    unsubscribe_sequence: 'Nur diese E-Mail-Serie',
    unsubscribe_why: 'Verraten Sie uns den Grund? (freiwillig)',
    unsubscribe_button: 'Abmelden',
    unsubscribed_title: 'Sie sind abgemeldet',
    unsubscribed_body: 'Sie erhalten diese E-Mails nicht mehr von uns.',
    reason_thanks_title: 'Vielen Dank für Ihre Antwort',
    reason_thanks_body: 'Ihre Antwort hilft uns, besser zu werden.',
    reason_reward: 'Wie versprochen, hier ist Ihr persönlicher Code',
    reason_valid_until: 'gültig bis',
    reason_confirm_title: 'Ihre Antwort',
    reason_confirm_body: 'Bitte bestätigen Sie Ihre Antwort:',
    reason_confirm_button: 'Antwort senden',
    view_gone_title: 'Nicht mehr verfügbar',
    view_gone_body: 'Diese E-Mail ist nicht mehr verfügbar.',
    honeypot_body: 'Hier gibt es nichts zu sehen.',
  },
};

/** Page texts for a locale (German for `de*`, English otherwise). */
export function textFor(locale: string | undefined): PageText & { lang: string } {
  const lang = (locale ?? 'en').split(/[-_]/)[0]!.toLowerCase() === 'de' ? 'de' : 'en';
  return { ...PAGE_TEXT[lang], lang };
}

const STYLE =
  'body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}' +
  'h1{font-size:1.4rem}button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:4px;background:#1f3a5f;color:#fff;cursor:pointer}' +
  'label{display:block;margin:.4rem 0}select{font:inherit;margin:.4rem 0 1rem}.code{font-size:1.6rem;font-weight:bold;letter-spacing:.1em;padding:.6rem 1rem;border:2px dashed #1f3a5f;display:inline-block}';

/** A complete small HTML page: `body` is trusted HTML (escape what goes into it). */
export function page(lang: string, title: string, body: string): string {
  return `<!doctype html><html lang="${esc(lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${esc(title)}</title><style>${STYLE}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
}

/** Headers on every page the server renders: no caching, no framing, no referrer, no scripts. */
export function pageHeaders(
  reply: FastifyReply,
  csp = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
): FastifyReply {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-robots-tag', 'noindex, nofollow')
    .header('content-security-policy', csp);
}

/** Sends the "link not valid" page with a 4xx status. */
export function sendInvalid(reply: FastifyReply, status = 404, locale?: string): FastifyReply {
  const t = textFor(locale);
  return pageHeaders(reply)
    .code(status)
    .send(page(t.lang, t.invalid_title, `<p>${esc(t.invalid_body)}</p>`));
}
