import { afterEach, describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import { MINUTE, type Engine } from '../../src/index.js';
import { VariantOptimizer } from '../../src/engine/optimizer.js';
import { optimizeMetric } from '../../src/metrics/variants.js';
import { parseSequence } from '../../src/sequences/loader.js';
import { sqliteUrl } from '../helpers/backends.js';
import { engineWith, head, loaded, shop } from '../sequences/helpers.js';

const SEQ = (optimize = '') => `${head('opt')}audience: { dormant: { min_days: 45 } }
${optimize}steps:
  - id: hello
    template: winback/miss-you
    subject: "Hello"
    variants:
      - { id: b, subject: "Hello B" }
`;

describe('the optimize field', () => {
  it('accepts conversion and net_revenue, defaults to conversion, and rejects anything else with the allowed values', () => {
    expect(optimizeMetric(parseSequence(SEQ(), 'a.yaml').sequence!)).toBe('conversion');
    expect(optimizeMetric(parseSequence(SEQ('optimize: net_revenue\n'), 'a.yaml').sequence!)).toBe('net_revenue');
    const bad = parseSequence(SEQ('optimize: revenue\n'), 'a.yaml');
    expect(bad.sequence).toBeUndefined();
    const text = bad.problems.map(formatProblem).join('\n');
    expect(text).toMatch(/^a\.yaml:\d+:\d+ optimize/m);
    expect(text).toContain('net_revenue');
  });
});

describe('variant shares in the loop', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('refreshes on its interval, not per message, and hands the scheduler Thompson shares with the exploration floor', async () => {
    let clock;
    ({ engine, clock } = await engineWith(sqliteUrl(), [loaded(SEQ())]));
    const opt = new VariantOptimizer(engine.ctx, 10 * MINUTE);
    expect(opt.weights('opt', 'hello')).toBeUndefined(); // equal shares until the first refresh
    expect(await opt.refreshIfStale()).toBe(true);
    for (const share of opt.weights('opt', 'hello')!.values()) expect(share).toBeCloseTo(0.5, 1); // no data: a tie (Monte Carlo)
    expect(await opt.refreshIfStale()).toBe(false);
    clock.advance(10 * MINUTE);
    expect(await opt.refreshIfStale()).toBe(true);

    // 40 sends each: the control converted 12 times, b never. The control gets almost everything; b keeps the 5% floor.
    await shop(
      engine,
      Array.from({ length: 80 }, (_, i) => ({ id: `c${i}`, daysAgo: [100] })),
    );
    await engine.enrollAudience('opt');
    await engine.runDue();
    const messages = await engine.ctx.k.selectFrom('messages').select(['id', 'customer_id']).orderBy('id').execute();
    for (const [i, m] of messages.entries())
      await engine.ctx.k
        .updateTable('messages')
        .set({ variant_id: i % 2 ? 'b' : null })
        .where('id', '=', m.id)
        .execute();
    for (const m of messages.filter((_, i) => i % 2 === 0).slice(0, 12)) {
      const c = await engine.ctx.k
        .selectFrom('customers')
        .select('external_id')
        .where('id', '=', m.customer_id)
        .executeTakeFirstOrThrow();
      await engine.orders.record({
        externalId: `o-${m.id}`,
        customerExternalId: c.external_id,
        orderedAt: clock.now() + MINUTE,
        totalMinor: 5000,
      });
    }
    await opt.refresh();
    const shares = opt.weights('opt', 'hello')!;
    expect(shares.get(null)).toBeCloseTo(0.95, 6);
    expect(shares.get('b')).toBeCloseTo(0.05, 6);
    // The report shows the same allocation the worker uses.
    const v = (await engine.report({ sequence: 'opt' })).sequences[0]!.steps[0]!.variants;
    expect(v.map((x) => x.allocation)).toEqual([shares.get(null), shares.get('b')]);
  });
});
