import type { FastifyPluginAsync } from 'fastify';
import { requestForToken } from '../../consent/optin.js';
import { esc, page, pageHeaders, sendInvalid } from '../pages.js';

/** Texts of the double opt-in pages, per language. */
const TEXT = {
  en: {
    confirm_title: 'Confirm your subscription',
    confirm_body:
      'Please confirm that you want to receive news and offers from {shop} by email. You can unsubscribe at any time with the link in every email.',
    confirm_button: 'Yes, I want to receive emails',
    done_title: 'Thank you!',
    done_body: 'Your subscription is confirmed.',
    expired_title: 'Link expired',
    expired_body: 'This confirmation link has expired. Please sign up again; we will send you a new link.',
  },
  de: {
    confirm_title: 'Anmeldung bestätigen',
    confirm_body:
      'Bitte bestätigen Sie, dass Sie Neuigkeiten und Angebote von {shop} per E-Mail erhalten möchten. Sie können sich jederzeit über den Link in jeder E-Mail abmelden.',
    confirm_button: 'Ja, ich möchte E-Mails erhalten',
    done_title: 'Vielen Dank!',
    done_body: 'Ihre Anmeldung ist bestätigt.',
    expired_title: 'Link abgelaufen',
    expired_body:
      'Dieser Bestätigungslink ist abgelaufen. Bitte melden Sie sich erneut an; wir senden Ihnen einen neuen Link.',
  },
};

const textOf = (locale: string | undefined) => ({
  ...(locale?.toLowerCase().startsWith('de') ? TEXT.de : TEXT.en),
  lang: locale?.toLowerCase().startsWith('de') ? 'de' : 'en',
});

/**
 * Double opt-in confirmation, the link in the confirmation mail:
 * - `GET /confirm/<token>` shows a page with a confirm button and changes nothing (link scanners
 *   and prefetchers GET every link; a consent must come from the person).
 * - `POST /confirm/<token>` (the button, body `confirm=1`) records the double opt-in grant with
 *   the time, IP address and user agent of the click and the token, and answers 200 (no redirect).
 * A forged or altered token answers 404, an expired request 410; nothing is recorded either way.
 */
export const consentRoutes: FastifyPluginAsync = async (app) => {
  const { engine, ctx } = app.comeback;
  const shop = ctx.config.sender.name;

  app.get<{ Params: { token: string } }>('/confirm/:token', async (request, reply) => {
    const row = await requestForToken(ctx, request.params.token);
    if (!row) return sendInvalid(reply, 404);
    const t = textOf(row.locale);
    if (row.status === 'confirmed')
      return pageHeaders(reply)
        .code(200)
        .send(page(t.lang, t.done_title, `<p>${esc(t.done_body)}</p>`));
    if (row.status !== 'pending' || row.expires_at <= ctx.clock.now())
      return pageHeaders(reply)
        .code(410)
        .send(page(t.lang, t.expired_title, `<p>${esc(t.expired_body)}</p>`));
    const form = `<p>${esc(t.confirm_body.replace('{shop}', shop))}</p><form method="post"><input type="hidden" name="confirm" value="1"><p><button type="submit">${esc(t.confirm_button)}</button></p></form>`;
    return pageHeaders(reply)
      .code(200)
      .send(page(t.lang, t.confirm_title, form));
  });

  app.post<{ Params: { token: string } }>('/confirm/:token', async (request, reply) => {
    const row = await requestForToken(ctx, request.params.token);
    if (!row) return sendInvalid(reply, 404);
    const body = request.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || body.confirm !== '1') {
      return reply
        .code(400)
        .header('content-type', 'text/plain; charset=utf-8')
        .send('expected the form field confirm=1\n');
    }
    const t = textOf(row.locale);
    const result = await engine.consents.confirm(request.params.token, {
      ip: request.ip,
      userAgent: request.headers['user-agent'],
    });
    if (result.status === 'invalid') return sendInvalid(reply, 404, row.locale);
    if (result.status === 'expired')
      return pageHeaders(reply)
        .code(410)
        .send(page(t.lang, t.expired_title, `<p>${esc(t.expired_body)}</p>`));
    return pageHeaders(reply)
      .code(200)
      .send(page(t.lang, t.done_title, `<p>${esc(t.done_body)}</p>`));
  });
};
