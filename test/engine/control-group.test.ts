/**
 * The global control group is stable: the same customers are in it after a sequence is added,
 * after the shop is imported again into a new database (new customer ids, same addresses) and
 * after the worker restarts; its members are never mailed, and who may not be mailed is on
 * neither side.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { DAY, ManualClock } from '../../src/clock.js';
import { appendConsents } from '../../src/consent/ledger.js';
import { MemoryTransport } from '../../src/delivery/memory.js';
import { controlDraw, inControlGroup } from '../../src/engine/control-group.js';
import type { Engine } from '../../src/engine/engine.js';
import { enrollCustomers, type EnrollResult } from '../../src/engine/enroll.js';
import { parseSequence } from '../../src/sequences/loader.js';
import { hashEmail } from '../../src/util/email.js';
import { sqliteUrl } from '../helpers/backends.js';

const START = Date.UTC(2026, 4, 4, 9);

function sequence(id: string) {
  const yaml = `id: ${id}\nname: ${id}\naudience: { trigger: lapsed }\nconsent: [double_opt_in]\nholdout: 10%\nsteps:\n  - id: hello\n    template: winback/miss-you\n    subject: "We miss you"\n`;
  const parsed = parseSequence(yaml, `${id}.yaml`);
  if (!parsed.sequence) throw new Error(parsed.problems.map((p) => p.message).join('; '));
  return { definition: parsed.sequence, file: `${id}.yaml`, hash: createHash('sha256').update(yaml).digest('hex') };
}

const ids = Array.from({ length: 400 }, (_, i) => `C${i}`);
const controlGroup = { share: 0.2, rotation: '2026' };
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

async function open(database: string, seqs: string[], clock: ManualClock, transport = new MemoryTransport()) {
  engine = await createEngine({ database, controlGroup }, { clock, transport, sequences: seqs.map(sequence) });
  return { e: engine, transport };
}

/** Imports the customers (in the given order) with consent, except those listed as without. */
async function importShop(e: Engine, order: string[], without: Set<string> = new Set()) {
  const map = await e.customers.upsert(
    order.map((id) => ({
      externalId: id,
      email: `${id.toLowerCase()}@example.com`,
      locale: 'en',
      timeZone: 'UTC',
      acquiredVia: 'newsletter' as const,
    })),
  );
  const grants = order
    .filter((id) => !without.has(id))
    .map((id) => ({
      customerId: map.get(id)!,
      action: 'grant' as const,
      basis: 'double_opt_in' as const,
      source: 'test',
      recordedAt: START - DAY,
      evidence: {},
    }));
  for (let i = 0; i < grants.length; i += 200) await appendConsents(e.ctx.k, grants.slice(i, i + 200));
  return map;
}

async function enrol(e: Engine, seqId: string, map: Map<string, number>): Promise<EnrollResult> {
  const result: EnrollResult = { sequenceId: seqId, considered: 0, enrolled: 0, holdout: 0, skipped: {} };
  await enrollCustomers(e.ctx, e.ctx.sequences.get(seqId), [...map.values()], result);
  return result;
}

/** External ids of the control-group enrolments of a sequence. */
async function controlOf(e: Engine, seqId: string): Promise<string[]> {
  const rows = await e.ctx.k
    .selectFrom('enrollments as en')
    .innerJoin('customers as c', 'c.id', 'en.customer_id')
    .select('c.external_id')
    .where('en.sequence_id', '=', seqId)
    .where('en.control', '=', 1)
    .execute();
  return rows.map((r) => r.external_id).sort();
}

describe('the global control group', () => {
  it('keeps the same members across a new sequence, a re-import and a restart, and none of them is mailed', async () => {
    const file = sqliteUrl();
    const clock = new ManualClock(START);
    const withoutConsent = new Set(['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'C8', 'C9', 'C10']);
    const expected = ids
      .filter(
        (id) =>
          !withoutConsent.has(id) &&
          inControlGroup({ email_hash: hashEmail(`${id.toLowerCase()}@example.com`), external_id: id }, controlGroup),
      )
      .sort();
    expect(expected.length).toBeGreaterThan(50);
    expect(expected.length).toBeLessThan(110);

    const first = await open(file, ['first'], clock);
    const map = await importShop(first.e, ids, withoutConsent);
    const r1 = await enrol(first.e, 'first', map);
    // Who may not be mailed is on neither side: not enrolled at all.
    expect(r1.enrolled).toBe(ids.length - withoutConsent.size);
    expect(r1.control).toBe(expected.length);
    expect(await controlOf(first.e, 'first')).toEqual(expected);
    await first.e.runDue();
    const mailed = new Set(first.transport.sent.map((m) => String(m.to)));
    expect(mailed.size).toBeGreaterThan(200);
    for (const id of expected) expect(mailed.has(`${id.toLowerCase()}@example.com`)).toBe(false);
    await first.e.close();
    engine = undefined;

    // Restart with a sequence added: the new sequence holds out the same customers.
    clock.advance(DAY);
    const second = await open(file, ['first', 'second'], clock);
    await enrol(second.e, 'second', map);
    expect(await controlOf(second.e, 'second')).toEqual(expected);
    expect(await controlOf(second.e, 'first')).toEqual(expected);
    await second.e.runDue();
    for (const m of second.transport.sent) expect(expected).not.toContain(String(m.to).split('@')[0]!.toUpperCase());
    await second.e.close();
    engine = undefined;

    // The shop imported again into a new database, in another order: new ids, same members.
    const third = await open(sqliteUrl(), ['first'], clock);
    const reversed = await importShop(third.e, [...ids].reverse(), withoutConsent);
    expect(reversed.get('C0')).not.toBe(map.get('C0'));
    await enrol(third.e, 'first', reversed);
    expect(await controlOf(third.e, 'first')).toEqual(expected);
  }, 120_000);

  it('rotates with its key, and a larger share keeps every earlier member', () => {
    const keys = ids.map((id) => ({ email_hash: hashEmail(`${id.toLowerCase()}@example.com`), external_id: id }));
    const members = (share: number, rotation: string) =>
      new Set(keys.filter((k) => inControlGroup(k, { share, rotation })).map((k) => k.external_id));
    const now = members(0.2, '2026');
    const bigger = members(0.3, '2026');
    for (const id of now) expect(bigger.has(id)).toBe(true);
    const next = members(0.2, '2027');
    const overlap = [...now].filter((id) => next.has(id)).length;
    // A new draw: about 20% of the old members by chance, not the same group.
    expect(overlap / now.size).toBeLessThan(0.4);
    expect(members(0, '2026').size).toBe(0);
    // The draw depends on the address only: a second account with the same address is in the same group.
    expect(controlDraw({ email_hash: keys[0]!.email_hash, external_id: 'other' }, '2026')).toBe(
      controlDraw(keys[0]!, '2026'),
    );
  });
});
