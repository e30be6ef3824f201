/**
 * The preview of a step for one customer, as `comeback preview` prints it and the studio shows it:
 * the production render pipeline, nothing sent or stored.
 */
import { join, relative } from 'node:path';
import { senderHeader } from '../delivery/headers.js';
import { NotFoundError, TemplateError } from '../errors.js';
import { parseDuration } from '../sequences/duration.js';
import { NO_FACTS, resolveMail } from '../sequences/machine.js';
import { findStep, sequencePaths } from '../sequences/paths.js';
import type { LocalizedText, Sequence } from '../sequences/schema.js';
import { renderBody, renderHeaderText } from '../templates/render.js';
import { sampleData } from '../templates/sample.js';
import { closest } from '../util/did-you-mean.js';
import type { Engine } from './engine.js';
import { personalization } from './personalize.js';

/** What `comeback preview` shows: the message exactly as the customer would get it. */
export interface Preview {
  from: string;
  to: string | null;
  subject: string;
  preheader: string;
  template: string;
  locale: string;
  html: string;
  text: string;
  links: string[];
  warnings: string[];
}

/** Options of a preview. */
export interface PreviewOptions {
  /** External or numeric id; without it, a made-up sample customer (templates/sample.ts). */
  customer?: string;
  variant?: string;
  locale?: string;
  /** The definition to render instead of the loaded one (the studio's edited file). */
  definition?: Sequence;
}

/** The sample customer's churn reason, for steps that branch on it. */
const SAMPLE_CHURN_REASON = 'price';

/** Message id used for the links of a preview (no message row exists; the links do not resolve). */
const PREVIEW_MESSAGE_ID = 0;

function pick(text: LocalizedText | undefined, locale: string, fallback: string): string | undefined {
  if (text === undefined || typeof text === 'string') return text;
  return text[locale] ?? text[locale.split('-')[0]!] ?? text[fallback] ?? Object.values(text)[0];
}

/**
 * Renders a step of a sequence for one customer as the sender would: same branch and variant
 * resolution, same personalisation from purchase history, same templates and link rewriting. The
 * coupon is shown with a placeholder code and is not recorded; nothing is sent or stored.
 */
export async function renderPreview(
  engine: Engine,
  sequenceId: string,
  stepId: string,
  o: PreviewOptions,
): Promise<Preview> {
  const ctx = engine.ctx;
  const seq = o.definition ?? ctx.sequences.get(sequenceId);
  const step = findStep(seq, stepId);
  if (!step) {
    const ids = sequencePaths(seq).steps.map((s) => s.id);
    const hint = closest(stepId, ids);
    throw new NotFoundError(
      `step of ${sequenceId}`,
      stepId,
      hint ? `Did you mean "${hint}"?` : `Steps: ${ids.join(', ')}`,
    );
  }
  if (o.variant && !step.variants?.some((v) => v.id === o.variant)) {
    throw new NotFoundError(
      `variant of step ${stepId}`,
      o.variant,
      `Variants: ${(step.variants ?? []).map((v) => v.id).join(', ') || 'none'}`,
    );
  }
  const customer = o.customer === undefined ? null : await engine.customers.get(o.customer);
  if (o.customer !== undefined && !customer)
    throw new NotFoundError(
      'customer',
      o.customer,
      'Give the external id (or the numeric id) of an imported customer, or leave --customer out for a made-up sample customer',
    );
  const mail = resolveMail(
    step,
    { ...NO_FACTS, churnReason: customer ? customer.churn_reason : SAMPLE_CHURN_REASON },
    o.variant ?? null,
  );
  const locale = o.locale ?? customer?.locale ?? ctx.config.defaults.locale;
  const template = await ctx.templates.get(mail.template, locale);
  const now = ctx.clock.now();
  const coupon = mail.coupon
    ? {
        code: 'CB-PREVIEW00',
        percent: mail.coupon.percent ?? null,
        amount: mail.coupon.amount ?? null,
        expires_at: now + parseDuration(mail.coupon.valid),
      }
    : null;
  const style = seq.salutation ?? (locale.startsWith('de') ? 'formal' : 'informal');
  const message = { sequence: seq.id, step: step.id, variant: mail.variantId, template: mail.template };
  const data = customer
    ? await personalization(ctx.k, ctx.config, ctx.urls, { ...customer, locale }, PREVIEW_MESSAGE_ID, now, {
        coupon,
        style,
        locale: template.locale,
        message,
        uses: template.uses,
      })
    : {
        ...sampleData({
          locale: template.locale,
          style,
          now,
          shopUrl: ctx.config.shopUrl,
          publicUrl: ctx.config.publicUrl,
        }),
        coupon,
        message,
        sender: { name: ctx.config.sender.name, postal_address: ctx.config.sender.postalAddress },
      };
  const fallback = ctx.config.defaults.locale;
  const subjectTemplate = pick(mail.subject, template.locale, fallback);
  if (!subjectTemplate)
    throw new TemplateError(`step "${step.id}" of ${seq.id} has no subject for locale ${template.locale}`);
  const subject = renderHeaderText(ctx.templates.hb, subjectTemplate, data);
  const preheaderTemplate = pick(mail.preheader, template.locale, fallback);
  data.preheader = preheaderTemplate ? renderHeaderText(ctx.templates.hb, preheaderTemplate, data) : '';
  const body = renderBody(
    template,
    data,
    (_t, i) => ctx.urls.click(PREVIEW_MESSAGE_ID, i),
    ctx.urls.open(PREVIEW_MESSAGE_ID),
  );
  return {
    from: senderHeader(ctx.config.sender),
    to: customer ? customer.email : `${String(data.email)} (a made-up sample customer; --customer ID shows a real one)`,
    subject,
    preheader: data.preheader as string,
    template: relative(process.cwd(), join(ctx.templates.dir, template.file)),
    locale: template.locale,
    html: body.html,
    text: body.text,
    links: body.links,
    warnings: template.warnings.map((w) => `${w.file}:${w.line}:${w.column} ${w.path}: ${w.message}`),
  };
}
