import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine } from '../app.js';
import { createLogger } from '../logger.js';
import { InputError } from '../errors.js';
import { DAY, HOUR, ManualClock } from '../clock.js';
import type { Engine } from '../engine/engine.js';
import type { SequenceStats } from '../engine/stats.js';
import { trackerDeps, trackingHooksFor } from '../engine/tracking.js';
import { Tracker } from '../tracking/tracker.js';
import { EventWriter, sinkFor } from '../tracking/writer.js';
import type { StatsReport } from '../metrics/types.js';
import { seededRandom } from '../util/random.js';
import { DEFAULT_BEHAVIOUR, planRecipient, type PlannedAction } from './recipients.js';
import { syntheticProducts, syntheticShop, type SyntheticCustomer } from '../simulate/synthetic.js';

/** Options of `comeback demo`. */
export interface DemoOptions {
  customers: number;
  days: number;
  out: string;
  db: string;
  seed: number;
  sequencesDir?: string;
  templatesDir?: string;
  /** Called with a line of progress now and then. */
  progress?: (line: string) => void;
  /** Keep the engine open (the caller serves the dashboard, then closes it). */
  keepOpen?: boolean;
}

/** What the demo produced. */
export interface DemoResult {
  stats: SequenceStats[];
  /** The success report of the run (what `comeback stats --json` prints). */
  report: StatsReport;
  emlFiles: number;
  engine?: Engine;
}

/** The demo starts on a fixed date so a seed always gives the same run. */
export const DEMO_START = Date.UTC(2026, 2, 2, 6);

async function loadShop(engine: Engine, shop: SyntheticCustomer[]): Promise<void> {
  await engine.products.upsert(syntheticProducts());
  for (let i = 0; i < shop.length; i += 200) {
    const page = shop.slice(i, i + 200);
    await engine.customers.upsert(page.map((c) => c.input));
    for (const c of page) {
      const ref = c.input.externalId;
      const at = (c.orders[0]?.orderedAt as number | undefined) ?? DEMO_START - 400 * DAY;
      if (c.consent) {
        await engine.consents.record({
          customer: ref,
          action: 'grant',
          basis: c.consent,
          source: c.consent === 'existing_customer' ? 'checkout' : 'newsletter_form',
          textVersion: 'v1',
          recordedAt: at,
          evidence:
            c.consent === 'double_opt_in'
              ? { confirmedAt: at + HOUR, ip: '198.51.100.7', token: `demo-${ref}` }
              : { orderId: c.orders[0]?.externalId },
        });
      }
      if (c.objected)
        await engine.consents.record({
          customer: ref,
          action: 'withdraw',
          source: 'api',
          recordedAt: at + 30 * DAY,
          evidence: { channel: 'email reply' },
        });
    }
    for (const c of page) for (const o of c.orders) await engine.orders.record(o);
  }
}

