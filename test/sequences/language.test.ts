import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAY } from '../../src/clock.js';
import { formatProblem } from '../../src/errors.js';
import { checkExpression, evaluate } from '../../src/sequences/expressions.js';
import { sequenceJsonSchema } from '../../src/sequences/json-schema.js';
import { parseSequence } from '../../src/sequences/loader.js';
import { decide, NO_FACTS, resolveMail, type Facts } from '../../src/sequences/machine.js';
import { validatePaths } from '../../src/sequences/validate.js';
import { SAMPLE_CUSTOMER } from '../../src/sequences/fields.js';

const seq = (yaml: string) => {
  const r = parseSequence(yaml, 'test.yaml');
  if (!r.sequence) throw new Error(r.problems.map(formatProblem).join('\n'));
  return r.sequence;
};

const HEAD = `id: t
name: T
audience: { dormant: { min_days: 60 } }
consent: [double_opt_in]
`;

describe('example sequences', () => {
  it('all validate, including the full check of every template they use', async () => {
    const { problems, files } = await validatePaths(['sequences']);
    expect(problems.map(formatProblem)).toEqual([]);
    expect(files.map((f) => f.sequence?.id).sort()).toEqual([
      'subscription-cancelled',
      'welcome-back',
      'winback-lapsed',
      'winback-reasons',
      'winback-value-at-risk',
    ]);
  });

  it('branch on every churn reason of the source material', async () => {
    const { files } = await validatePaths(['sequences/winback-reasons.yaml'], { templatesDir: false });
    const answer = files[0]!.sequence!.steps.find((s) => s.id === 'answer')!;
    expect(Object.keys(answer.branch!.cases!).sort()).toEqual([
      'competitor',
      'financial',
      'image',
      'life_phase',
      'location',
      'moved',
      'new_contact',
      'price',
      'quality',
      'service',
      'variety',
    ]);
  });

  it('a single file is checked against the other sequences of its folder (on_success.start)', async () => {
    const { problems } = await validatePaths(['sequences/winback-lapsed.yaml'], { templatesDir: false });
    expect(problems).toEqual([]);
  });
});

describe('checks across files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-seq-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const steps = 'steps:\n  - { id: a, template: winback/miss-you, subject: Hi }\n';

  it('finds duplicate ids, unknown and non-trigger on_success targets with a did-you-mean', async () => {
    file('a.yaml', `${HEAD}${steps}on_success: { start: welcom-back }\n`);
    file('b.yaml', `${HEAD.replace('id: t', 'id: welcome-back')}${steps}`);
    file('c.yaml', `${HEAD}${steps}on_success: { start: welcome-back }\n`);
    const { problems } = await validatePaths([dir], { templatesDir: false, cwd: dir });
    expect(problems.map(formatProblem)).toEqual([
      'a.yaml:7:22 on_success.start: no sequence with id "welcom-back" (did you mean "welcome-back"?)',
      'c.yaml:1:5 id: id "t" is also used by a.yaml',
      'c.yaml:7:22 on_success.start: "welcome-back" is not trigger-based: give it audience.trigger so that only on_success starts it',
    ]);
  });

  it('reports a missing path instead of crashing', async () => {
    const { problems } = await validatePaths(['nowhere/x.yaml'], { templatesDir: false });
    expect(problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^nowhere\/x\.yaml:1:1 no such file or folder in .*`comeback init`\)$/),
    ]);
  });
});

describe('conditions', () => {
  it('evaluates over customer fields and engagement; unknown values never match', () => {
    expect(
      evaluate('orders_count >= 2 and discount_share < 0.6 and late_payments == 0', {
        ...SAMPLE_CUSTOMER,
        late_payments: 0,
      }),
    ).toBe(true);
    expect(evaluate('"vip" in tags and "coffee" in categories', SAMPLE_CUSTOMER)).toBe(true);
    expect(evaluate('churn_reason in ("price", "competitor")', SAMPLE_CUSTOMER)).toBe(true);
    expect(evaluate('overdue_ratio > 2', { ...SAMPLE_CUSTOMER, overdue_ratio: null })).toBe(false);
    expect(evaluate('not (overdue_ratio > 2)', { ...SAMPLE_CUSTOMER, overdue_ratio: null })).toBe(false);
    expect(evaluate('clicked and not opened', { clicked: true, opened: false })).toBe(true);
  });

  it('cannot reach anything but the data it is given', () => {
    expect(evaluate('constructor == constructor', {})).toBe(false);
    expect(checkExpression('toString', 'audience').problems[0]?.message).toBe(
      'unknown field "toString"; a text is written in double quotes: "toString"',
    );
    expect(checkExpression('process.exit(1)', 'step').problems[0]?.message).toMatch(/^unknown function "process.exit"/);
  });

  it('knows which fields an expression reads', () => {
    expect([...checkExpression('p_alive < 0.5 and total_spent > 100', 'audience').names].sort()).toEqual([
      'p_alive',
      'total_spent',
    ]);
  });
});

