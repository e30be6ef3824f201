import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { enrollAudience } from '../../src/engine/enroll.js';
import { HOUR, type Engine } from '../../src/index.js';
import {
  loadCustomers,
  NO_ENGAGEMENT,
  simulate,
  syntheticCustomers,
  DEFAULT_ASSUMPTIONS,
} from '../../src/simulate/index.js';
import { sqliteUrl } from '../helpers/backends.js';
import { engineWith, head, loaded } from '../sequences/helpers.js';

const START = Date.UTC(2026, 2, 2, 6); // a Monday, 07:00 in Berlin

/** Windows, a frequency cap, a holdout, conditions and a branch on customer fields, and variants. */
const SEQUENCE = loaded(`${head('agree')}audience:
  dormant: { overdue_factor: 1.5, min_days: 20 }
  where: "discount_share < 0.9"
holdout: 20%
send_window: { days: [tue, wed, thu], hours: "09:00-17:00" }
frequency_cap: { max: 1, per: 3d }
steps:
  - id: hello
    template: winback/miss-you
    subject: Hello
    variants:
      - { id: short, subject: Hi }
  - id: why
    wait: 1d
    only_if: 'language == "de" or total_spent >= 400'
    template: winback/reason-survey
    subject: Why?
  - id: answer
    wait: 2d
    unless: 'language == "de" and orders_count > 20'
    branch:
      when:
        - { if: 'language == "en"', template: winback/offer, subject: Offer, coupon: { percent: 10, valid: 14d } }
      default: { template: winback/new-arrivals, subject: New }
`);

