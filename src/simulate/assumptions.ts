/**
 * What `comeback simulate` assumes recipients do. Defaults follow the source material: about a
 * quarter open a first win-back mail and up to half a later one. Every draw is a hash of the
 * enrolment, the step and the kind of event, so a simulation is reproducible to the mail.
 */
import { DAY, HOUR } from '../clock.js';
import { CHURN_REASONS } from '../shop/types.js';
import { unitDraw } from '../util/hash.js';

/** Rates of the simulated behaviour (all between 0 and 1). */
export interface Assumptions {
  /** A human opens the first mail of an enrolment. */
  firstOpen: number;
  /** A human opens a later mail. */
  laterOpen: number;
  /** Clicks a link, given an open. */
  clickGivenOpen: number;
  /** Buys within the goal window, given a click. */
  purchaseGivenClick: number;
  /** Buys on any day anyway (mailed and holdout alike): the baseline that uplift is measured against. */
  dailyBaselinePurchase: number;
  /** Answers the reason survey, given an open of a survey mail (template name contains "survey"). */
  surveyGivenOpen: number;
  /** Unsubscribes, given an open. */
  unsubscribeGivenOpen: number;
  /** A purchase is in a category the customer never bought (for goal new_category). */
  newCategory: number;
  /** A purchase is this share of the former average order, drawn uniformly in [min, max]. */
  amountRatio: [number, number];
}

/** The defaults (source material: ¼ open a first mail, up to ½ a later one). */
export const DEFAULT_ASSUMPTIONS: Assumptions = {
  firstOpen: 0.25,
  laterOpen: 0.45,
  clickGivenOpen: 0.3,
  purchaseGivenClick: 0.15,
  dailyBaselinePurchase: 0.002,
  surveyGivenOpen: 0.4,
  unsubscribeGivenOpen: 0.015,
  newCategory: 0.3,
  amountRatio: [0.6, 1.4],
};

/** No engagement at all: only timing, windows, caps, consent and conditions on customer data. */
export const NO_ENGAGEMENT: Assumptions = {
  firstOpen: 0,
  laterOpen: 0,
  clickGivenOpen: 0,
  purchaseGivenClick: 0,
  dailyBaselinePurchase: 0,
  surveyGivenOpen: 0,
  unsubscribeGivenOpen: 0,
  newCategory: 0,
  amountRatio: [1, 1],
};

/** A simulated event of an enrolment. */
export interface SimEvent {
  at: number;
  type: 'open' | 'click' | 'survey' | 'unsubscribe' | 'purchase';
  /** For purchases: share of the former average order, and whether in a new category. */
  amountRatio?: number;
  newCategory?: boolean;
  /** For survey answers: the reason given. */
  reason?: string;
}

/** What a recipient does after one mail, as events at times after `sentAt`. */
export function reactions(
  a: Assumptions,
  key: string,
  sentAt: number,
  firstMail: boolean,
  survey: boolean,
): SimEvent[] {
  const u = (what: string) => unitDraw(`sim|${what}|${key}`);
  const events: SimEvent[] = [];
  if (u('open') >= (firstMail ? a.firstOpen : a.laterOpen)) return events;
  const openAt = sentAt + Math.round((0.25 + u('open-at') * 23.75) * HOUR);
  events.push({ at: openAt, type: 'open' });
  if (u('unsubscribe') < a.unsubscribeGivenOpen) {
    events.push({ at: openAt + 60_000, type: 'unsubscribe' });
    return events;
  }
  if (survey && u('survey') < a.surveyGivenOpen) {
    events.push({
      at: openAt + 120_000,
      type: 'survey',
      reason: CHURN_REASONS[Math.floor(u('reason') * CHURN_REASONS.length)]!,
    });
  }
  if (u('click') < a.clickGivenOpen) {
    const clickAt = openAt + 180_000;
    events.push({ at: clickAt, type: 'click' });
    if (u('buy') < a.purchaseGivenClick) events.push(purchase(a, key, clickAt + Math.round(u('buy-at') * 3 * DAY)));
  }
  return events;
}

/** A purchase at a time, with its drawn amount and category novelty. */
export function purchase(a: Assumptions, key: string, at: number): SimEvent {
  const u = (what: string) => unitDraw(`sim|${what}|${key}`);
  return {
    at,
    type: 'purchase',
    amountRatio: a.amountRatio[0] + u('amount') * (a.amountRatio[1] - a.amountRatio[0]),
    newCategory: u('category') < a.newCategory,
  };
}

/** Whether the baseline purchase happens for an enrolment on a given day. */
export function baselinePurchase(a: Assumptions, key: string, dayStart: number): SimEvent | undefined {
  if (unitDraw(`sim|baseline|${key}|${dayStart}`) >= a.dailyBaselinePurchase) return undefined;
  return purchase(a, `${key}|${dayStart}`, dayStart + Math.round(unitDraw(`sim|baseline-at|${key}|${dayStart}`) * DAY));
}
