import type { FastifyPluginAsync } from 'fastify';
import { shapeOf } from '../context.js';
import { esc, page, pageHeaders, sendInvalid, textFor } from '../pages.js';
import { renderWebView } from '../webview.js';

/** What the mail's HTML may load in a browser: images, styles and fonts over HTTPS; no scripts, no forms. */
const MAIL_CSP =
  "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline' https:; font-src https: data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/**
 * `GET /v/<token>`: the web view of a sent message, rendered again from its stored template,
 * subject, coupon and links (see `renderWebView` for why re-render rather than store). Visiting
 * it records an open (`source: webview`) classified like a click. Never cached.
 */
export const viewRoutes: FastifyPluginAsync = async (app) => {
  const { ctx, tracker, metrics } = app.comeback;
  app.get<{ Params: { token: string } }>('/v/:token', async (request, reply) => {
    const p = ctx.signer.verify(request.params.token, 'view');
    const view = p ? await renderWebView(ctx, p.id) : undefined;
    if (!p || !view) {
      metrics.rejected.inc({ route: 'view' });
      return sendInvalid(reply, 404);
    }
    if ('gone' in view) {
      const t = textFor(undefined);
      return pageHeaders(reply)
        .code(410)
        .send(page(t.lang, t.view_gone_title, `<p>${esc(t.view_gone_body)}</p>`));
    }
    await tracker.view(p.id, shapeOf(request));
    return pageHeaders(reply, MAIL_CSP).code(200).send(view.html);
  });
};