describe('simulate', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('gives the same sends as the worker on the same customers and clock', async () => {
    let clock;
    ({ engine, clock } = await engineWith(sqliteUrl(), [SEQUENCE], START));
    await loadCustomers(engine, syntheticCustomers(150, 7, START));
    const tick = 2 * HOUR;
    const days = 16;
    const sim = await simulate(engine.ctx.k, SEQUENCE.definition, {
      start: START,
      days,
      tickMs: tick,
      assumptions: NO_ENGAGEMENT,
    });

    for (let t = START; t < START + days * 24 * HOUR; t += tick) {
      if (t > clock.now()) clock.set(t);
      // The audience step itself (Engine.enrollAudience may also refresh model scores first).
      if ((t - START) % (24 * HOUR) === 0) await enrollAudience(engine.ctx, 'agree');
      await engine.runDue();
    }
    const worker = await engine.ctx.k
      .selectFrom('messages')
      .innerJoin('customers', 'customers.id', 'messages.customer_id')
      .select([
        'customers.external_id',
        'messages.step_id',
        'messages.variant_id',
        'messages.template',
        'messages.reserved_at',
        'messages.status',
      ])
      .orderBy('messages.reserved_at')
      .orderBy('messages.id')
      .execute();
    expect(worker.every((m) => m.status === 'sent')).toBe(true);
    const key = (m: { externalId: string; stepId: string; variantId: string | null; template: string; at: number }) =>
      `${new Date(m.at).toISOString()} ${m.externalId} ${m.stepId} ${m.variantId ?? '-'} ${m.template}`;
    const fromWorker = worker
      .map((m) =>
        key({
          externalId: m.external_id,
          stepId: m.step_id,
          variantId: m.variant_id,
          template: m.template,
          at: Number(m.reserved_at),
        }),
      )
      .sort();
    const fromSim = sim.sends.map(key).sort();
    expect(fromSim).toEqual(fromWorker);
    // The scenario exercises what it claims to: windows and the cap defer, conditions skip, variants split.
    const total = (k: 'window' | 'cap' | 'onlyIf' | 'entered' | 'holdout') => sim.rows.reduce((n, r) => n + r[k], 0);
    expect(fromSim.length).toBeGreaterThan(40);
    expect(total('window')).toBeGreaterThan(0);
    expect(total('cap')).toBeGreaterThan(0);
    expect(total('onlyIf')).toBeGreaterThan(0);
    expect(total('holdout')).toBeGreaterThan(0);
    expect(new Set(sim.sends.map((s) => s.variantId))).toEqual(new Set([null, 'short']));
    expect(new Set(sim.sends.filter((s) => s.stepId === 'answer').map((s) => s.template)).size).toBe(2);
    const enrolled = await engine.ctx.k
      .selectFrom('enrollments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(total('entered')).toBe(Number(enrolled.n));
  });

  it('is reproducible and counts goals and exits under the stated assumptions', async () => {
    ({ engine } = await engineWith(sqliteUrl(), [SEQUENCE], START));
    await loadCustomers(engine, syntheticCustomers(150, 7, START));
    const run = () =>
      simulate(engine!.ctx.k, SEQUENCE.definition, {
        start: START,
        days: 30,
        tickMs: 4 * HOUR,
        assumptions: { ...DEFAULT_ASSUMPTIONS, purchaseGivenClick: 0.6, dailyBaselinePurchase: 0.01 },
      });
    const a = await run();
    const b = await run();
    expect(b).toEqual(a);
    const sum = (k: 'goal' | 'holdoutGoal' | 'exited') => a.rows.reduce((n, r) => n + r[k], 0);
    expect(sum('goal')).toBeGreaterThan(0);
    expect(sum('holdoutGoal')).toBeGreaterThan(0);
    // nothing was written: the simulation only reads
    const written = await engine.ctx.k
      .selectFrom('enrollments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(written.n)).toBe(0);
  });
});

describe('the marketer commands', () => {
  const run = async (...args: string[]) => {
    let out = '';
    let err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
    process.exitCode = undefined;
    try {
      await buildProgram().parseAsync(['node', 'comeback', ...args]);
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
    const code = process.exitCode ?? 0;
    process.exitCode = undefined;
    return { out, err, code };
  };

  it('validate: exit 0 for the examples, 1 with one line per problem otherwise', async () => {
    expect(await run('validate', 'sequences')).toMatchObject({ code: 0, out: '5 sequence files valid\n' });
    const bad = await run(
      'validate',
      '--no-templates',
      'test/sequences/broken/wait-5-days.yaml',
      'test/sequences/broken/where-unknown-field.yaml',
    );
    expect(bad.code).toBe(1);
    expect(bad.out.trim().split('\n')).toEqual([
      'test/sequences/broken/wait-5-days.yaml:11:11 steps[1].wait: expected a duration like 5d or 36h, got "5 days"',
      'test/sequences/broken/where-unknown-field.yaml:5:11 audience.where: unknown field "order_count" (did you mean "orders_count"?)',
    ]);
  });

  it('schema: prints the JSON Schema', async () => {
    const { out } = await run('schema');
    expect(JSON.parse(out)).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' });
  });

  it('simulate --customers: a missing file, a folder and broken JSON are named, not a stack trace', async () => {
    await expect(
      run('simulate', 'sequences/winback-reasons.yaml', '--customers', 'no-such-customers.jsonl'),
    ).rejects.toThrow('invalid --customers: no-such-customers.jsonl: no such file');
    await expect(run('simulate', 'sequences/winback-reasons.yaml', '--customers', 'sequences')).rejects.toThrow(
      'invalid --customers: sequences: a folder, not a file',
    );
    const broken = join(mkdtempSync(join(tmpdir(), 'comeback-sim-customers-')), 'customers.jsonl');
    writeFileSync(broken, '{"externalId":"a1","email":"a1@example.com","orders":[]}\n{"externalId": \n');
    await expect(run('simulate', 'sequences/winback-reasons.yaml', '--customers', broken)).rejects.toThrow(
      `invalid ${broken}:2: `,
    );
  });

  it('simulate: prints the day-by-day table with the reasons for skips', async () => {
    const { out } = await run(
      'simulate',
      'sequences/winback-reasons.yaml',
      '--synthetic',
      '120',
      '--days',
      '8',
      '--tick',
      '3h',
    );
    expect(out).toContain('Simulation of winback-reasons v1 over 120 synthetic customers (seed 42)');
    expect(out).toMatch(
      /day\s+date\s+entered\s+holdout\s+control\s+sent why-did-you-go\s+sent answer\s+sent last-chance\s+skip unless\s+skip only_if\s+wait window\s+wait cap\s+preference\s+no consent\s+exited\s+goal/,
    );
    expect(out.split('\n').filter((l) => /^\s+\d+\s+2026-03-/.test(l))).toHaveLength(8);
  });

  it('simulate: warns when the holdout can never show a plausible uplift for the audience, and says what would', async () => {
    const { err } = await run(
      'simulate',
      'sequences/winback-reasons.yaml',
      '--synthetic',
      '120',
      '--days',
      '8',
      '--tick',
      '3h',
    );
    expect(err).toMatch(
      /^warning: winback-reasons: a 10% holdout of \d+ enrolments can only show uplifts from \+\d+\.\d pp \(baseline \d+\.\d%\), and a win-back mail plausibly adds about \+2 pp; even a 50% holdout could not show \+2 pp: the audience is too small to measure the uplift$/m,
    );
    const json = JSON.parse(
      (
        await run(
          'simulate',
          'sequences/winback-reasons.yaml',
          '--synthetic',
          '120',
          '--days',
          '8',
          '--tick',
          '3h',
          '--json',
        )
      ).out,
    );
    expect(json.holdoutPower).toMatchObject({ holdoutShare: 0.1, neededShare: null });
    expect(json.holdoutPower.minimumDetectableEffect).toBeGreaterThan(0.02);
  });
});
