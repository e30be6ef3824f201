/** The planner's rules one by one, on a pure function: no database, no clock. */
import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../../src/clock.js';
import { plan, type PlanInput } from '../../src/engine/planner.js';
import { localHour } from '../../src/engine/timing.js';
import { decide, type Facts } from '../../src/sequences/machine.js';
import { head, loaded } from '../sequences/helpers.js';

const SEQ = loaded(`${head('p')}audience: { trigger: p }
send_window: { days: [mon, tue, wed, thu, fri], hours: "09:00-17:00", timezone: customer }
frequency_cap: { max: 1, per: 3d }
exit_on: [purchased]
steps:
  - { id: one, template: winback/miss-you, subject: One }
  - { id: two, wait: 1d, template: winback/offer, subject: Two }
`).definition;

const MONDAY_10_BERLIN = Date.UTC(2026, 2, 2, 9);
const facts: Facts = {
  opened: false,
  clicked: false,
  purchased: false,
  surveyAnswered: false,
  unsubscribed: false,
  complained: false,
  hardBounced: false,
  churnReason: null,
};

function input(over: Partial<PlanInput> & { step?: number; at?: number; facts?: Partial<Facts> } = {}): PlanInput {
  const now = over.at ?? MONDAY_10_BERLIN;
  const currentStep = over.step ?? 0;
  const decision = decide(SEQ, { id: 1, currentStep }, { ...facts, ...over.facts }, now, 0.5);
  return {
    sequence: SEQ,
    currentStep,
    holdout: false,
    decision,
    now,
    timeZone: 'Europe/Berlin',
    capHistory: [],
    ...over,
  };
}

describe('plan', () => {
  it('reserves inside the window and advances to the next step', () => {
    const p = plan(input());
    expect(p.kind).toBe('reserve');
    expect(p.kind === 'reserve' && p.advance).toEqual({ stepIndex: 1, dueAt: MONDAY_10_BERLIN + DAY });
  });

  it('closes a holdout enrolment without a decision, and exits on a purchase as converted', () => {
    expect(plan({ ...input(), holdout: true, decision: undefined })).toEqual({ kind: 'complete' });
    expect(plan(input({ facts: { purchased: true } }))).toMatchObject({
      kind: 'exit',
      status: 'converted',
      reason: 'purchased',
    });
  });

  it('defers to the send window in the customer zone', () => {
    const saturday = MONDAY_10_BERLIN + 5 * DAY;
    const p = plan(input({ at: saturday }));
    expect(p).toMatchObject({ kind: 'defer', why: 'window', until: MONDAY_10_BERLIN + 7 * DAY - HOUR }); // Monday 09:00
  });

  it('counts the cap per address history it is given, whichever record or sequence the mails were', () => {
    const p = plan(input({ capHistory: [MONDAY_10_BERLIN - DAY] }));
    expect(p).toMatchObject({ kind: 'defer', why: 'cap', until: MONDAY_10_BERLIN + 2 * DAY });
    expect(plan(input({ capHistory: [MONDAY_10_BERLIN - 3 * DAY] })).kind).toBe('reserve');
  });

  it('lets a follow-up, never a first mail, wait for the preferred hour inside the window', () => {
    expect(plan(input({ preferredHour: 15 })).kind).toBe('reserve');
    const follow = plan(input({ step: 1, preferredHour: 15 }));
    expect(follow.kind).toBe('defer');
    expect(follow.kind === 'defer' && follow.why).toBe('hour');
    expect(follow.kind === 'defer' && localHour(follow.until, 'Europe/Berlin')).toBe(15);
    // Outside the window the preferred hour is ignored: the window decides.
    expect(plan(input({ step: 1, preferredHour: 20 })).kind).toBe('reserve');
  });
});
