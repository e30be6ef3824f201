/**
 * Composes one claimed mail: the step's content (variant, case), the template, the personal
 * coupon, the personalisation, the rendered subject and body, the headers and the Message-ID.
 * Everything a mail is made of is decided here, once; delivery only hands it over.
 */
import { randomBytes } from 'node:crypto';
import type { Message } from '../db/schema.js';
import { senderHeader } from '../delivery/headers.js';
import { messageIdOf } from '../delivery/mime.js';
import type { OutgoingMail } from '../delivery/types.js';
import { TemplateError, TemplateUnusableError } from '../errors.js';
import { parseDuration } from '../sequences/duration.js';
import { resolveMail } from '../sequences/machine.js';
import { findStep } from '../sequences/paths.js';
import type { LocalizedText, Sequence } from '../sequences/schema.js';
import { renderBody, renderHeaderText } from '../templates/render.js';
import { tooLarge } from '../util/limits.js';
import type { EngineContext } from './context.js';
import type { ShownMail } from './ledger.js';
import { personalization, type CouponData } from './personalize.js';
import type { SendInputs } from './send-inputs.js';

/** A mail ready to hand over, and what it shows its recipient (stored with `sending`). */
export interface ComposedMail {
  mail: OutgoingMail;
  shown: ShownMail;
}

function pick(text: LocalizedText | undefined, locale: string, fallback: string): string | undefined {
  if (text === undefined || typeof text === 'string') return text;
  return text[locale] ?? text[locale.split('-')[0]!] ?? text[fallback] ?? Object.values(text)[0];
}

const emptyFacts = {
  opened: false,
  clicked: false,
  purchased: false,
  surveyAnswered: false,
  unsubscribed: false,
  complained: false,
  hardBounced: false,
  churnReason: null,
};

/**
 * Builds the mail of a claimed message. Throws `TemplateError` (this mail cannot be made),
 * `TemplateUnusableError` (no mail of the template can) or `ShopUnreachableError` (the coupon's
 * shop is down); the caller records them.
 */
export async function composeMail(ctx: EngineContext, seq: Sequence, inputs: SendInputs): Promise<ComposedMail> {
  const { message: m, customer, enrollment } = inputs;
  const now = ctx.clock.now();
  const step = findStep(seq, m.step_id)!;
  const chosenCase = (JSON.parse(enrollment.variant_choices || '{}') as Record<string, { case?: string | null }>)[
    step.id
  ]?.case;
  const content = resolveMail(step, { ...emptyFacts, churnReason: customer.churn_reason }, m.variant_id, chosenCase);
  const template = await ctx.templates.get(m.template, customer.locale);
  const coupon = content.coupon ? await issueCoupon(ctx, m, content.coupon, now, customer) : null;
  const data = await personalization(ctx.k, ctx.config, ctx.urls, customer, m.id, now, {
    coupon,
    style: seq.salutation ?? (customer.locale.startsWith('de') ? 'formal' : 'informal'),
    locale: template.locale,
    message: { sequence: seq.id, step: step.id, variant: m.variant_id, template: m.template },
    uses: template.uses,
    orders: inputs.orders,
  });
  const subjectTemplate = pick(content.subject, template.locale, ctx.config.defaults.locale);
  if (!subjectTemplate)
    throw new TemplateUnusableError(`step "${step.id}" of ${seq.id} has no subject for locale ${template.locale}`);
  const subject = renderHeaderText(ctx.templates.hb, subjectTemplate, data);
  const preheaderTemplate = pick(content.preheader, template.locale, ctx.config.defaults.locale);
  data.preheader = preheaderTemplate ? renderHeaderText(ctx.templates.hb, preheaderTemplate, data) : '';
  const body = renderBody(template, data, (_target, i) => ctx.urls.click(m.id, i), ctx.urls.open(m.id));
  const size = Buffer.byteLength(subject) + Buffer.byteLength(body.html) + Buffer.byteLength(body.text);
  const max = ctx.config.sender.maxMessageBytes;
  if (size > max)
    throw new TemplateError(`template ${m.template}: the mail is ${tooLarge(size, max)} (sender.maxMessageBytes)`);
  const unsubscribe = data.unsubscribe_url as string;
  const mailto = ctx.config.sender.unsubscribeMailto ?? ctx.config.sender.from;
  const mail: OutgoingMail = {
    messageId: m.id,
    from: senderHeader(ctx.config.sender),
    to: customer.email!,
    replyTo: ctx.config.sender.replyTo,
    returnPath: ctx.config.sender.returnPath,
    subject,
    date: new Date(now),
    html: body.html,
    text: body.text,
    headers: {
      'List-Unsubscribe': `<${unsubscribe}>, <mailto:${mailto}?subject=unsubscribe-${m.id}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'X-Comeback-Message': String(m.id),
    },
  };
  const header = ctx.transport.providerMessageId ? {} : { messageIdHeader: messageIdOf(mail) };
  return { mail, shown: { subject, links: JSON.stringify(body.links), ...header } };
}

/**
 * Creates the personal coupon of a message (idempotent per message). With a connected shop the
 * code is created there too, before the mail is rendered: a retry or a restart after a crash
 * finds the stored code and asks the shop for it by code, so the shop never gets two codes and
 * no mail carries a code the shop does not have. A shop that cannot be reached makes the mail wait.
 */
async function issueCoupon(
  ctx: EngineContext,
  m: Message,
  spec: { percent?: number; amount?: number; valid: string },
  now: number,
  customer: { email: string | null; external_id: string },
): Promise<CouponData> {
  const existing = await ctx.k.selectFrom('coupons').selectAll().where('message_id', '=', m.id).executeTakeFirst();
  const row =
    existing ??
    (await ctx.k
      .insertInto('coupons')
      .values({
        code: `CB-${randomBytes(5).toString('hex').toUpperCase()}`,
        customer_id: m.customer_id,
        enrollment_id: m.enrollment_id,
        message_id: m.id,
        percent: spec.percent ?? null,
        amount_minor: spec.amount ?? null,
        currency: spec.amount ? ctx.config.defaults.currency : null,
        expires_at: now + parseDuration(spec.valid),
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow());
  if (ctx.shop && row.shop_created_at === null) {
    const ref = await ctx.shop.ensureCoupon({
      code: row.code,
      email: customer.email ?? '',
      customerExternalId: customer.external_id,
      percent: row.percent,
      amountMinor: row.amount_minor,
      currency: row.currency,
      startsAt: row.created_at,
      expiresAt: row.expires_at,
    });
    await ctx.k
      .updateTable('coupons')
      .set({ shop_ref: ref, shop_created_at: ctx.clock.now() })
      .where('id', '=', row.id)
      .execute();
  }
  return { code: row.code, percent: row.percent, amount: row.amount_minor, expires_at: row.expires_at };
}
