import { randomBytes } from 'node:crypto';
import { canSend } from '../consent/policy.js';
import { preferenceGate } from '../consent/preferences.js';
import type { Message } from '../db/schema.js';
import type { OutgoingMail } from '../delivery/types.js';
import { TemplateError, TemplateUnusableError } from '../errors.js';
import { parseDuration } from '../sequences/duration.js';
import { resolveMail } from '../sequences/machine.js';
import { findStep } from '../sequences/paths.js';
import type { LocalizedText } from '../sequences/schema.js';
import { renderBody, renderHeaderText } from '../templates/render.js';
import type { EngineContext } from './context.js';
import { personalization, type CouponData } from './personalize.js';
import { deliver, handleFailure, sendState, transportPausedUntil, type SendOutcome } from './deliver.js';
import { record, type ShownMail } from './ledger.js';
import { claimWithInputs, loadSendInputs, type SendInputs } from './send-inputs.js';
import { senderHeader } from '../delivery/headers.js';
import { messageIdOf } from '../delivery/mime.js';
import { tooLarge } from '../util/limits.js';

export type { SendOutcome } from './deliver.js';
export { claim } from './ledger.js';

function pick(text: LocalizedText | undefined, locale: string, fallback: string): string | undefined {
  if (text === undefined || typeof text === 'string') return text;
  return text[locale] ?? text[locale.split('-')[0]!] ?? text[fallback] ?? Object.values(text)[0];
}

/**
 * The job handler of every backend: claims the message (unless the sender is paused) and sends
 * it. `lost_claim` when it is not claimable (sent already, claimed elsewhere, or not yet due).
 */
export async function sendOne(ctx: EngineContext, id: number): Promise<SendOutcome> {
  const outcome = await claimAndSend(ctx, id);
  sendState(ctx).counts[outcome]++;
  return outcome;
}

async function claimAndSend(ctx: EngineContext, id: number): Promise<SendOutcome> {
  if (await transportPausedUntil(ctx)) {
    await ctx.k.updateTable('messages').set({ dispatched_at: null }).where('id', '=', id).execute();
    return 'paused';
  }
  // Claimed and read together with the messages of the other jobs in flight (send-inputs.ts).
  const inputs = await claimWithInputs(ctx, id);
  if (!inputs) return 'lost_claim';
  return sendWithInputs(ctx, inputs);
}

/**
 * Sends one claimed message: re-checks consent and suppression now (an opt-out that arrived
 * after reservation wins), renders, sends, and records the outcome. Transient failures go back to
 * `reserved` with exponential backoff and jitter; permanent ones end as `failed` with the reason.
 */
export async function sendClaimed(ctx: EngineContext, m: Message): Promise<SendOutcome> {
  return sendWithInputs(ctx, (await loadSendInputs(ctx, [m])).get(m.id)!);
}

