/**
 * Path experiments: a step splits into random cohorts, each with its own steps to the end. The
 * YAML is validated with positions, the machine moves along the enrolment's own path, and the
 * scheduler and sender send each cohort exactly its path's mails.
 */
import { describe, expect, it } from 'vitest';
import { runPathExperiment } from '../../src/demo/paths.js';
import { parseSequence } from '../../src/sequences/loader.js';
import { decide, firstDueAt, NO_FACTS } from '../../src/sequences/machine.js';
import { drawCohort, firstIndex, maturityOf, nextIndex, sequencePaths } from '../../src/sequences/paths.js';
import { DAY } from '../../src/clock.js';
import { sqliteUrl } from '../helpers/backends.js';

const HEAD = `id: p\nname: P\naudience: { trigger: lapsed }\nconsent: [double_opt_in]\n`;
const VALID = `${HEAD}steps:
  - id: hello
    template: winback/miss-you
    subject: Hi
  - id: paths
    split:
      cohorts:
        - id: short
          share: 25%
          steps:
            - { id: short-offer, wait: 5d, template: winback/offer, subject: Offer }
        - id: long
          share: 75%
          steps:
            - { id: long-news, wait: 3d, template: winback/new-arrivals, subject: News }
            - { id: long-offer, wait: 4d, template: winback/offer, subject: Offer }
`;

const problems = (yaml: string) =>
  parseSequence(yaml, 's.yaml').problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);

