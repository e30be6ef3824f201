/**
 * The audience rules of a sequence as an ordered list of pure tests over one customer's purchase
 * facts and fields. The scheduler applies all of them (after an SQL prefilter that only narrows);
 * `comeback audience --explain` applies them one by one and counts who each rule removes.
 */
import { DAY } from '../clock.js';
import { evaluate } from './expressions.js';
import { CUSTOMER_FIELDS, type CustomerValues } from './fields.js';
import type { Audience } from './schema.js';

/** Purchase facts of one customer with at least one order, plus the documented fields. */
export interface Candidate {
  customer_id: number;
  external_id: string;
  orders_count: number;
  first_order_at: number;
  last_order_at: number;
  total_spent_minor: number;
  days_since_last_order: number;
  /** Distinct UTC days with an order, and the first and last of them (UTC day numbers). */
  purchase_days: number;
  first_day: number;
  last_day: number;
  /** The usual interval: mean days between purchase days; null with one purchase day. */
  interval_days: number | null;
  values: CustomerValues;
  /** The purchase-model scores exist for this customer. */
  scored: boolean;
}

/** One rule: passes, or says why not. */
export interface AudienceRule {
  key: string;
  label: string;
  test(c: Candidate): true | string;
}

const days = (ms: number) => Math.floor(ms / DAY);

/** The rules of an audience, in the order they are applied and explained. */
export function audienceRules(audience: Audience, now: number): AudienceRule[] {
  const rules: AudienceRule[] = [];
  const d = audience.dormant;
  if (d?.min_days !== undefined) {
    const min = d.min_days;
    rules.push({
      key: 'dormant.min_days',
      label: `last order at least ${min} days ago`,
      test: (c) => c.last_order_at <= now - min * DAY || `last order ${days(now - c.last_order_at)} days ago`,
    });
  }
  if (d?.max_days !== undefined) {
    const max = d.max_days;
    rules.push({
      key: 'dormant.max_days',
      label: `last order at most ${max} days ago`,
      test: (c) => c.last_order_at >= now - max * DAY || `last order ${days(now - c.last_order_at)} days ago`,
    });
  }
  if (d?.overdue_factor !== undefined) {
    const f = d.overdue_factor;
    rules.push({
      key: 'dormant.overdue_factor',
      label: `overdue: more than ${f} × their usual interval since the last order`,
      // The arithmetic of the SQL prefilter, so both agree to the millisecond.
      test: (c) =>
        c.purchase_days < 2
          ? 'one purchase day: no rhythm yet'
          : (now - c.last_order_at) * (c.purchase_days - 1) > f * DAY * (c.last_day - c.first_day) ||
            `${days(now - c.last_order_at)} days since the last order, usual interval ${c.interval_days?.toFixed(0)} days`,
    });
  }
  if (audience.min_orders !== undefined) {
    const min = audience.min_orders;
    rules.push({
      key: 'min_orders',
      label: `at least ${min} orders`,
      test: (c) => c.orders_count >= min || `${c.orders_count} order${c.orders_count === 1 ? '' : 's'}`,
    });
  }
  if (audience.p_alive_below !== undefined) {
    const max = audience.p_alive_below;
    rules.push({
      key: 'p_alive_below',
      label: `probability of being active below ${max}`,
      test: (c) =>
        c.values.p_alive === null
          ? 'no purchase-model score'
          : c.values.p_alive < max || `p_alive ${c.values.p_alive.toFixed(2)}`,
    });
  }
  if (audience.min_expected_value !== undefined) {
    const min = audience.min_expected_value;
    rules.push({
      key: 'min_expected_value',
      label: `expected value at least ${min}`,
      test: (c) =>
        c.values.expected_value === null
          ? 'no purchase-model score'
          : c.values.expected_value >= min || `expected value ${c.values.expected_value.toFixed(2)}`,
    });
  }
  if (audience.where !== undefined) {
    const where = audience.where;
    rules.push({
      key: 'where',
      label: `where ${where}`,
      test: (c) => evaluate(where, c.values) || describeMiss(where, c.values),
    });
  }
  return rules;
}

/** Which fields of a failed `where` the customer has, for the explain sample. */
function describeMiss(where: string, values: CustomerValues): string {
  const used = Object.keys(values).filter((k) => new RegExp(`\\b${k}\\b`).test(where));
  return used.map((k) => `${k}=${JSON.stringify(values[k as keyof CustomerValues])}`).join(' ') || 'does not match';
}

/** The first rule a candidate fails, or undefined when it passes all. */
export function firstFailure(rules: AudienceRule[], c: Candidate): { rule: AudienceRule; reason: string } | undefined {
  for (const rule of rules) {
    const r = rule.test(c);
    if (r !== true) return { rule, reason: r };
  }
  return undefined;
}

/** Whether the audience needs the purchase-model scores. */
export function needsScores(audience: Audience, names: Set<string>): boolean {
  const model = (n: string) => (CUSTOMER_FIELDS as Record<string, { model?: boolean }>)[n]?.model === true;
  return audience.p_alive_below !== undefined || audience.min_expected_value !== undefined || [...names].some(model);
}