/**
 * Runs the demo: a fresh SQLite database with a synthetic shop, the example sequences, the worker
 * on an accelerated manual clock writing `.eml` files, and simulated recipients whose opens,
 * clicks, survey answers, unsubscribes and purchases go through the real tracking code.
 */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  // The demo recreates its database; it never wipes a server database it was pointed at.
  if (/^postgres(ql)?:/i.test(o.db))
    throw new InputError('demo database', [
      `the demo runs on a SQLite file it recreates, not on ${o.db.replace(/\/\/[^@/]*@/, '//…@')}; pass a file path`,
    ]);
  for (const f of [o.db, `${o.db}-wal`, `${o.db}-shm`]) if (existsSync(f)) rmSync(f);
  if (existsSync(o.out)) for (const f of readdirSync(o.out)) if (f.endsWith('.eml')) rmSync(join(o.out, f));
  const rand = seededRandom(o.seed);
  const clock = new ManualClock(DEMO_START);
  const engine = await createEngine(
    {
      database: o.db,
      transport: { type: 'outbox', dir: o.out },
      ...(o.sequencesDir ? { sequencesDir: o.sequencesDir } : {}),
      ...(o.templatesDir ? { templatesDir: o.templatesDir } : {}),
    },
    // The demo prints its own progress and summary; the engine's warnings of every simulated day
    // (a model note per daily scoring run) would drown it. COMEBACK_LOG=warn shows them.
    { clock, logger: createLogger({ level: process.env.COMEBACK_LOG ?? 'error', audience: 'command' }) },
  );
  const shop = syntheticShop(rand, o.customers, DEMO_START);
  o.progress?.(`generated ${shop.length} customers with ${shop.reduce((s, c) => s + c.orders.length, 0)} orders`);
  await loadShop(engine, shop);
  const byId = new Map(shop.map((c) => [c.input.externalId, c]));
  // Sequences the shop starts when a subscription is cancelled (others, like `returned`, start from on_success).
  const cancellationSequences = engine.ctx.sequences
    .ids()
    .filter((id) => engine.ctx.sequences.get(id).audience.trigger === 'subscription_cancelled');

  // The server's recording path: opens and clicks are buffered, written before anything reads them.
  const writer = new EventWriter(sinkFor(engine.ctx.db, trackingHooksFor(engine.ctx)), {
    batchSize: 1000,
    flushMs: 60_000,
  });
  const tracker = new Tracker(trackerDeps(engine.ctx), writer);
  const pending: PlannedAction[] = [];
  const boostedUntil = new Map<number, number>(); // customer id → a human click makes a purchase likelier until then
  let lastSeen = 0;
  let orderNo = 0;
  const end = DEMO_START + o.days * DAY;

  const runPendingUntil = async (t: number) => {
    pending.sort((a, b) => a.at - b.at);
    while (pending.length && pending[0]!.at <= t) {
      const a = pending.shift()!;
      if (a.at > clock.now()) clock.set(a.at);
      if (!a.buffered) await writer.flush();
      await a.run();
    }
    await writer.flush();
    if (t > clock.now()) clock.set(t);
  };

  const planSent = async () => {
    const sent = await engine.ctx.k
      .selectFrom('messages')
      .innerJoin('enrollments', 'enrollments.id', 'messages.enrollment_id')
      .select([
        'messages.id',
        'messages.sent_at',
        'messages.links',
        'messages.template',
        'messages.customer_id',
        'enrollments.current_step',
      ])
      .where('messages.status', '=', 'sent')
      .where('messages.id', '>', lastSeen)
      .orderBy('messages.id')
      .execute();
    for (const m of sent) {
      lastSeen = m.id;
      const links = (JSON.parse(m.links) as string[]).length;
      pending.push(
        ...planRecipient(
          engine,
          tracker,
          rand,
          { id: m.id, sent_at: m.sent_at!, step_index: m.current_step - 1, links, template: m.template },
          DEFAULT_BEHAVIOUR,
          (_id, at) => boostedUntil.set(m.customer_id, at + 14 * DAY),
        ),
      );
    }
  };

  const purchases = async (day: number) => {
    // Enrolled customers (mailed and holdout alike) buy at a baseline rate; a human click lifts it.
    const enrolled = await engine.ctx.k
      .selectFrom('enrollments')
      .innerJoin('customers', 'customers.id', 'enrollments.customer_id')
      .select(['customers.id', 'customers.external_id'])
      .where('enrollments.status', 'in', ['active', 'completed'])
      .distinct()
      .execute();
    for (const c of enrolled) {
      const boosted = (boostedUntil.get(c.id) ?? 0) > clock.now();
      if (rand() >= (boosted ? 0.03 : 0.003)) continue;
      const coupon = boosted
        ? await engine.ctx.k
            .selectFrom('coupons')
            .select('code')
            .where('customer_id', '=', c.id)
            .where('redeemed_order_id', 'is', null)
            .where('expires_at', '>', clock.now())
            .executeTakeFirst()
        : undefined;
      const s = byId.get(c.external_id)!;
      const total = Math.round(s.basket * (0.6 + rand() * 0.8));
      const discount = coupon ? Math.round(total * 0.1) : 0;
      pending.push({
        at: day + 9 * HOUR + rand() * 12 * HOUR,
        run: () =>
          engine.orders.record({
            externalId: `${c.external_id}-D${++orderNo}`,
            customerExternalId: c.external_id,
            orderedAt: clock.now(),
            totalMinor: total - discount,
            discountMinor: discount,
            couponCode: coupon?.code ?? null,
          }),
      });
    }
    // Loyal customers keep buying on their own rhythm.
    for (const s of shop) {
      if (s.segment !== 'loyal' || rand() >= 1 / s.intervalDays) continue;
      pending.push({
        at: day + 12 * HOUR,
        run: () =>
          engine.orders.record({
            externalId: `${s.input.externalId}-D${++orderNo}`,
            customerExternalId: s.input.externalId,
            orderedAt: clock.now(),
            totalMinor: s.basket,
          }),
      });
    }
    // A few subscription cancellations start the sequences triggered by them.
    for (const seq of cancellationSequences) {
      const cancellations = Math.floor(shop.length * 0.001 + rand()); // about one customer in a thousand a day
      for (let i = 0; i < cancellations; i++) {
        const s = shop[Math.floor(rand() * shop.length)]!;
        await engine.trigger(seq, s.input.externalId, { plan: 'coffee-monthly' });
      }
    }
  };

  for (let day = DEMO_START; day < end; day += DAY) {
    await runPendingUntil(day);
    await engine.enrollAll();
    await purchases(day);
    for (let hour = 0; hour < 24; hour++) {
      await runPendingUntil(day + hour * HOUR);
      await engine.runDue();
      await planSent();
    }
    const n = (day - DEMO_START) / DAY + 1;
    if (n % 7 === 0 || n === o.days) {
      const sent = await engine.ctx.k
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'sent')
        .executeTakeFirstOrThrow();
      o.progress?.(`day ${n}/${o.days}: ${Number(sent.n)} mails sent so far`);
    }
  }
  await runPendingUntil(end);
  await writer.close();
  const stats = await engine.stats();
  const report = await engine.report();
  const emlFiles = existsSync(o.out) ? readdirSync(o.out).filter((f) => f.endsWith('.eml')).length : 0;
  if (o.keepOpen) return { stats, report, emlFiles, engine };
  await engine.close();
  return { stats, report, emlFiles };
}
