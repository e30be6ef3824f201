import type { FastifyPluginAsync } from 'fastify';
import { requestEvidence } from '../../consent/preferences.js';
import { BYTES } from '../../util/limits.js';
import type { TrackedMessage } from '../../tracking/messages.js';
import { esc, page, pageHeaders, sendInvalid, textFor } from '../pages.js';

/** Answers to the optional "why are you leaving?" question on the unsubscribe page. */
export const UNSUBSCRIBE_REASONS: Record<string, { en: string; de: string }> = {
  too_many: { en: 'Too many emails', de: 'Zu viele E-Mails' },
  not_relevant: { en: 'Not interested any more', de: 'Kein Interesse mehr' },
  never_signed_up: { en: 'I never signed up for this', de: 'Ich habe mich nie dafür angemeldet' },
  other: { en: 'Another reason', de: 'Ein anderer Grund' },
};

/** The RFC 8058 body: `List-Unsubscribe=One-Click`, form-encoded or as a multipart field. */
function isOneClick(body: unknown): boolean {
  if (typeof body === 'string') {
    return (
      body.trim() === 'List-Unsubscribe=One-Click' ||
      /name="List-Unsubscribe"\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/.test(body)
    );
  }
  return (
    typeof body === 'object' && body !== null && (body as Record<string, unknown>)['List-Unsubscribe'] === 'One-Click'
  );
}

function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
}

/**
 * Unsubscribe, by the rules of RFC 8058 and the consent issue:
 * - `GET /u/<token>` only shows a page with a confirm button, the choice of all marketing or this
 *   series, and an optional reason; it never unsubscribes (link scanners and prefetchers GET).
 * - `POST /u/<token>` with the body `List-Unsubscribe=One-Click` (what mail clients send for the
 *   `List-Unsubscribe-Post` header) unsubscribes from all marketing: no cookie, no login, no
 *   redirect, 200. The page's form posts `confirm=1` with `scope` and `reason`.
 * A forged or altered token → 404 and nothing changes. The consent consequences (ledger
 * withdrawal, suppression) are applied before the answer, so the next send is already blocked.
 */
export const unsubscribeRoutes: FastifyPluginAsync = async (app) => {
  const { ctx, tracker, metrics } = app.comeback;
  // RFC 8058 allows multipart/form-data; some clients send text/plain. Parsed as text here only.
  app.addContentTypeParser(
    ['multipart/form-data', 'text/plain'],
    { parseAs: 'string', bodyLimit: BYTES.unsubscribeBody },
    (_req, body, done) => done(null, body),
  );

  async function resolve(token: string): Promise<TrackedMessage | undefined> {
    const p = ctx.signer.verify(token, 'unsubscribe');
    return p ? tracker.message(p.id) : undefined;
  }

  app.get<{ Params: { token: string } }>('/u/:token', async (request, reply) => {
    const m = await resolve(request.params.token);
    if (!m) {
      metrics.rejected.inc({ route: 'unsubscribe' });
      return sendInvalid(reply, 404);
    }
    const t = textFor(m.locale);
    const lang = t.lang as 'en' | 'de';
    const reasons = Object.entries(UNSUBSCRIBE_REASONS)
      .map(([key, label]) => `<option value="${esc(key)}">${esc(label[lang])}</option>`)
      .join('');
    const form =
      `<p>${esc(t.unsubscribe_question)}</p><form method="post"><input type="hidden" name="confirm" value="1">` +
      `<label><input type="radio" name="scope" value="all" checked> ${esc(t.unsubscribe_all)}</label>` +
      `<label><input type="radio" name="scope" value="sequence"> ${esc(t.unsubscribe_sequence)}</label>` +
      `<label for="reason">${esc(t.unsubscribe_why)}</label><select id="reason" name="reason"><option value=""></option>${reasons}</select>` +
      `<p><button type="submit">${esc(t.unsubscribe_button)}</button></p></form>`;
    return pageHeaders(reply)
      .code(200)
      .send(page(t.lang, t.unsubscribe_title, form));
  });

  app.post<{ Params: { token: string } }>('/u/:token', async (request, reply) => {
    const token = request.params.token;
    const m = await resolve(token);
    if (!m) {
      metrics.rejected.inc({ route: 'unsubscribe' });
      return sendInvalid(reply, 404);
    }
    const body = request.body;
    const ua = request.headers['user-agent'];
    const proof = (via: string) => ({ ...requestEvidence(ctx.config.secret, via, { ip: request.ip, userAgent: ua }) });
    let done: boolean;
    if (isOneClick(body)) {
      done = await tracker.unsubscribe(token, 'all', { via: 'one_click', evidence: proof('one_click') });
    } else if (field(body, 'confirm') === '1') {
      const reason = field(body, 'reason');
      done = await tracker.unsubscribe(token, field(body, 'scope') === 'sequence' ? 'sequence' : 'all', {
        via: 'page',
        reason: reason && reason in UNSUBSCRIBE_REASONS ? reason : undefined,
        evidence: proof('page'),
      });
    } else {
      return reply
        .code(400)
        .header('content-type', 'text/plain; charset=utf-8')
        .send('expected the body List-Unsubscribe=One-Click (RFC 8058)\n');
    }
    if (!done) return sendInvalid(reply, 404, m.locale);
    metrics.events.inc({ type: 'unsubscribe', verdict: 'human' });
    const t = textFor(m.locale);
    return pageHeaders(reply)
      .code(200)
      .send(page(t.lang, t.unsubscribed_title, `<p>${esc(t.unsubscribed_body)}</p>`));
  });
};
