/**
 * The demo's simulated recipients record through the server's `Tracker` (one tracking path): burst
 * detection, the scanner rule on survey links and idempotent unsubscribes hold for them too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { trackerDeps, trackingHooksFor } from '../../src/engine/tracking.js';
import { Tracker } from '../../src/tracking/tracker.js';
import { EventWriter, sinkFor } from '../../src/tracking/writer.js';
import { events, seedMessage, startServer, UA, type TestServer } from '../server/helpers.js';

describe('the demo recording path', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('flags a multi-link burst, keeps a scanner off the survey, and records one unsubscribe', async () => {
    s = await startServer();
    const ctx = s.engine.ctx;
    const writer = new EventWriter(sinkFor(ctx.db, trackingHooksFor(ctx)), { batchSize: 1000, flushMs: 60_000 });
    const tracker = new Tracker(trackerDeps(ctx), writer);
    const { messageId, customerId } = await seedMessage(s, { links: ['https://shop.test/a', 'https://shop.test/b'] });
    const sign = (purpose: 'click' | 'reason' | 'unsubscribe', index?: number) =>
      ctx.signer.sign({ purpose, id: messageId, index });

    // A scanner follows every link of the mail within a second.
    s.clock.advance(60_000);
    expect(await tracker.click(sign('click', 0), { method: 'GET', userAgent: UA.chromeMac })).toMatchObject({
      kind: 'redirect',
    });
    s.clock.advance(300);
    await tracker.click(sign('click', 1), { method: 'GET', userAgent: UA.chromeMac });
    // A link scanner's GET of a survey answer is a machine click, never a churn reason.
    expect(await tracker.reason(sign('reason', 0), { method: 'GET', userAgent: 'Mimecast URL Protect' })).toBe(true);
    // A double click on unsubscribe withdraws once.
    expect(await tracker.unsubscribe(sign('unsubscribe'))).toBe(true);
    expect(await tracker.unsubscribe(sign('unsubscribe'))).toBe(true);
    await writer.close();

    const rows = await events(s);
    const clicks = rows.filter((r) => r.type === 'click' && r.source === 'link');
    expect(clicks.map((r) => [r.machine, r.machine_reason])).toEqual([
      [1, 'multi_link_burst'],
      [1, 'multi_link_burst'],
    ]);
    expect(rows.filter((r) => r.type === 'reason')).toHaveLength(0);
    expect(rows.filter((r) => r.source === 'reason_link').map((r) => r.machine)).toEqual([1]);
    expect(rows.filter((r) => r.type === 'unsubscribe')).toHaveLength(1);
    expect((await s.engine.consents.state(customerId)).objected).toBe(true);
  });
});
