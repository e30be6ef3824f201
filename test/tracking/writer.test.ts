import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventRow, EventSink } from '../../src/tracking/sinks.js';
import { EventWriter, replaySpilled, sinkFor } from '../../src/tracking/writer.js';
import { dialects } from '../helpers/backends.js';
import { waitFor } from '../worker/fixture.js';
import { seedMessage, startServer, type TestServer } from '../server/helpers.js';

const row = (messageId: number, at: number, extra: Partial<EventRow> = {}): EventRow => ({
  message_id: messageId,
  customer_id: 1,
  enrollment_id: 1,
  type: 'click',
  link_index: 0,
  machine: 0,
  source: 'link',
  occurred_at: at,
  ...extra,
});

/** A sink that fails the first `failures` writes, then records what it is given. */
function flakySink(failures: number): EventSink & { rows: EventRow[] } {
  let left = failures;
  const rows: EventRow[] = [];
  return {
    rows,
    async write(batch) {
      if (left-- > 0) throw new Error('database unavailable');
      rows.push(...batch);
      return batch.length;
    },
  };
}

describe('the batched event writer', () => {
  it('writes when the batch is full or the interval has passed', async () => {
    const sink = flakySink(0);
    const w = new EventWriter(sink, { batchSize: 3, flushMs: 200 });
    for (let i = 0; i < 3; i++) w.push(row(1, i));
    await waitFor(() => sink.rows.length === 3, 10_000, 'the full batch'); // written without waiting for the interval
    w.push(row(1, 3));
    await new Promise((r) => setImmediate(r));
    expect(sink.rows).toHaveLength(3);
    await waitFor(() => sink.rows.length === 4, 10_000, 'the interval to pass'); // no full batch: the interval writes it
    await w.close();
  });

  it('keeps rows through failed writes and retries them', async () => {
    const sink = flakySink(2);
    const errors: unknown[] = [];
    const w = new EventWriter(sink, { batchSize: 10, flushMs: 5, onError: (e) => errors.push(e) });
    for (let i = 0; i < 5; i++) w.push(row(1, i));
    await waitFor(() => w.counts.written === 5, 10_000, 'the retries to write every row');
    expect(errors).toHaveLength(2);
    expect(sink.rows.map((r) => r.occurred_at)).toEqual([0, 1, 2, 3, 4]);
    expect(w.counts).toMatchObject({ accepted: 5, written: 5, failures: 2 });
    await w.close();
  });

  it('on close, writes what it can and keeps the rest in a spill file it names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-spill-'));
    const w = new EventWriter(flakySink(100), { flushMs: 60_000, spillDir: dir });
    for (let i = 0; i < 7; i++) w.push(row(1, i));
    await expect(w.close()).rejects.toThrow(/could not write 7 tracking events .*kept in .*events-.*\.jsonl/);
    expect(readdirSync(dir)).toHaveLength(1);
    expect(() => w.push(row(1, 8))).toThrow(/closed/);
  });
});

describe.each(dialects)('spilled events and flags on $name', ({ url }) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('replays a spill file into the database on the next start', async () => {
    s = await startServer({ database: await url() });
    const { messageId } = await seedMessage(s);
    const dir = mkdtempSync(join(tmpdir(), 'comeback-spill-'));
    const w = new EventWriter(flakySink(100), { flushMs: 60_000, spillDir: dir });
    for (let i = 0; i < 3; i++) w.push(row(messageId, s.clock.now() + i));
    await w.close().catch(() => undefined);
    expect(await replaySpilled(s.engine.ctx.k, dir)).toBe(3);
    expect(readdirSync(dir)).toHaveLength(0);
    expect(
      await s.engine.ctx.k.selectFrom('events').select('id').where('message_id', '=', messageId).execute(),
    ).toHaveLength(3);
  });

  it('flags stored and pending clicks of a message from a time on, and skips duplicate provider events', async () => {
    s = await startServer({ database: await url() });
    const { messageId } = await seedMessage(s);
    const other = await seedMessage(s);
    const w = new EventWriter(sinkFor(s.engine.ctx.db), { flushMs: 60_000 });
    const t = s.clock.now();
    w.push(row(messageId, t - 5_000)); // before the burst: stays human
    w.push(row(messageId, t - 1_000));
    w.push(row(other.messageId, t - 1_000)); // another message: stays human
    await w.flush();
    w.push(row(messageId, t));
    w.reflag(messageId, t - 1_500, 'multi_link_burst');
    w.push(row(messageId, t + 1, { type: 'delivered', provider_event_id: 'sendgrid:x' }));
    w.push(row(messageId, t + 2, { type: 'delivered', provider_event_id: 'sendgrid:x' }));
    await w.close();
    const rows = await s.engine.ctx.k
      .selectFrom('events')
      .select(['message_id', 'type', 'occurred_at', 'machine', 'machine_reason'])
      .orderBy('id')
      .execute();
    expect(rows.map((r) => [r.message_id === messageId ? 'm' : 'other', r.type, r.occurred_at - t, r.machine])).toEqual(
      [
        ['m', 'click', -5_000, 0],
        ['m', 'click', -1_000, 1],
        ['other', 'click', -1_000, 0],
        ['m', 'click', 0, 1],
        ['m', 'delivered', 1, 0],
      ],
    );
    expect(w.counts).toMatchObject({ accepted: 6, written: 5, duplicates: 1 });
  });
});
