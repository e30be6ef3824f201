/**
 * The win-back sequence language as a zod schema: the one source for validation, the TypeScript
 * types and the JSON Schema that editors use (`comeback schema`). Rules that span several keys
 * (unique step ids, a template for every customer, expressions) live in `semantics.ts`.
 */
import { z } from 'zod';
import { CONSENT_BASES } from '../consent/types.js';
import { CHURN_REASONS } from '../shop/types.js';
import { boundedText as text, COUNT, TEXT, tooLong } from '../util/limits.js';
import { isDuration } from './duration.js';

const ID = /^[a-z0-9][a-z0-9_-]*$/;
const idMessage = 'use lower-case letters, digits, - and _ (e.g. "miss-you")';
const id = () => text(TEXT.id).regex(ID, idMessage);

/** `5d`, `36h`, `30m`, `2w`. */
export const Duration = z
  .string({ error: 'expected a duration like 5d or 36h' })
  .refine(isDuration, { message: 'expected a duration like 5d or 36h' })
  .describe('a duration: a number and a unit, m (minutes), h (hours), d (days) or w (weeks), e.g. 5d, 36h');

/** A text, or one text per locale (`{ de: ..., en: ... }`). */
export const LocalizedText = z
  .union([
    text(TEXT.label).min(1),
    z.record(
      z.string().regex(/^[a-z]{2}(-[A-Za-z0-9]+)*$/, 'expected a language like en or de-AT'),
      text(TEXT.label).min(1),
    ),
  ])
  .describe('a text with {{variables}}, or one text per language: { en: ..., de: ... }');
export type LocalizedText = z.infer<typeof LocalizedText>;

/** A condition over customer fields and engagement facts, e.g. `clicked` or `orders_count >= 3 and not opened`. */
export const Condition = z
  .string({
    error: 'expected a condition like clicked or "orders_count >= 2" (in quotes when it contains special characters)',
  })
  .min(1)
  .max(TEXT.description, tooLong(TEXT.description))
  .describe(
    'a condition over customer fields and engagement facts (opened, clicked, purchased, survey_answered, churn_reason_known), e.g. "clicked" or "total_spent > 200 and not opened"',
  );
export type Condition = z.infer<typeof Condition>;

/** A personal coupon: percent or fixed amount (minor units), valid for a duration from sending. */
export const Coupon = z
  .strictObject({
    percent: z.number().min(1).max(100).optional().describe('percent off, 1..100'),
    amount: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('amount off in minor units of the shop currency (500 = 5.00)'),
    valid: Duration.describe('how long the code is valid after sending, e.g. 14d'),
  })
  .describe('a personal, single-use coupon code issued when the mail is sent');
export type Coupon = z.infer<typeof Coupon>;

const mailFields = {
  template: text(TEXT.id)
    .min(1)
    .optional()
    .describe('template name under templates/, without language and .mjml, e.g. winback/offer'),
  subject: LocalizedText.optional(),
  preheader: LocalizedText.optional(),
  coupon: Coupon.optional(),
};

/** What a step (or a branch case, or a variant) sends. */
export const MailAction = z.strictObject(mailFields);
export type MailAction = z.infer<typeof MailAction>;

/** An A/B(/n) alternative of a step: overrides template, subject, preheader or coupon. */
export const Variant = z.strictObject({ id: id().describe('variant id, unique in the step'), ...mailFields });
export type Variant = z.infer<typeof Variant>;

/** One case of a fact-based branch: the first case whose condition holds is taken. */
export const WhenCase = z.strictObject({ if: Condition, ...mailFields });
export type WhenCase = z.infer<typeof WhenCase>;

/** A branch: on the churn reason (one case per reason) or on facts (the first `when` that holds). */
export const Branch = z
  .strictObject({
    on: z.enum(['churn_reason']).optional().describe('branch on the churn reason: give cases per reason'),
    cases: z
      .partialRecord(z.enum(CHURN_REASONS), MailAction)
      .optional()
      .describe(`one case per churn reason: ${CHURN_REASONS.join(', ')}`),
    when: z
      .array(WhenCase)
      .min(1)
      .max(COUNT.variants, `more than ${COUNT.variants} cases`)
      .optional()
      .describe('ordered cases with a condition each; the first that holds is taken'),
    default: MailAction.optional().describe('what customers get when no case applies (also an unknown churn reason)'),
  })
  .describe('send something different depending on the churn reason or on facts');
export type Branch = z.infer<typeof Branch>;

