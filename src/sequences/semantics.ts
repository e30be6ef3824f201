/**
 * Rules that span several keys, checked on the document as written (before or despite schema
 * errors) so that one `comeback validate` run reports every problem: unique ids, a template and a
 * subject for every customer, branch forms, conditions, audience rules that exclude each other.
 */
import { CHURN_REASONS } from '../shop/types.js';
import { closest } from '../util/did-you-mean.js';
import { COUNT } from '../util/limits.js';
import { isTimeZone } from '../util/time.js';
import { checkExpression, type ExpressionScope } from './expressions.js';
import type { PathKey } from './positions.js';

/** A rule broken somewhere in a sequence. */
export interface SemanticProblem {
  path: PathKey[];
  message: string;
  /** Point at the key rather than its value. */
  atKey?: boolean;
  /** Character offset inside a scalar value (expressions). */
  offset?: number;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const AUDIENCE_RULES = ['dormant', 'min_orders', 'p_alive_below', 'min_expected_value', 'where'] as const;
let timeZones: string[] | undefined;

function expression(out: SemanticProblem[], path: PathKey[], value: unknown, scope: ExpressionScope): void {
  const text = str(value);
  if (text === undefined) return;
  for (const p of checkExpression(text, scope).problems) out.push({ path, message: p.message, offset: p.offset });
}

function checkAudience(out: SemanticProblem[], a: Obj): void {
  if (a.trigger !== undefined) {
    for (const rule of AUDIENCE_RULES) {
      if (a[rule] === undefined) continue;
      const why =
        rule === 'where'
          ? 'filter triggered customers with only_if on the steps'
          : 'it starts when the shop calls engine.trigger()';
      out.push({
        path: ['audience', rule],
        message: `"${rule}" does not apply to a trigger-based sequence: ${why}`,
        atKey: true,
      });
    }
    return;
  }
  if (!AUDIENCE_RULES.some((r) => a[r] !== undefined)) {
    out.push({
      path: ['audience'],
      message: `give at least one rule (${AUDIENCE_RULES.join(', ')}) or a trigger: an audience without rules would mail every customer`,
    });
  }
  const d = obj(a.dormant);
  if (d) {
    if (d.overdue_factor === undefined && d.min_days === undefined && d.max_days === undefined) {
      out.push({ path: ['audience', 'dormant'], message: 'give overdue_factor, min_days or max_days' });
    }
    if (typeof d.min_days === 'number' && typeof d.max_days === 'number' && d.max_days < d.min_days) {
      out.push({
        path: ['audience', 'dormant', 'max_days'],
        message: `max_days (${d.max_days}) is below min_days (${d.min_days}): nobody can enter`,
      });
    }
  }
  expression(out, ['audience', 'where'], a.where, 'audience');
}

/** Everything one step can send: the step itself, each branch outcome, each variant. */
interface Outcome {
  path: PathKey[];
  who: string;
  action: Obj;
}

function checkCoupon(out: SemanticProblem[], path: PathKey[], c: unknown): void {
  const coupon = obj(c);
  // With an unknown key (a typo of percent, say) the typo is the problem, not the missing key.
  if (!coupon || Object.keys(coupon).some((k) => !['percent', 'amount', 'valid'].includes(k))) return;
  if ((coupon.percent === undefined) === (coupon.amount === undefined)) {
    out.push({ path, message: 'give exactly one of percent or amount' });
  }
}

function checkBranch(out: SemanticProblem[], path: PathKey[], b: Obj): Outcome[] {
  const outcomes: Outcome[] = [];
  const cases = obj(b.cases);
  const when = Array.isArray(b.when) ? b.when : undefined;
  if (b.on !== undefined && !cases)
    out.push({
      path: [...path, 'on'],
      message: 'give the cases: one per churn reason, e.g. cases: { price: { template: winback/offer } }',
      atKey: true,
    });
  if (cases && b.on === undefined)
    out.push({
      path: [...path, 'cases'],
      message: 'add on: churn_reason (cases are per churn reason; use when for conditions)',
      atKey: true,
    });
  if (cases && when)
    out.push({ path: [...path, 'when'], message: 'give either on/cases or when, not both', atKey: true });
  if (!cases && !when && b.on === undefined)
    out.push({ path, message: 'give on: churn_reason with cases, or when with conditions' });
  if (cases && Object.keys(cases).length === 0)
    out.push({ path: [...path, 'cases'], message: 'needs at least one case' });
  for (const [reason, action] of Object.entries(cases ?? {})) {
    const a = obj(action);
    if (a && (CHURN_REASONS as readonly string[]).includes(reason))
      outcomes.push({ path: [...path, 'cases', reason], who: `customers with churn reason ${reason}`, action: a });
  }
  list(when).forEach((w, i) => {
    const c = obj(w);
    if (!c) return;
    expression(out, [...path, 'when', i, 'if'], c.if, 'step');
    outcomes.push({ path: [...path, 'when', i], who: `customers for whom "${str(c.if) ?? '…'}" holds`, action: c });
  });
  const fallback = obj(b.default);
  const rest = cases ? 'customers with another or an unknown churn reason' : 'customers for whom no case holds';
  if (fallback) outcomes.push({ path: [...path, 'default'], who: rest, action: fallback });
  else if (cases || when) outcomes.push({ path, who: rest, action: {} });
  for (const o of outcomes) checkCoupon(out, [...o.path, 'coupon'], o.action.coupon);
  return outcomes;
}

function checkStep(out: SemanticProblem[], s: Obj, path: PathKey[], seen: Map<string, string>): void {
  const id = str(s.id);
  if (id !== undefined) {
    const first = seen.get(id);
    if (first !== undefined) out.push({ path: [...path, 'id'], message: `step id "${id}" is also used by ${first}` });
    else seen.set(id, pathText(path));
  }
  if (s.split !== undefined) return;
  expression(out, [...path, 'unless'], s.unless, 'step');
  expression(out, [...path, 'only_if'], s.only_if, 'step');
  checkCoupon(out, [...path, 'coupon'], s.coupon);
  const branch = obj(s.branch);
  const outcomes = branch
    ? checkBranch(out, [...path, 'branch'], branch)
    : [{ path, who: 'every customer', action: {} }];
  for (const o of outcomes) {
    // Branch cases inherit what they leave out from the step itself.
    if (s.template === undefined && o.action.template === undefined) {
      out.push(
        o.path === path
          ? { path: [...path, 'template'], message: 'missing required key "template"' }
          : { path: o.path, message: `no template for ${o.who}: give the step a template, or this case one` },
      );
    }
    if (s.subject === undefined && o.action.subject === undefined) {
      out.push(
        o.path === path
          ? { path: [...path, 'subject'], message: 'missing required key "subject"' }
          : { path: o.path, message: `no subject for ${o.who}: give the step a subject, or this case one` },
      );
    }
  }
  const variantIds = new Map<string, number>();
  list(s.variants).forEach((v, j) => {
    const variant = obj(v);
    if (!variant) return;
    const vid = str(variant.id);
    if (vid !== undefined) {
      if (variantIds.has(vid))
        out.push({
          path: [...path, 'variants', j, 'id'],
          message: `variant id "${vid}" is also used by variants[${variantIds.get(vid)}]`,
        });
      else variantIds.set(vid, j);
    }
    if (Object.keys(variant).every((k) => k === 'id'))
      out.push({
        path: [...path, 'variants', j],
        message: 'this variant changes nothing: give it a template, subject, preheader or coupon',
      });
    checkCoupon(out, [...path, 'variants', j, 'coupon'], variant.coupon);
  });
}

/** `steps[2].split.cohorts[0].steps[1]` from its path. */
function pathText(path: PathKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

/** Keys a split step may have: it sends nothing itself, its cohorts do. */
const SPLIT_KEYS = ['id', 'split'];

/**
 * Path experiments: one split, the last step, sending nothing itself; cohorts with distinct ids
 * and shares that add up to 100% (or none given); each cohort step checked like any step.
 */
function checkSplits(out: SemanticProblem[], steps: unknown[], seen: Map<string, string>): void {
  const splits = steps.flatMap((s, i) => (obj(s)?.split !== undefined ? [i] : []));
  splits.slice(1).forEach((i) =>
    out.push({
      path: ['steps', i, 'split'],
      message: "only one step of a sequence may split: put further differences into the cohorts' own steps",
      atKey: true,
    }),
  );
  const at = splits[0];
  if (at === undefined) return;
  const step = obj(steps[at])!;
  if (at < steps.length - 1)
    out.push({
      path: ['steps', at + 1],
      message: 'no steps after a split: each cohort runs its own path to the end; move these steps into the cohorts',
    });
  for (const key of Object.keys(step).filter((k) => !SPLIT_KEYS.includes(k))) {
    out.push({
      path: ['steps', at, key],
      message: `a split step sends nothing itself, so "${key}" does not apply: give it to the cohorts' steps`,
      atKey: true,
    });
  }
  const cohorts = list(obj(step.split)?.cohorts);
  const ids = new Map<string, number>();
  let total = 0;
  let given = 0;
  let count = 0;
  cohorts.forEach((c, j) => {
    const cohort = obj(c);
    if (!cohort) return;
    const path: PathKey[] = ['steps', at, 'split', 'cohorts', j];
    const id = str(cohort.id);
    if (id !== undefined) {
      if (ids.has(id))
        out.push({ path: [...path, 'id'], message: `cohort id "${id}" is also used by cohorts[${ids.get(id)}]` });
      else ids.set(id, j);
    }
    const share =
      typeof cohort.share === 'number'
        ? cohort.share
        : typeof cohort.share === 'string' && /^\d+(\.\d+)?%$/.test(cohort.share)
          ? Number(cohort.share.slice(0, -1)) / 100
          : undefined;
    if (cohort.share !== undefined) given++;
    total += share ?? 0;
    list(cohort.steps).forEach((s, k) => {
      const cs = obj(s);
      count++;
      if (cs) checkStep(out, cs, [...path, 'steps', k], seen);
    });
  });
  const split = obj(step.split);
  const fixed = split?.allocation === 'fixed' || (split?.allocation === undefined && given > 0);
  if (fixed && split?.adapt_after !== undefined)
    out.push({
      path: ['steps', at, 'split', 'adapt_after'],
      message:
        'adapt_after applies to an adaptive split only (this one is fixed' +
        (split.allocation === undefined ? ' because shares are given' : '') +
        '): remove it or set allocation: adaptive',
      atKey: true,
    });
  if (given > 0 && given < cohorts.length)
    out.push({
      path: ['steps', at, 'split', 'cohorts'],
      message: 'give every cohort a share, or none (then the shares are equal)',
    });
  else if (given > 0 && Math.abs(total - 1) > 1e-6)
    out.push({
      path: ['steps', at, 'split', 'cohorts'],
      message: `the cohorts' shares add up to ${+(total * 100).toFixed(4)}%, not 100%`,
    });
  if (at + count > COUNT.steps)
    out.push({
      path: ['steps', at, 'split'],
      message: `more than ${COUNT.steps} steps on all paths together (${at + count})`,
    });
}

function checkWindow(out: SemanticProblem[], w: Obj): void {
  const hours = str(w.hours);
  const m = hours ? /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(hours) : null;
  if (m && Number(m[3]) * 60 + Number(m[4]) <= Number(m[1]) * 60 + Number(m[2])) {
    out.push({
      path: ['send_window', 'hours'],
      message: `the window ends before it starts ("${hours}"): windows across midnight are not supported`,
    });
  }
  const tz = str(w.timezone);
  if (tz !== undefined && tz !== 'customer') {
    if (!isTimeZone(tz)) {
      timeZones ??= Intl.supportedValuesOf('timeZone');
      const c = closest(tz, timeZones);
      out.push({
        path: ['send_window', 'timezone'],
        message: `unknown time zone "${tz}"${c ? ` (did you mean "${c}"?)` : ''}: use "customer" or an IANA zone like Europe/Berlin`,
      });
    }
  }
}

function duplicates(out: SemanticProblem[], path: PathKey[], values: unknown[]): void {
  values.forEach((v, i) => {
    if (values.indexOf(v) !== i) out.push({ path: [...path, i], message: `${JSON.stringify(v)} is listed twice` });
  });
}

/** Checks the rules that span several keys on the document as written. */
export function checkSemantics(raw: unknown): SemanticProblem[] {
  const out: SemanticProblem[] = [];
  const seq = obj(raw);
  if (!seq) return out;
  const audience = obj(seq.audience);
  if (audience) checkAudience(out, audience);
  const seen = new Map<string, string>();
  list(seq.steps).forEach((s, i) => {
    const step = obj(s);
    if (step) checkStep(out, step, ['steps', i], seen);
  });
  checkSplits(out, list(seq.steps), seen);
  const goal = obj(seq.goal);
  if (goal && goal.purchase === undefined && goal.survey_answered === undefined)
    out.push({ path: ['goal'], message: 'give purchase (e.g. { within: 30d }) or survey_answered: true' });
  duplicates(out, ['exit_on'], list(seq.exit_on));
  duplicates(out, ['consent'], list(seq.consent));
  if (list(seq.consent).includes('existing_customer') && seq.own_similar_goods !== true) {
    out.push({
      path: ['consent'],
      message:
        "existing_customer needs own_similar_goods: true (§7(3) UWG: the mails advertise the shop's own similar goods); otherwise these customers are never mailed",
    });
  }
  const window = obj(seq.send_window);
  if (window) checkWindow(out, window);
  const success = obj(seq.on_success);
  if (success && success.start !== undefined && success.start === seq.id)
    out.push({ path: ['on_success', 'start'], message: 'a sequence cannot start itself on success' });
  return out;
}