describe('the step machine', () => {
  const facts = (over: Partial<Facts> = {}): Facts => ({
    ...NO_FACTS,
    customer: { ...SAMPLE_CUSTOMER, total_spent: 80 },
    ...over,
  });
  const s = seq(`${HEAD}goal: { survey_answered: true }
steps:
  - id: a
    template: winback/miss-you
    subject: Hi
  - id: b
    wait: 36h
    unless: clicked
    only_if: "total_spent >= 50"
    branch:
      when:
        - { if: 'churn_reason == "price"', template: winback/offer, subject: Offer, coupon: { percent: 15, valid: 14d } }
        - { if: "total_spent > 500", template: winback/apology, subject: Sorry }
      default: { template: winback/new-arrivals, subject: New }
`);

  it('waits, skips on unless/only_if over engagement and customer fields, and branches on facts', () => {
    const t = Date.UTC(2026, 0, 1);
    const first = decide(s, { id: 1, currentStep: 0 }, facts(), t, 0.5);
    expect(first).toMatchObject({ kind: 'send', next: { stepIndex: 1, dueAt: t + 1.5 * DAY } });
    expect(decide(s, { id: 1, currentStep: 1 }, facts({ clicked: true }), t, 0.5)).toMatchObject({
      kind: 'skip',
      reason: 'unless clicked',
      next: null,
    });
    expect(
      decide(s, { id: 1, currentStep: 1 }, facts({ customer: { ...SAMPLE_CUSTOMER, total_spent: 20 } }), t, 0.5),
    ).toMatchObject({ kind: 'skip', reason: 'only_if total_spent >= 50' });
    const price = decide(s, { id: 1, currentStep: 1 }, facts({ churnReason: 'price' }), t, 0.5);
    expect(price).toMatchObject({
      kind: 'send',
      mail: { template: 'winback/offer', subject: 'Offer', coupon: { percent: 15 }, branchCase: 'when:0' },
    });
    const other = decide(s, { id: 1, currentStep: 1 }, facts({ churnReason: 'service' }), t, 0.5);
    expect(other).toMatchObject({ kind: 'send', mail: { template: 'winback/new-arrivals', branchCase: 'default' } });
  });

  it('ends on a reached survey goal and renders the case chosen at reservation', () => {
    expect(decide(s, { id: 1, currentStep: 1 }, facts({ surveyAnswered: true }), 0, 0.5)).toEqual({
      kind: 'exit',
      reason: 'survey_answered',
      goal: true,
    });
    // The facts changed after reservation (now a price leaver): the recorded case wins.
    expect(resolveMail(s.steps[1]!, facts({ churnReason: 'price' }), null, 'default').template).toBe(
      'winback/new-arrivals',
    );
  });
});

describe('JSON Schema', () => {
  const schema = sequenceJsonSchema();
  const require = createRequire(import.meta.url);
  const Ajv2020 = require('ajv/dist/2020.js').default as new (o: object) => {
    compile(s: object): ((d: unknown) => boolean) & { errors?: unknown[] };
  };
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);

  it('is draft 2020-12, generated from the same schema, and documents the fields', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(JSON.stringify(schema)).toContain('overdue_factor');
    expect((schema as { additionalProperties?: unknown }).additionalProperties).toBe(false);
  });

  it('accepts the example sequences and rejects an unknown key', async () => {
    const { files } = await validatePaths(['sequences'], { templatesDir: false });
    const { parse } = await import('yaml');
    const { readFileSync } = await import('node:fs');
    for (const f of files) expect(validate(parse(readFileSync(f.file, 'utf8'))), f.file).toBe(true);
    expect(validate({ ...parse(readFileSync('sequences/welcome-back.yaml', 'utf8')), stepz: [] })).toBe(false);
  });
});