const stepFields = {
  id: id().describe('step id, unique in the sequence (cohort steps included); messages and statistics are keyed by it'),
  wait: Duration.default('0d').describe(
    'time after the previous step (after enrolment for the first step), e.g. 5d or 36h',
  ),
  unless: Condition.optional().describe('skip the step when this holds, e.g. clicked'),
  only_if: Condition.optional().describe('send the step only when this holds, e.g. "not opened"'),
  ...mailFields,
  branch: Branch.optional(),
  variants: z
    .array(Variant)
    .min(1)
    .max(COUNT.variants, `more than ${COUNT.variants} variants`)
    .optional()
    .describe('alternatives tested against the step itself; better ones get more traffic'),
};

/** A mail on a cohort's path (a cohort's steps do not split again). */
export const CohortStep = z.strictObject(stepFields);
export type CohortStep = z.infer<typeof CohortStep>;

/** One random cohort of a path experiment: its share of entrants and its own steps to the end. */
export const Cohort = z.strictObject({
  id: id().describe('cohort id, unique in the split; the report compares cohorts by it'),
  share: z
    .union([
      z.number().gt(0).max(1),
      z
        .string()
        .regex(/^\d+(\.\d+)?%$/, 'expected a share like 50%')
        .transform((v) => Number(v.slice(0, -1)) / 100)
        .refine((n) => n > 0 && n <= 1, 'a share is above 0% and at most 100%'),
    ])
    .optional()
    .describe('share of entrants in this cohort, e.g. 50% (give all or none; none: equal shares)'),
  steps: z
    .array(CohortStep)
    .min(1)
    .max(COUNT.steps, `more than ${COUNT.steps} steps`)
    .describe("the cohort's own steps, to the end of the sequence"),
});
export type Cohort = z.infer<typeof Cohort>;

/** A path experiment: entrants are drawn at random into cohorts, each running its own steps to the end. */
export const Split = z
  .strictObject({
    cohorts: z
      .array(Cohort)
      .min(2, 'a split needs at least 2 cohorts')
      .max(COUNT.variants, `more than ${COUNT.variants} cohorts`),
    allocation: z
      .enum(['fixed', 'adaptive'])
      .optional()
      .describe(
        'fixed: cohorts keep their shares; adaptive: the optimiser shifts entrants to the cohort that does best ' +
          "on the sequence's `optimize` metric once enough enrolments have matured (default: fixed when shares " +
          'are given, else adaptive)',
      ),
    adapt_after: z
      .number()
      .int('expected a whole number')
      .min(10, 'adapt after at least 10 matured enrolments per cohort')
      .max(1_000_000, 'at most 1000000')
      .default(100)
      .describe(
        'adaptive: matured enrolments (path and goal window over) each cohort needs before shares move (default 100)',
      ),
  })
  .describe(
    'split entrants into random cohorts that differ in waits, number of steps, template or offer; the last step of the list',
  );
export type Split = z.infer<typeof Split>;

/** One mail of the sequence, or (with `split`) the point where random cohorts take their own paths. */
export const Step = z.strictObject({
  ...stepFields,
  split: Split.optional(),
});
export type Step = z.infer<typeof Step>;

/** Who enters: by dormancy and model thresholds and a filter, or by an event (`trigger`). */
export const Audience = z
  .strictObject({
    trigger: text(TEXT.id)
      .regex(/^[a-z][a-z0-9_]*$/, 'use a lower-case event name like subscription_cancelled')
      .optional()
      .describe(
        'started by engine.trigger(sequence, customer) from the shop, e.g. on subscription_cancelled; no other rule applies',
      ),
    dormant: z
      .strictObject({
        overdue_factor: z
          .number()
          .positive()
          .optional()
          .describe("days since the last order > this × the customer's usual interval (needs 2 orders)"),
        min_days: z.number().int().min(0).optional().describe('at least this many days since the last order'),
        max_days: z
          .number()
          .int()
          .positive()
          .optional()
          .describe('at most this many days since the last order (do not wait too long)'),
      })
      .optional()
      .describe('lapsed by their own purchase rhythm'),
    min_orders: z.number().int().min(1).optional().describe('at least this many orders'),
    p_alive_below: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe('purchase model: probability of still being active below this (needs comeback score)'),
    min_expected_value: z
      .number()
      .min(0)
      .optional()
      .describe('purchase model: expected future value at least this, in the shop currency (needs comeback score)'),
    where: Condition.optional().describe(
      'a filter over customer fields, e.g. "orders_count >= 2 and discount_share < 0.6 and late_payments == 0"',
    ),
  })
  .describe('who enters the sequence');
