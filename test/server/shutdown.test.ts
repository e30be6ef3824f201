import autocannon from 'autocannon';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { closeOnSignal } from '../../src/server/index.js';
import { waitFor } from '../worker/fixture.js';
import { seedMessage, startServer, UA } from './helpers.js';

describe('graceful shutdown under load', () => {
  it('loses no accepted click when SIGTERM arrives during load', async () => {
    // A long flush interval and large batches: what is written at the end is written by the close.
    const s = await startServer({ server: { eventFlushMs: 60_000, eventBatchSize: 2000 } });
    const paths: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { messageId } = await seedMessage(s);
      for (const index of [0, 1])
        paths.push(`/c/${s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index })}`);
    }
    const signals = new EventEmitter();
    const closed = closeOnSignal(s.app, { source: signals });
    let n = 0;
    const load = autocannon({
      url: s.url,
      connections: 16,
      duration: 120, // stopped below, once the server has closed
      headers: { 'user-agent': UA.chromeMac },
      requests: [{ setupRequest: (req) => ({ ...req, path: paths[n++ % paths.length]! }) }],
    });
    let redirects = 0;
    load.on('response', (_client, status) => void (status === 307 && redirects++));
    // The signal comes once clicks were answered and wait in memory, however busy the machine.
    await waitFor(
      () => redirects >= 150 && s.app.comeback.writer.pendingCount > 0,
      60_000,
      'clicks answered and pending',
    );
    const pendingAtSignal = s.app.comeback.writer.pendingCount;
    signals.emit('SIGTERM');
    await closed;
    load.stop();
    const result = await load;
    const accepted = result.statusCodeStats['307']?.count ?? 0;
    const stored = await s.engine.ctx.k
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('type', '=', 'click')
      .executeTakeFirstOrThrow();
    await s.engine.close();
    expect(pendingAtSignal).toBeGreaterThan(0); // events were waiting in memory when the signal came
    expect(accepted).toBeGreaterThan(100);
    expect(Number(stored.n)).toBe(accepted); // 0 lost
  });
});
