/**
 * Timing: send windows in the customer's time zone across DST changes, the preferred send hour
 * learned from human opens, and frequency caps that defer instead of dropping.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { DAY, HOUR, ManualClock } from '../../src/clock.js';
import { appendConsents } from '../../src/consent/ledger.js';
import { MemoryTransport } from '../../src/delivery/memory.js';
import type { Engine } from '../../src/engine/engine.js';
import { localHour, nextAtHour, nextInWindow, preferredHour } from '../../src/engine/timing.js';
import { sqliteUrl } from '../helpers/backends.js';
import { formatUpcoming, upcoming } from '../../src/worker/status.js';
import { ROOT } from '../worker/fixture.js';

const utc = (s: string) => Date.parse(`${s}Z`);
const window = (hours: string, days?: ('mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun')[]) => ({
  hours,
  timezone: 'customer',
  ...(days ? { days } : {}),
});

describe('send windows (DST-correct, in the customer time zone)', () => {
  it('Europe/Berlin spring forward: a 09:00 window opens at 07:00 UTC on the first summer-time day', () => {
    // Sat 2026-03-28 20:00 CET; the clocks jump 02:00 → 03:00 on Sunday.
    expect(nextInWindow(utc('2026-03-28T19:00:00'), window('09:00-18:00'), 'Europe/Berlin')).toBe(
      utc('2026-03-29T07:00:00'),
    );
  });
  it('Europe/Berlin fall back: a 09:00 window opens at 08:00 UTC on the first winter-time day', () => {
    expect(nextInWindow(utc('2026-10-24T18:00:00'), window('09:00-18:00'), 'Europe/Berlin')).toBe(
      utc('2026-10-25T08:00:00'),
    );
  });
  it('America/New_York spring forward: 08:00 EDT is 12:00 UTC on the change day', () => {
    expect(nextInWindow(utc('2026-03-08T05:00:00'), window('08:00-09:00'), 'America/New_York')).toBe(
      utc('2026-03-08T12:00:00'),
    );
  });
  it('a window inside the skipped hour moves to the next day that has it', () => {
    // 02:00–03:00 local does not exist in Berlin on 2026-03-29.
    expect(nextInWindow(utc('2026-03-28T23:00:00'), window('02:00-03:00'), 'Europe/Berlin')).toBe(
      utc('2026-03-30T00:00:00'),
    );
  });
  it('the repeated hour of the fall-back night is inside a window that contains it', () => {
    // 02:30 CET (after the change) is 01:30 UTC; the window 02:00–03:00 local covers it.
    const t = utc('2026-10-25T01:30:00');
    expect(nextInWindow(t, window('02:00-03:00'), 'Europe/Berlin')).toBe(t);
  });
  it('weekday filters use the local weekday (Tuesday in Tokyo starts on Monday UTC)', () => {
    expect(nextInWindow(utc('2026-06-01T12:00:00'), window('09:00-17:00', ['tue']), 'Asia/Tokyo')).toBe(
      utc('2026-06-02T00:00:00'),
    );
  });
  it('half-hour zones land on their own quarter-hour grid (India +05:30)', () => {
    expect(nextInWindow(utc('2026-06-01T00:00:00'), window('09:00-17:00'), 'Asia/Kolkata')).toBe(
      utc('2026-06-01T03:30:00'),
    );
  });
});

describe('preferred send hour', () => {
  const at = (local: string) => utc(local) - 2 * HOUR; // Berlin summer time
  it('is the local hour with the most human opens, neighbours counting half', () => {
    const opens = ['2026-06-01T19:10:00', '2026-06-03T19:40:00', '2026-06-05T18:55:00', '2026-06-07T07:05:00'].map(at);
    expect(preferredHour(opens, 'Europe/Berlin', 3)).toBe(19);
    expect(preferredHour(opens.slice(0, 2), 'Europe/Berlin', 3)).toBeUndefined();
    expect(preferredHour(opens, 'Europe/Berlin', 0)).toBeUndefined();
  });
  it('nextAtHour keeps the local hour across a DST change', () => {
    const t = nextAtHour(utc('2026-10-24T20:00:00'), 19, 'Europe/Berlin'); // Sat 22:00 CEST
    expect(t).toBe(utc('2026-10-25T18:00:00')); // Sun 19:00 CET
    expect(localHour(t, 'Europe/Berlin')).toBe(19);
  });
});

describe('scheduler timing on the engine', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  async function setup(yamls: Record<string, string>, start: number) {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-timing-'));
    for (const [name, y] of Object.entries(yamls)) writeFileSync(join(dir, `${name}.yaml`), y);
    const clock = new ManualClock(start);
    const transport = new MemoryTransport();
    engine = await createEngine(
      { database: sqliteUrl(), sequencesDir: dir, templatesDir: join(ROOT, 'templates') },
      { clock, transport, logger: pino({ level: 'silent' }) },
    );
    const ids = await engine.customers.upsert({
      externalId: 'ny',
      email: 'ny@example.com',
      firstName: 'Ny',
      locale: 'en',
      timeZone: 'America/New_York',
    });
    await appendConsents(engine.ctx.k, [
      { customerId: ids.get('ny')!, action: 'grant', basis: 'double_opt_in', source: 'test', recordedAt: start },
    ]);
    return { clock, transport, e: engine };
  }

  const seq = (id: string, extra = '', steps = `  - id: first\n    template: winback/miss-you\n    subject: "Hi"\n`) =>
    `id: ${id}\nname: ${id}\nversion: 1\naudience:\n  trigger: go\nconsent: [double_opt_in]\n${extra}steps:\n${steps}`;

  it('a follow-up waits for the hour the customer usually opens, inside the window', async () => {
    const steps = `  - id: first\n    template: winback/miss-you\n    subject: "Hi"\n  - id: second\n    wait: 2d\n    template: winback/miss-you\n    subject: "Again"\n`;
    // Mon 2026-06-01 10:00 EDT
    const { clock, transport, e } = await setup(
      { two: seq('two', 'send_window: { hours: "08:00-21:00" }\n', steps) },
      utc('2026-06-01T14:00:00'),
    );
    await e.trigger('two', 'ny');
    await e.runDue();
    expect(transport.sent).toHaveLength(1);
    const messageId = transport.sent[0]!.messageId;
    for (const day of [1, 2, 3])
      await e.events.record({ messageId, type: 'open', source: 'test', at: utc(`2026-05-2${day}T23:20:00`) }); // 19:20 EDT
    clock.set(utc('2026-06-03T14:00:00')); // the follow-up is due at 10:00 EDT
    const r = await e.runDue();
    expect(r.deferred).toBe(1);
    expect(transport.sent).toHaveLength(1);
    const enrollment = await e.ctx.k.selectFrom('enrollments').select('next_due_at').executeTakeFirstOrThrow();
    expect(enrollment.next_due_at).toBe(utc('2026-06-03T23:00:00')); // 19:00 EDT
    clock.set(enrollment.next_due_at!);
    await e.runDue();
    expect(transport.sent).toHaveLength(2);
  });

  it('the worker summary says what waits for the send window and when it opens', async () => {
    // Mon 2026-06-01 03:00 EDT, before an 08:00-20:00 window in New York.
    const { clock, transport, e } = await setup(
      { w: seq('w', 'send_window: { hours: "08:00-20:00" }\n') },
      utc('2026-06-01T07:00:00'),
    );
    expect(formatUpcoming(await upcoming(e))).toBe('next: nothing planned');
    await e.trigger('w', 'ny');
    await e.runDue();
    expect(transport.sent).toHaveLength(0);
    const u = await upcoming(e);
    expect(u).toEqual({
      enrolments: 1,
      retries: 0,
      nextAt: utc('2026-06-01T12:00:00'),
      parked: { mails: 0, enrolments: 0 },
    });
    expect(formatUpcoming(u)).toBe(
      'next: 1 enrolment wait for a later step or send window; the first is due 2026-06-01T12:00:00.000Z',
    );
    clock.set(u.nextAt!);
    await e.runDue();
    expect(transport.sent).toHaveLength(1);
  });

  it('a frequency cap across sequences defers the second mail, never drops it', async () => {
    const cap = 'frequency_cap: { max: 1, per: 7d }\n';
    const { clock, transport, e } = await setup({ a: seq('a', cap), b: seq('b', cap) }, utc('2026-06-01T14:00:00'));
    await e.trigger('a', 'ny');
    await e.trigger('b', 'ny');
    const first = await e.runDue();
    expect(first).toMatchObject({ reserved: 1, deferred: 1 });
    expect(transport.sent).toHaveLength(1);
    clock.advance(6 * DAY);
    await e.runDue();
    expect(transport.sent).toHaveLength(1);
    clock.advance(DAY + HOUR);
    await e.runDue();
    expect(transport.sent).toHaveLength(2);
    expect(new Set(transport.sent.map((m) => m.headers['X-Comeback-Message']))).toHaveProperty('size', 2);
  });

  it('the cap counts per address: a second customer record with the same email shares it', async () => {
    const cap = 'frequency_cap: { max: 1, per: 7d }\n';
    const { clock, transport, e } = await setup({ a: seq('a', cap), b: seq('b', cap) }, utc('2026-06-01T14:00:00'));
    // The same person as a guest order record, with the address in other letter case.
    const guest = (
      await e.customers.upsert({
        externalId: 'ny-guest',
        email: 'NY@example.com',
        locale: 'en',
        timeZone: 'America/New_York',
      })
    ).get('ny-guest')!;
    await appendConsents(e.ctx.k, [
      { customerId: guest, action: 'grant', basis: 'double_opt_in', source: 'test', recordedAt: clock.now() },
    ]);
    await e.trigger('a', 'ny');
    await e.runDue();
    expect(transport.sent).toHaveLength(1);
    // A later pass, so the first mail is already in the ledger rather than in this batch.
    await e.trigger('b', 'ny-guest');
    expect(await e.runDue()).toMatchObject({ reserved: 0, deferred: 1 });
    expect(transport.sent).toHaveLength(1);
    clock.advance(7 * DAY + HOUR);
    await e.runDue();
    expect(transport.sent.map((m) => m.to.toLowerCase())).toEqual(['ny@example.com', 'ny@example.com']);
  });
});