export type Audience = z.infer<typeof Audience>;

/** SMART success, decided up front: reaching it ends the enrolment as a success. */
export const Goal = z
  .strictObject({
    purchase: z
      .strictObject({
        within: Duration.describe('the purchase counts within this time after enrolment, e.g. 30d'),
        min_amount_ratio: z
          .number()
          .positive()
          .optional()
          .describe('at least this share of the former average order, e.g. 0.5'),
        new_category: z
          .boolean()
          .optional()
          .describe('only a purchase in a category the customer never bought before counts'),
      })
      .optional(),
    survey_answered: z.boolean().optional().describe('answering the reason survey reaches the goal'),
  })
  .describe('what success means for this sequence');
export type Goal = z.infer<typeof Goal>;

const Percent = z
  .union([
    z.number().min(0).max(0.5),
    z
      .string()
      .regex(/^\d+(\.\d+)?%$/, 'expected a share like 10%')
      .transform((s) => Number(s.slice(0, -1)) / 100)
      .refine((n) => n <= 0.5, 'a holdout above 50% leaves too few mailed customers'),
  ])
  .describe('a share like 10% (or 0.1) of entrants that is never mailed: the baseline for uplift');

/** Weekdays of a send window. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** When mails may go out, in the customer's (or a fixed) time zone. Outside it, mails wait. */
export const SendWindow = z
  .strictObject({
    days: z.array(z.enum(WEEKDAYS)).min(1).optional().describe('weekdays, e.g. [tue, wed, thu]'),
    hours: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, 'expected hours like "09:00-18:00"')
      .optional()
      .describe('local hours, e.g. "09:00-18:00"'),
    timezone: text(TEXT.timeZone)
      .default('customer')
      .describe('"customer" (their own time zone) or an IANA zone like Europe/Berlin'),
  })
  .describe('mails wait for the window; they are never dropped');
export type SendWindow = z.infer<typeof SendWindow>;

/** Reasons an enrolment ends early. */
export const EXIT_REASONS = [
  'purchased',
  'unsubscribed',
  'complained',
  'hard_bounced',
  'clicked',
  'survey_answered',
] as const;

/** A win-back sequence as marketers write it in YAML. */
export const Sequence = z.strictObject({
  id: id().describe('sequence id, unique across files'),
  name: text(TEXT.label).min(1).describe('a readable name'),
  description: text(TEXT.description).optional(),
  version: z
    .number()
    .int()
    .positive()
    .default(1)
    .describe('raise it on every change: running enrolments finish on the version they started with'),
  audience: Audience,
  consent: z
    .array(z.enum(CONSENT_BASES))
    .min(1)
    .describe(`legal bases accepted for this sequence: ${CONSENT_BASES.join(', ')}`),
  own_similar_goods: z
    .boolean()
    .default(false)
    .describe("the mails advertise the shop's own similar goods (§7(3) UWG; needed for existing_customer)"),
  goal: Goal.optional(),
  exit_on: z
    .array(z.enum(EXIT_REASONS))
    .default(['purchased', 'unsubscribed', 'complained', 'hard_bounced'])
    .describe('events that end an enrolment early'),
  holdout: Percent.default(0),
  optimize: z
    .enum(['conversion', 'net_revenue'])
    .optional()
    .describe(
      'what the variant test optimises: conversion (default) or net_revenue (order value minus discount per send, so a discount that only gives margin away loses)',
    ),
  send_window: SendWindow.optional(),
  frequency_cap: z
    .strictObject({
      max: z.number().int().positive().describe('mails at most'),
      per: Duration.describe('per this time, e.g. 7d'),
    })
    .optional()
    .describe('across all sequences: a mail over the cap waits; it is never dropped'),
  salutation: z.enum(['formal', 'informal']).optional().describe('Sie/du style of the greeting (default by language)'),
  topic: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'a topic name: lower-case letters, digits, - and _')
    .optional()
    .describe(
      'the topic (family) of the sequence, one the config declares in `topics`; a customer can opt out of a topic on the preference page',
    ),
  steps: z.array(Step).min(1).max(COUNT.steps, `more than ${COUNT.steps} steps`).describe('the mails, in order'),
  on_success: z
    .strictObject({
      tag: text(TEXT.tag).min(1).optional().describe('tag given to the customer (default returning)'),
      start: id().optional().describe('a trigger-based sequence to start, e.g. welcome-back'),
    })
    .optional()
    .describe('what happens when the goal is reached'),
});
export type Sequence = z.infer<typeof Sequence>;
