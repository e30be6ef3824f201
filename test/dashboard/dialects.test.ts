import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { dashboardPlugin } from '../../src/dashboard/index.js';
import { variantTimelines } from '../../src/dashboard/timeline.js';
import { pauseTransport } from '../../src/engine/ledger.js';
import { buildServer } from '../../src/server/index.js';
import { dialects } from '../helpers/backends.js';

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const T0 = 2900 * WEEK; // a week boundary (weeks count from the epoch)
const TOKEN = 'dialect-test-token-0123456789';

/** Stores sends of step `why-did-you-go` of `winback-reasons`: `[variant, sentAt, enrolledAt]`. */
async function seed(engine: Engine, sends: [string | null, number, number][]): Promise<void> {
  const k = engine.ctx.k;
  let i = 0;
  for (const [variant, sentAt, enrolledAt] of sends) {
    i++;
    const c = await k
      .insertInto('customers')
      .values({
        external_id: `c${i}`,
        email: `c${i}@example.com`,
        email_hash: null,
        first_name: `<b>C${i}</b>`,
        last_name: null,
        gender: null,
        title: null,
        locale: 'en',
        time_zone: 'UTC',
        churn_reason: null,
        churn_reason_source: null,
        created_at: enrolledAt,
        updated_at: enrolledAt,
        erased_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const e = await k
      .insertInto('enrollments')
      .values({
        customer_id: c.id,
        sequence_id: 'winback-reasons',
        sequence_version: 1,
        status: 'active',
        next_due_at: null,
        enrolled_at: enrolledAt,
        ended_at: null,
        exit_reason: null,
        consent_id: null,
        legal_basis: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await k
      .insertInto('messages')
      .values({
        enrollment_id: e.id,
        customer_id: c.id,
        sequence_id: 'winback-reasons',
        step_id: 'why-did-you-go',
        variant_id: variant,
        template: 'winback/reason-survey',
        status: 'sent',
        legal_basis: null,
        consent_id: null,
        due_at: sentAt,
        reserved_at: sentAt,
        sent_at: sentAt,
        updated_at: sentAt,
      })
      .execute();
  }
}

describe.each(dialects)('dashboard on $name', ({ url }) => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('counts weekly sends per variant, with empty weeks and the since filter', async () => {
    engine = await createEngine({
      database: await url(),
      secret: 'test-secret-0123456789abcdef',
      dashboard: { token: TOKEN },
    });
    await seed(engine, [
      [null, T0 + DAY, T0],
      ['short', T0 + 2 * DAY, T0],
      ['short', T0 + 3 * DAY, T0],
      ['short', T0 + 2 * WEEK + DAY, T0 + 2 * WEEK],
    ]);
    const [t] = await variantTimelines(engine.ctx, [{ sequenceId: 'winback-reasons', stepId: 'why-did-you-go' }]);
    expect(t!.weeks).toEqual([0, 1, 2].map((w) => new Date(T0 + w * WEEK).toISOString().slice(0, 10)));
    expect(t!.sends).toEqual({ control: [1, 0, 0], short: [2, 0, 1] });
    const [later] = await variantTimelines(
      engine.ctx,
      [{ sequenceId: 'winback-reasons', stepId: 'why-did-you-go' }],
      T0 + WEEK,
    );
    expect(later!.sends).toEqual({ short: [1] });
    expect(await variantTimelines(engine.ctx, [{ sequenceId: 'winback-reasons', stepId: 'other' }])).toEqual([]);

    // The whole page renders from the report on this dialect, escaping what it shows.
    const app = await buildServer({ engine, plugins: [dashboardPlugin()] });
    try {
      const res = await app.inject({ url: '/dashboard', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('data-metric="winback-reasons.sent"');
      expect(res.body).not.toContain('<b>C');
      const api = await app.inject({
        url: '/dashboard/api/stats?sequence=winback-reasons',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(api.json().sequences[0].funnel.sent).toBe(4);
      expect(res.body).not.toContain('role="alert"'); // all is well

      // A paused sender and an uncertain mail are named above everything, escaped.
      await pauseTransport(
        engine.ctx,
        engine.ctx.clock.now() + 60_000,
        'provider unreachable: SMTP <mail.example>: no session',
      );
      await engine.ctx.k.updateTable('messages').set({ status: 'uncertain' }).where('id', '=', 1).execute();
      const alert = await app.inject({ url: '/dashboard', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(alert.body).toMatch(
        /<section class="notice" role="alert"><p>sending is paused until \S+: provider unreachable: SMTP &lt;mail\.example&gt;: no session<\/p><p>1 mail may or may not have arrived: comeback uncertain/,
      );
    } finally {
      await app.close();
    }
  });
});