describe('path experiments in the YAML', () => {
  it('flattens the paths: the steps before the split, then each cohort in turn', () => {
    const seq = parseSequence(VALID, 's.yaml').sequence!;
    const p = sequencePaths(seq);
    expect(p.steps.map((s) => s.id)).toEqual(['hello', 'short-offer', 'long-news', 'long-offer']);
    expect(p.cohorts).toEqual([
      { id: 'short', share: 0.25, start: 1, end: 2 },
      { id: 'long', share: 0.75, start: 2, end: 4 },
    ]);
    expect(nextIndex(seq, 0, 'short')).toBe(1);
    expect(nextIndex(seq, 1, 'short')).toBeNull();
    expect(nextIndex(seq, 0, 'long')).toBe(2);
    expect(nextIndex(seq, 2, 'long')).toBe(3);
    expect(nextIndex(seq, 3, 'long')).toBeNull();
    // The machine: after hello, a long-cohort enrolment waits 3 days for long-news.
    const d = decide(seq, { id: 1, currentStep: 0, cohort: 'long' }, NO_FACTS, 0, 0.5);
    expect(d).toMatchObject({ kind: 'send', step: { id: 'hello' }, next: { stepIndex: 2, dueAt: 3 * DAY } });
    const last = decide(seq, { id: 1, currentStep: 1, cohort: 'short' }, NO_FACTS, 0, 0.5);
    expect(last).toMatchObject({ kind: 'send', step: { id: 'short-offer' }, next: null });
    // Shares: a stable draw per customer, 25/75.
    const draws = Array.from({ length: 4000 }, (_, i) => drawCohort(seq, i));
    expect(drawCohort(seq, 17)).toBe(drawCohort(seq, 17));
    expect(draws.filter((c) => c === 'short').length / 4000).toBeCloseTo(0.25, 1);
  });

  it('starts at the cohort when the first step splits', () => {
    const yaml = `${HEAD}steps:
  - id: paths
    split:
      cohorts:
        - { id: a, steps: [{ id: a1, wait: 2d, template: winback/offer, subject: A }] }
        - { id: b, steps: [{ id: b1, wait: 1d, template: winback/offer, subject: B }] }
`;
    const seq = parseSequence(yaml, 's.yaml').sequence!;
    expect(firstIndex(seq, 'b')).toBe(1);
    expect(firstDueAt(seq, 0, 'a')).toBe(2 * DAY);
    expect(firstDueAt(seq, 0, 'b')).toBe(DAY);
  });

  it('reports every mistake of a split at its line and column', () => {
    const yaml = `${HEAD}steps:
  - id: paths
    template: winback/offer
    split:
      cohorts:
        - id: a
          share: 50%
          steps:
            - { id: same, template: winback/offer, subject: A }
        - id: a
          share: 40%
          steps:
            - { id: same, subject: B }
  - id: after
    template: winback/offer
    subject: C
`;
    expect(problems(yaml)).toEqual([
      '7:5 steps[0].template: a split step sends nothing itself, so "template" does not apply: give it to the cohorts\' steps',
      "10:9 steps[0].split.cohorts: the cohorts' shares add up to 90%, not 100%",
      '14:15 steps[0].split.cohorts[1].id: cohort id "a" is also used by cohorts[0]',
      '17:15 steps[0].split.cohorts[1].steps[0].template: missing required key "template"',
      '17:21 steps[0].split.cohorts[1].steps[0].id: step id "same" is also used by steps[0].split.cohorts[0].steps[0]',
      '18:5 steps[1]: no steps after a split: each cohort runs its own path to the end; move these steps into the cohorts',
    ]);
  });

  it('refuses one cohort, a cohort without steps, and a split inside a cohort', () => {
    const yaml = `${HEAD}steps:
  - id: paths
    split:
      cohorts:
        - id: a
          steps: []
`;
    const found = problems(yaml).join('\n');
    expect(found).toContain('9:9 steps[0].split.cohorts: needs at least 2 entries');
    expect(found).toMatch(/cohorts\[0\]\.steps/);
    const nested = `${HEAD}steps:
  - id: paths
    split:
      cohorts:
        - { id: a, steps: [{ id: a1, template: winback/offer, subject: A, split: { cohorts: [] } }] }
        - { id: b, steps: [{ id: b1, template: winback/offer, subject: B }] }
`;
    expect(problems(nested).join('\n')).toMatch(/split/);
  });

  it('splits adaptively by default, fixed when shares are given, and checks the allocation keys', () => {
    const fixed = parseSequence(VALID, 's.yaml').sequence!;
    expect(sequencePaths(fixed)).toMatchObject({ allocation: 'fixed', adaptAfter: 100 });
    const plain = VALID.replace(/ {10}share: \d+%\n/g, '');
    expect(sequencePaths(parseSequence(plain, 's.yaml').sequence!)).toMatchObject({ allocation: 'adaptive' });
    const chosen = VALID.replace('    split:\n', '    split:\n      allocation: adaptive\n      adapt_after: 50\n');
    expect(sequencePaths(parseSequence(chosen, 's.yaml').sequence!)).toMatchObject({
      allocation: 'adaptive',
      adaptAfter: 50,
    });
    // Longest path (3d + 4d) against the 30-day default goal window.
    expect(maturityOf(fixed)).toBe(30 * DAY);
    expect(problems(VALID.replace('    split:\n', '    split:\n      adapt_after: 50\n'))).toEqual([
      '11:7 steps[1].split.adapt_after: adapt_after applies to an adaptive split only (this one is fixed because shares are given): remove it or set allocation: adaptive',
    ]);
    expect(problems(VALID.replace('    split:\n', '    split:\n      allocation: sometimes\n')).join('\n')).toMatch(
      /^11:19 steps\[1\]\.split\.allocation: .*fixed.*adaptive/,
    );
    expect(problems(chosen.replace('adapt_after: 50', 'adapt_after: 5')).join('\n')).toContain(
      '12:20 steps[1].split.adapt_after: expected a number at least 10, got 5',
    );
  });

  it('draws with the shares passed in, stably per customer', () => {
    const seq = parseSequence(VALID, 's.yaml').sequence!;
    const shares = [
      { id: 'short', share: 0.9 },
      { id: 'long', share: 0.1 },
    ];
    const draws = Array.from({ length: 4000 }, (_, i) => drawCohort(seq, i, shares));
    expect(draws.filter((c) => c === 'short').length / 4000).toBeCloseTo(0.9, 1);
    // The same customer: one uniform draw, compared against whatever shares apply.
    for (let i = 0; i < 50; i++) if (drawCohort(seq, i) === 'short') expect(drawCohort(seq, i, shares)).toBe('short');
  });
});

