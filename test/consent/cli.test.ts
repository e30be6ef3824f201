import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEngine, DAY, type Engine } from '../../src/index.js';
import { MemoryTransport } from '../../src/testing.js';
import { sequenceYaml } from './fixtures.js';
import { runCliInProcess } from '../helpers/cli.js';

let dir: string;
let config: string;
const engineConfig = () => ({
  database: join(dir, 'shop.db'),
  sequencesDir: join(dir, 'sequences'),
  transport: { type: 'outbox' as const, dir: join(dir, 'outbox') },
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'comeback-privacy-cli-'));
  mkdirSync(join(dir, 'sequences'));
  writeFileSync(join(dir, 'sequences', 'doi.yaml'), sequenceYaml('doi-only', ['double_opt_in']));
  config = join(dir, 'comeback.config.json');
  writeFileSync(config, JSON.stringify(engineConfig()));
  const engine = await createEngine(engineConfig());
  try {
    await engine.customers.upsert({
      externalId: 'kim',
      email: 'kim@example.com',
      firstName: 'Kim',
      locale: 'en',
      acquiredVia: 'sale',
    });
    await engine.orders.record({
      externalId: 'k1',
      customerExternalId: 'kim',
      orderedAt: Date.now() - 90 * DAY,
      totalMinor: 2500,
      items: [{ sku: 'TEA-1', name: 'Sencha', unitPriceMinor: 2500 }],
    });
    await engine.consents.record({
      customer: 'kim',
      action: 'grant',
      basis: 'double_opt_in',
      source: 'newsletter_form',
      textVersion: 'nl-3',
      evidence: { confirmIp: '203.0.113.5', confirmedAt: Date.now() - DAY },
    });
    await engine.trigger('doi-only', 'kim');
    await engine.runDue();
  } finally {
    await engine.close();
  }
});

afterEach(() => vi.restoreAllMocks());

const cli = (...args: string[]) => runCliInProcess(['--config', config, ...args]);

async function withEngine<T>(fn: (e: Engine) => Promise<T>): Promise<T> {
  const e = await createEngine(engineConfig(), { transport: new MemoryTransport() });
  try {
    return await fn(e);
  } finally {
    await e.close();
  }
}

describe('comeback audit / export / forget', () => {
  it('audit shows why each mail was allowed', async () => {
    const { out } = await cli('audit', 'KIM@example.com');
    expect(out).toContain('audit of kim@example.com');
    expect(out).toContain('suppressed: no');
    expect(out).toMatch(/customer \d+ \(kim\), address obtained via sale/);
    expect(out).toMatch(/consent now: double_opt_in \(#\d+/);
    expect(out).toContain('doi-only: may be mailed (double_opt_in)');
    expect(out).toMatch(/#\d+ doi-only\/miss-you sent /);
    expect(out).toMatch(
      /double_opt_in by ledger entry #\d+ \(grant via newsletter_form, wording nl-3, .*\); in force when sent/,
    );
    expect(out).toContain('confirmIp=203.0.113.5');
    const json = JSON.parse((await cli('audit', 'kim@example.com', '--json')).out);
    expect(json.customers[0].messages[0]).toMatchObject({ legalBasis: 'double_opt_in', inForceAtSend: true });
  });

  it('export writes everything as JSON, to stdout or a private file', async () => {
    const data = JSON.parse((await cli('export', 'kim@example.com')).out);
    expect(data.customers[0]).toMatchObject({ external_id: 'kim', email: 'kim@example.com', first_name: 'Kim' });
    expect(data.customers[0].orders[0].items[0]).toMatchObject({ name: 'Sencha' });
    const file = join(dir, 'kim.json');
    await cli('export', 'kim@example.com', '--out', file);
    expect(JSON.parse(readFileSync(file, 'utf8')).email).toBe('kim@example.com');
    expect(statSync(file).mode & 0o077).toBe(0);
    await expect(cli('export', 'not an address')).rejects.toThrow(/expected an email address/);
  });

  it('forget erases, then audit and export find only the suppression, and the person is never mailed again', async () => {
    const { out } = await cli('forget', 'kim@example.com', '--yes');
    expect(out).toMatch(/erased 1 customer record\(s\) of kim@example.com/);
    expect(out).toMatch(/outbox files deleted: 1/);
    const audit = (await cli('audit', 'kim@example.com')).out;
    expect(audit).toMatch(/suppressed: all \(erasure/);
    expect(audit).toContain('no customer record holds this address');
    expect(JSON.parse((await cli('export', 'kim@example.com')).out).customers).toEqual([]);
    await withEngine(async (e) => {
      // The erased address is not stored again, so there is no one to enrol.
      expect(await e.customers.upsert({ externalId: 'kim', email: 'kim@example.com', locale: 'en' })).toEqual(
        new Map(),
      );
      await expect(e.trigger('doi-only', 'kim')).rejects.toThrow(/not found/);
    });
  });
});
