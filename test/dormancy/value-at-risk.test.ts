import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadSyntheticShop } from '../../src/dormancy/synthetic-load.js';
import { dormantCandidates } from '../../src/engine/audience.js';
import { createEngine, DAY } from '../../src/index.js';
import { MemoryTransport } from '../../src/testing.js';
import { parseSequence } from '../../src/sequences/loader.js';
import { sqliteUrl } from '../helpers/backends.js';

it('the example sequence by value at risk picks valuable customers unlikely to come back on their own', async () => {
  const file = 'sequences/winback-value-at-risk.yaml';
  const { sequence, problems } = parseSequence(readFileSync(file, 'utf8'), file);
  expect(problems).toEqual([]);
  const now = Date.UTC(2026, 5, 1);
  const engine = await createEngine(
    { database: sqliteUrl(), sequencesDir: 'none' },
    { transport: new MemoryTransport() },
  );
  try {
    await loadSyntheticShop(engine.ctx.db, { seed: 21, customers: 2000, now: now - DAY });
    const run = await engine.score({ now });
    expect('method' in run.pReturn).toBe(true);
    const picked = [];
    for await (const page of dormantCandidates(engine.ctx.k, sequence!.id, sequence!.audience, now))
      picked.push(...page);
    expect(picked.length).toBeGreaterThan(10);
    for (const c of picked) {
      expect(c.values.p_return!).toBeLessThan(0.35);
      expect(c.values.average_order * (1 - c.values.p_return!)).toBeGreaterThanOrEqual(30);
      expect(c.values.worth_winning_back).toBe(1);
    }
  } finally {
    await engine.close();
  }
}, 60_000);