describe('path experiments through the engine', () => {
  it('sends each cohort exactly the mails of its own path', async () => {
    const [run] = await runPathExperiment({
      database: sqliteUrl(),
      seeds: [3],
      customers: 240,
      holdout: 0.1,
      baseline: 0.04,
      truths: { 'two-mails': 0.05, 'three-mails': 0.05, gift: 0.1 },
      send: true,
    });
    const cohort = (id: string) => run!.paths.cohorts.find((c) => c.cohortId === id)!.uplift.mailed.enrolled;
    const sent = run!.sentByStep;
    const mailed = cohort('two-mails') + cohort('three-mails') + cohort('gift');
    expect(mailed).toBeGreaterThan(180);
    expect(sent['hello-3']).toBe(mailed);
    expect(sent['two-offer-3']).toBe(cohort('two-mails'));
    expect(sent['three-news-3']).toBe(cohort('three-mails'));
    expect(sent['three-offer-3']).toBe(cohort('three-mails'));
    expect(sent['gift-offer-3']).toBe(cohort('gift'));
    expect(sent.paths).toBeUndefined();
    for (const c of ['two-mails', 'three-mails', 'gift']) expect(cohort(c)).toBeGreaterThan(40);
    expect(run!.paths.comparisons).toBe(3);
    expect(run!.paths.pairs).toHaveLength(3);
  }, 120_000);
});

describe('path experiments in the simulator', () => {
  it('forecasts the same cohort mails as the worker sends', async () => {
    const { engineWith, head, loaded } = await import('./helpers.js');
    const { loadCustomers, NO_ENGAGEMENT, simulate, syntheticCustomers } = await import('../../src/simulate/index.js');
    const { enrollAudience } = await import('../../src/engine/enroll.js');
    const HOURS = 3_600_000;
    const start = Date.UTC(2026, 2, 2, 6);
    const seq = loaded(`${head('split')}audience:
  dormant: { min_days: 20 }
holdout: 10%
steps:
  - id: hello
    template: winback/miss-you
    subject: Hello
  - id: paths
    split:
      cohorts:
        - { id: quick, steps: [{ id: quick-offer, wait: 2d, template: winback/offer, subject: Offer }] }
        - id: slow
          steps:
            - { id: slow-news, wait: 3d, template: winback/new-arrivals, subject: News }
            - { id: slow-offer, wait: 4d, template: winback/offer, subject: Offer }
`);
    const { engine, clock } = await engineWith(sqliteUrl(), [seq], start);
    try {
      await loadCustomers(engine, syntheticCustomers(120, 3, start));
      const days = 10;
      const tick = 6 * HOURS;
      const sim = await simulate(engine.ctx.k, seq.definition, {
        start,
        days,
        tickMs: tick,
        assumptions: NO_ENGAGEMENT,
      });
      for (let t = start; t < start + days * 24 * HOURS; t += tick) {
        if (t > clock.now()) clock.set(t);
        if ((t - start) % (24 * HOURS) === 0) await enrollAudience(engine.ctx, 'split');
        await engine.runDue();
      }
      const worker = await engine.ctx.k
        .selectFrom('messages')
        .innerJoin('customers', 'customers.id', 'messages.customer_id')
        .select(['customers.external_id', 'messages.step_id', 'messages.reserved_at'])
        .execute();
      const fromWorker = worker.map((m) => `${m.external_id} ${m.step_id} ${Number(m.reserved_at)}`).sort();
      const fromSim = sim.sends.map((s) => `${s.externalId} ${s.stepId} ${s.at}`).sort();
      expect(fromSim).toEqual(fromWorker);
      const steps = new Set(sim.sends.map((s) => s.stepId));
      expect(steps).toEqual(new Set(['hello', 'quick-offer', 'slow-news', 'slow-offer']));
    } finally {
      await engine.close();
    }
  }, 120_000);
});
