import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { EngineContext } from '../../engine/context.js';
import { CHURN_REASONS } from '../../shop/types.js';
import { reasonLabelsFor } from '../../templates/notices.js';
import type { TrackedMessage } from '../../tracking/messages.js';
import { shapeOf } from '../context.js';
import { esc, page, pageHeaders, sendInvalid, textFor } from '../pages.js';

/** The reward shown on the thank-you page: the message's own coupon, else the enrolment's newest valid one. */
async function rewardFor(ctx: EngineContext, m: TrackedMessage) {
  const own = await ctx.k.selectFrom('coupons').selectAll().where('message_id', '=', m.id).executeTakeFirst();
  if (own) return own;
  return ctx.k
    .selectFrom('coupons')
    .selectAll()
    .where('enrollment_id', '=', m.enrollmentId)
    .where('redeemed_order_id', 'is', null)
    .where('expires_at', '>', ctx.clock.now())
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

function money(minor: number, currency: string, locale: string): string {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

async function thanks(
  ctx: EngineContext,
  reply: FastifyReply,
  m: TrackedMessage,
  reasonLabel: string,
): Promise<FastifyReply> {
  const t = textFor(m.locale);
  const coupon = await rewardFor(ctx, m);
  let body = `<p>“${esc(reasonLabel)}”</p><p>${esc(t.reason_thanks_body)}</p>`;
  if (coupon) {
    const value =
      coupon.percent !== null
        ? `${coupon.percent} %`
        : coupon.amount_minor !== null
          ? money(coupon.amount_minor, coupon.currency ?? ctx.config.defaults.currency, m.locale)
          : '';
    const until = new Intl.DateTimeFormat(t.lang, { dateStyle: 'long', timeZone: ctx.config.defaults.timeZone }).format(
      coupon.expires_at,
    );
    body += `<p>${esc(t.reason_reward)}${value ? ` (${esc(value)})` : ''}:</p><p class="code">${esc(coupon.code)}</p><p>${esc(t.reason_valid_until)} ${esc(until)}</p>`;
  }
  return pageHeaders(reply)
    .code(200)
    .send(page(t.lang, t.reason_thanks_title, body));
}

/**
 * `GET /r/<token>`: a one-click answer to the reason survey (the token names message and reason).
 * A person's click records the churn reason (the sequence branches on it) and shows the thank-you
 * page with the promised reward. A request that looks like a link scanner records a machine click
 * only and shows a confirm button instead, so a scanner never sets a reason and a person
 * misjudged as a scanner can still answer. `POST /r/<token>` is that confirmation.
 */
export const reasonRoutes: FastifyPluginAsync = async (app) => {
  const { ctx, tracker, metrics } = app.comeback;

  async function resolve(token: string): Promise<{ m: TrackedMessage; index: number } | undefined> {
    const p = ctx.signer.verify(token, 'reason');
    if (!p || p.index === undefined || !CHURN_REASONS[p.index]) return undefined;
    const m = await tracker.message(p.id);
    return m ? { m, index: p.index } : undefined;
  }

  app.get<{ Params: { token: string } }>('/r/:token', async (request, reply) => {
    const found = await resolve(request.params.token);
    if (!found) {
      metrics.rejected.inc({ route: 'reason' });
      return sendInvalid(reply, 404);
    }
    const { m, index } = found;
    const label = reasonLabelsFor(m.locale)[CHURN_REASONS[index]!] ?? CHURN_REASONS[index]!;
    const shape = shapeOf(request);
    const verdict = tracker.classifyLink(m, shape);
    if (verdict.machine) {
      await tracker.machineLinkClick(m, 'reason_link', shape, verdict, index);
      const t = textFor(m.locale);
      const form = `<p>${esc(t.reason_confirm_body)}</p><p>“${esc(label)}”</p><form method="post"><input type="hidden" name="confirm" value="1"><button type="submit">${esc(t.reason_confirm_button)}</button></form>`;
      return pageHeaders(reply)
        .code(200)
        .send(page(t.lang, t.reason_confirm_title, form));
    }
    metrics.events.inc({ type: 'reason', verdict: 'human' });
    await tracker.answer(m, index, shape.userAgent, 'link');
    return thanks(ctx, reply, m, label);
  });

  app.post<{ Params: { token: string } }>('/r/:token', async (request, reply) => {
    const found = await resolve(request.params.token);
    if (!found) {
      metrics.rejected.inc({ route: 'reason' });
      return sendInvalid(reply, 404);
    }
    const { m, index } = found;
    metrics.events.inc({ type: 'reason', verdict: 'human' });
    await tracker.answer(m, index, request.headers['user-agent'], 'confirm');
    return thanks(ctx, reply, m, reasonLabelsFor(m.locale)[CHURN_REASONS[index]!] ?? CHURN_REASONS[index]!);
  });
};
