import type { EngineContext } from '../engine/context.js';
import { personalization, type CouponData } from '../engine/personalize.js';
import { renderBody } from '../templates/render.js';

/** A web view: the message's HTML as the recipient saw it, or why it is not available. */
export type WebView = { html: string; subject: string } | { gone: true } | undefined;

/**
 * Renders the web view of a sent message again instead of storing every message's HTML.
 *
 * Storing ~25 KB of HTML per message costs tens of GB for a shop with a million customers and a
 * few mails each; re-rendering costs one personalisation query and a Handlebars render (well under
 * a millisecond of CPU), and only for the few recipients who open the web view. What keeps the
 * re-render faithful to the sent mail:
 * - the same template name (stored with the message) in the recipient's locale;
 * - the stored subject; the message's own coupon (looked up, never issued anew);
 * - the time of sending as "now", so "days since your last order" reads as it did;
 * - every link mapped to the index stored with the message, so clicks in the web view are
 *   tracked against the same targets (a link the re-render produces that the message did not
 *   carry is linked directly, untracked).
 * What can differ: a template edited since, and purchase data that changed since (an order placed
 * after the mail appears as the last order). Erased customers get `{ gone: true }`.
 */
export async function renderWebView(ctx: EngineContext, messageId: number): Promise<WebView> {
  const m = await ctx.k.selectFrom('messages').selectAll().where('id', '=', messageId).executeTakeFirst();
  if (!m || m.sent_at === null) return undefined;
  const customer = await ctx.k.selectFrom('customers').selectAll().where('id', '=', m.customer_id).executeTakeFirst();
  if (!customer || customer.erased_at !== null || !customer.email) return { gone: true };
  const enrollment = await ctx.k
    .selectFrom('enrollments')
    .select(['sequence_id', 'sequence_version'])
    .where('id', '=', m.enrollment_id)
    .executeTakeFirst();
  let salutation: unknown;
  if (enrollment) {
    try {
      salutation = (
        (await ctx.sequences.version(enrollment.sequence_id, enrollment.sequence_version)) as { salutation?: unknown }
      ).salutation;
    } catch {
      salutation = undefined; // the sequence is gone; fall back to the language's default style
    }
  }
  const style =
    salutation === 'formal' || salutation === 'informal'
      ? salutation
      : customer.locale.startsWith('de')
        ? 'formal'
        : 'informal';
  const row = await ctx.k.selectFrom('coupons').selectAll().where('message_id', '=', m.id).executeTakeFirst();
  const coupon: CouponData | null = row
    ? { code: row.code, percent: row.percent, amount: row.amount_minor, expires_at: row.expires_at }
    : null;
  const template = await ctx.templates.get(m.template, customer.locale);
  const data = await personalization(ctx.k, ctx.config, ctx.urls, customer, m.id, m.sent_at, {
    coupon,
    style,
    locale: template.locale,
    message: { sequence: m.sequence_id, step: m.step_id, variant: m.variant_id, template: m.template },
    uses: template.uses,
  });
  data.preheader = '';
  let stored: string[];
  try {
    stored = JSON.parse(m.links) as string[];
  } catch {
    stored = [];
  }
  const index = new Map(stored.map((target, i) => [target, i]));
  const body = renderBody(template, data, (target) => {
    const i = index.get(target);
    return i === undefined ? target : ctx.urls.click(m.id, i);
  });
  return { html: body.html, subject: m.subject ?? '' };
}