async function sendWithInputs(ctx: EngineContext, inputs: SendInputs): Promise<SendOutcome> {
  const { message: m, customer, enrollment } = inputs;
  const now = ctx.clock.now();
  const seq = await ctx.sequences.version(enrollment.sequence_id, enrollment.sequence_version);
  const suppressed = inputs.suppressedScopes.has('all') || inputs.suppressedScopes.has(seq.id);
  const decision = canSend(customer, inputs.consent, suppressed, { consent: seq.consent, ownSimilarGoods: seq.own_similar_goods });
  if (!decision.allowed || enrollment.status !== 'active' && enrollment.status !== 'completed') {
    const reason = decision.allowed ? `enrolment ${enrollment.status}` : decision.reason;
    await record(ctx, m, { status: 'cancelled', error: reason });
    return 'cancelled';
  }
  // The customer's choices, checked again now: a topic left cancels, a snooze makes the mail wait.
  const gate = preferenceGate(inputs.preferences, now, [], seq.topic);
  if (gate.kind === 'block') {
    await record(ctx, m, { status: 'cancelled', error: `preference: ${gate.reason}` });
    return 'cancelled';
  }
  if (gate.kind === 'defer') {
    await record(ctx, m, { status: 'reserved', error: 'snoozed by the customer', due_at: gate.until });
    return 'paused';
  }
  const step = findStep(seq, m.step_id)!;
  const chosenCase = (JSON.parse(enrollment.variant_choices || '{}') as Record<string, { case?: string | null }>)[step.id]?.case;
  const mail = resolveMail(step, { ...emptyFacts, churnReason: customer.churn_reason }, m.variant_id, chosenCase);
  let outgoing: OutgoingMail;
  let shown: ShownMail;
  try {
    const template = await ctx.templates.get(m.template, customer.locale);
    const coupon = mail.coupon ? await issueCoupon(ctx, m, mail.coupon, now, customer) : null;
    const data = await personalization(ctx.k, ctx.config, ctx.urls, customer, m.id, now, {
      coupon,
      style: seq.salutation ?? (customer.locale.startsWith('de') ? 'formal' : 'informal'),
      locale: template.locale,
      message: { sequence: seq.id, step: step.id, variant: m.variant_id, template: m.template },
      uses: template.uses,
      orders: inputs.orders,
    });
    const subjectTemplate = pick(mail.subject, template.locale, ctx.config.defaults.locale);
    if (!subjectTemplate) throw new TemplateUnusableError(`step "${step.id}" of ${seq.id} has no subject for locale ${template.locale}`);
    const subject = renderHeaderText(ctx.templates.hb, subjectTemplate, data);
    const preheaderTemplate = pick(mail.preheader, template.locale, ctx.config.defaults.locale);
    data.preheader = preheaderTemplate ? renderHeaderText(ctx.templates.hb, preheaderTemplate, data) : '';
    const body = renderBody(template, data, (_target, i) => ctx.urls.click(m.id, i), ctx.urls.open(m.id));
    const size = Buffer.byteLength(subject) + Buffer.byteLength(body.html) + Buffer.byteLength(body.text);
    const max = ctx.config.sender.maxMessageBytes;
    if (size > max) throw new TemplateError(`template ${m.template}: the mail is ${tooLarge(size, max)} (sender.maxMessageBytes)`);
    const unsubscribe = data.unsubscribe_url as string;
    const mailto = ctx.config.sender.unsubscribeMailto ?? ctx.config.sender.from;
    outgoing = {
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
    shown = { subject, links: JSON.stringify(body.links), ...(ctx.transport.providerMessageId ? {} : { messageIdHeader: messageIdOf(outgoing) }) };
  } catch (err) {
    return handleFailure(ctx, m, customer.email_hash, err);
  }
  // Outside the try above: deliver() records its own failures; an error it lets through happened
  // after the provider took the mail and must not be treated as a failed send.
  return deliver(ctx, m, outgoing, shown, customer.email_hash);
}

const emptyFacts = { opened: false, clicked: false, purchased: false, surveyAnswered: false, unsubscribed: false, complained: false, hardBounced: false, churnReason: null };

/**
 * Creates the personal coupon of a message (idempotent per message). With a connected shop the
 * code is created there too, before the mail is rendered: a retry or a restart after a crash
 * finds the stored code and asks the shop for it by code, so the shop never gets two codes and
 * no mail carries a code the shop does not have. A shop that cannot be reached makes the mail wait.
 */
async function issueCoupon(ctx: EngineContext, m: Message, spec: { percent?: number; amount?: number; valid: string }, now: number, customer: { email: string | null; external_id: string }): Promise<CouponData> {
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
    await ctx.k.updateTable('coupons').set({ shop_ref: ref, shop_created_at: ctx.clock.now() }).where('id', '=', row.id).execute();
  }
  return { code: row.code, percent: row.percent, amount: row.amount_minor, expires_at: row.expires_at };
}
