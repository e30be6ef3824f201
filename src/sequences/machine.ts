import { parseDuration } from './duration.js';
import { evaluate, type ExpressionData } from './expressions.js';
import type { CustomerValues } from './fields.js';
import { firstIndex, nextIndex, stepAt } from './paths.js';
import type { Coupon, LocalizedText, MailAction, Sequence, Step } from './schema.js';

/** What the machine knows about an enrolment. */
export interface EnrollmentState {
  id: number;
  /** Flat index over every step of every path (see `paths.ts`). */
  currentStep: number;
  /** The path cohort drawn at enrolment, when a step splits into cohorts. */
  cohort?: string | null;
}

/** Facts about the customer's behaviour since enrolment (human events only) and their data. */
export interface Facts {
  opened: boolean;
  clicked: boolean;
  purchased: boolean;
  surveyAnswered: boolean;
  unsubscribed: boolean;
  complained: boolean;
  hardBounced: boolean;
  churnReason: string | null;
  /** The documented customer fields (for conditions and branches); absent fields never match. */
  customer?: Partial<CustomerValues>;
}

/** The mail a step resolves to after branch and variant choice. */
export interface ResolvedMail {
  template: string;
  subject?: LocalizedText;
  preheader?: LocalizedText;
  coupon?: Coupon;
  /** `null` is the step's own (control) version. */
  variantId: string | null;
  /** The branch case taken: a churn reason, `when:N`, `default`; null without a branch. */
  branchCase: string | null;
}

/** Where the enrolment goes after this step: the next step and when it is due, or the end. */
export type Next = { stepIndex: number; dueAt: number } | null;

/** The machine's decision for the current step. */
export type Decision =
  | { kind: 'send'; stepIndex: number; step: Step; mail: ResolvedMail; next: Next }
  | { kind: 'skip'; stepIndex: number; step: Step; reason: string; next: Next }
  | { kind: 'exit'; reason: string; goal?: boolean }
  | { kind: 'complete' };

/**
 * Picks a variant: `u` in [0,1) is a deterministic draw per (enrolment, step) so that
 * the worker and `simulate` make the same choice. `weights` (by variant id, `null` key as
 * "control") come from the optimiser; without them every version gets an equal share.
 */
export function pickVariant(step: Step, u: number, weights?: Map<string | null, number>): string | null {
  const options: (string | null)[] = [null, ...(step.variants ?? []).map((v) => v.id)];
  if (options.length === 1) return null;
  // An option the optimiser has no share for (e.g. a variant of an older version) gets the mean share.
  const fallback = weights?.size ? [...weights.values()].reduce((a, b) => a + b, 0) / weights.size : 1;
  const w = options.map((o) => Math.max(0, weights?.get(o) ?? fallback));
  const total = w.reduce((a, b) => a + b, 0) || options.length;
  let acc = 0;
  for (let i = 0; i < options.length; i++) {
    acc += (w[i] ?? 1) / total;
    if (u < acc) return options[i]!;
  }
  return options[options.length - 1]!;
}

/** The data conditions are evaluated on: customer fields plus engagement since enrolment. */
export function conditionData(facts: Facts): ExpressionData {
  return {
    ...facts.customer,
    churn_reason: facts.churnReason ?? 'unknown',
    opened: facts.opened,
    clicked: facts.clicked,
    purchased: facts.purchased,
    survey_answered: facts.surveyAnswered,
    churn_reason_known: facts.churnReason !== null,
  };
}

/** The branch case for these facts: a churn reason, `when:N`, `default`, or null (none applies). */
export function chooseCase(step: Step, facts: Facts): string | null {
  const b = step.branch;
  if (!b) return null;
  if (b.cases) {
    const reason = facts.churnReason;
    if (reason && reason in b.cases) return reason;
  } else if (b.when) {
    const data = conditionData(facts);
    const i = b.when.findIndex((w) => evaluate(w.if, data));
    if (i >= 0) return `when:${i}`;
  }
  return b.default ? 'default' : null;
}

