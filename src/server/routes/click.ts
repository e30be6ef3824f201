import type { FastifyPluginAsync } from 'fastify';
import { shapeOf } from '../context.js';
import { esc, page, pageHeaders, sendInvalid, textFor } from '../pages.js';

/** A stored target as a valid Location header value (non-ASCII percent-encoded), or undefined. */
function location(url: string): string | undefined {
  if (!/^https?:\/\//i.test(url)) return undefined;
  if (!/[^\x21-\x7e]/.test(url)) return url;
  try {
    return new URL(url).href;
  } catch {
    return undefined;
  }
}

/**
 * `GET|HEAD /c/<token>`: a tracked link. The token names the message and the link index; the
 * answer is a 307 to the target stored with the message (UTM parameters included as rendered),
 * never to anything taken from the request. A forged or altered token, an unknown message or an
 * index the message does not have → 404 and nothing recorded. The honeypot index answers a blank
 * page and flags the clicker as a scanner.
 */
export const clickRoutes: FastifyPluginAsync = async (app) => {
  const { tracker, metrics } = app.comeback;
  app.get<{ Params: { token: string } }>('/c/:token', async (request, reply) => {
    const out = await tracker.click(request.params.token, shapeOf(request));
    if (out.kind === 'invalid') {
      metrics.rejected.inc({ route: 'click' });
      return sendInvalid(reply, 404);
    }
    if (out.kind === 'honeypot') {
      const t = textFor('en');
      return pageHeaders(reply)
        .code(200)
        .send(page(t.lang, '', `<p>${esc(t.honeypot_body)}</p>`));
    }
    const to = location(out.url);
    if (!to) return sendInvalid(reply, 404);
    return reply.code(307).header('location', to).header('cache-control', 'no-store').send();
  });
};