function caseAction(step: Step, key: string | null): MailAction | undefined {
  const b = step.branch;
  if (!b || key === null) return undefined;
  if (key === 'default') return b.default;
  if (key.startsWith('when:')) {
    const c = b.when?.[Number(key.slice(5))];
    return c && { template: c.template, subject: c.subject, preheader: c.preheader, coupon: c.coupon };
  }
  return b.cases?.[key as keyof typeof b.cases];
}

/**
 * The template, subject and coupon a step sends for these facts and this variant. `chosenCase`
 * is the branch case recorded when the message was reserved: the sender uses it so that a fact
 * changing between reservation and sending cannot change the mail.
 */
export function resolveMail(
  step: Step,
  facts: Facts,
  variantId: string | null,
  chosenCase?: string | null,
): ResolvedMail {
  let action: MailAction = {
    template: step.template,
    subject: step.subject,
    preheader: step.preheader,
    coupon: step.coupon,
  };
  const branchCase = chosenCase !== undefined ? chosenCase : chooseCase(step, facts);
  const chosen = caseAction(step, branchCase);
  if (chosen) action = { ...action, ...stripUndefined(chosen) };
  const variant = variantId ? step.variants?.find((v) => v.id === variantId) : undefined;
  if (variant)
    action = {
      ...action,
      ...stripUndefined({
        template: variant.template,
        subject: variant.subject,
        preheader: variant.preheader,
        coupon: variant.coupon,
      }),
    };
  if (!action.template) throw new Error(`step "${step.id}" resolves to no template`);
  return {
    template: action.template,
    subject: action.subject,
    preheader: action.preheader,
    coupon: action.coupon,
    variantId: variant ? variant.id : null,
    branchCase,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const EXIT_FACT: Record<Sequence['exit_on'][number], keyof Facts> = {
  purchased: 'purchased',
  unsubscribed: 'unsubscribed',
  complained: 'complained',
  hard_bounced: 'hardBounced',
  clicked: 'clicked',
  survey_answered: 'surveyAnswered',
};

/**
 * The pure step machine: given a sequence, an enrolment, the facts and the time, what happens now.
 * No I/O, no clock: the worker and `simulate` both call it and therefore agree.
 */
export function decide(
  sequence: Sequence,
  state: EnrollmentState,
  facts: Facts,
  now: number,
  variantDraw: number,
  weights?: Map<string | null, number>,
): Decision {
  for (const exit of sequence.exit_on) {
    if (facts[EXIT_FACT[exit]]) return { kind: 'exit', reason: exit };
  }
  // A survey goal is reached by the answer itself; a purchase goal by attribution of the order.
  if (sequence.goal?.survey_answered && facts.surveyAnswered)
    return { kind: 'exit', reason: 'survey_answered', goal: true };
  const step = stepAt(sequence, state.currentStep);
  if (!step) return { kind: 'complete' };
  // The next step on this enrolment's path: after the split, its cohort's own steps.
  const after = nextIndex(sequence, state.currentStep, state.cohort);
  const next: Next =
    after !== null ? { stepIndex: after, dueAt: now + parseDuration(stepAt(sequence, after)!.wait) } : null;
  if (step.unless || step.only_if) {
    const data = conditionData(facts);
    if (step.unless && evaluate(step.unless, data))
      return { kind: 'skip', stepIndex: state.currentStep, step, reason: `unless ${step.unless}`, next };
    if (step.only_if && !evaluate(step.only_if, data))
      return { kind: 'skip', stepIndex: state.currentStep, step, reason: `only_if ${step.only_if}`, next };
  }
  const variantId = pickVariant(step, variantDraw, weights);
  return { kind: 'send', stepIndex: state.currentStep, step, mail: resolveMail(step, facts, variantId), next };
}

/** When the first step of a new enrolment (in `cohort`, when the sequence starts with a split) is due. */
export function firstDueAt(sequence: Sequence, enrolledAt: number, cohort?: string | null): number {
  return enrolledAt + parseDuration(stepAt(sequence, firstIndex(sequence, cohort))!.wait);
}

/** Facts with nothing happened yet. */
export const NO_FACTS: Facts = {
  opened: false,
  clicked: false,
  purchased: false,
  surveyAnswered: false,
  unsubscribed: false,
  complained: false,
  hardBounced: false,
  churnReason: null,
};
