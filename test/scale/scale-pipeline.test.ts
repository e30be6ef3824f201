import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  limitDue,
  NOW,
  scaleCounts,
  scaleEngine,
  stageEnroll,
  stageLoad,
  stageSchedule,
  stageScore,
  stageSendInline,
  writeScaleSequences,
} from '../../bench/_scale-stages.js';
import { MemoryTransport } from '../../src/delivery/memory.js';
import { explainAudience } from '../../src/engine/audience-explain.js';

// The scale benchmark's pipeline at a tiny size, in-process on SQLite, so its code cannot rot.
describe('scale pipeline (bench/scale.ts stages)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-scale-test-'));
  const url = join(dir, 'scale.db');
  const seqDir = writeScaleSequences(join(dir, 'sequences'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('imports, scores, enrols the whole audience, schedules once per enrolment and sends the budget once each', async () => {
    const load = await stageLoad(url, 2000);
    expect(load.items).toBe(2000);
    expect(load.orders).toBeGreaterThan(4000);
    const score = await stageScore(url);
    expect(score.items).toBe(2000);

    const engine = await scaleEngine(url, seqDir);
    const explained = await explainAudience(engine.ctx.k, engine.ctx.sequences.get('scale'), NOW);
    await engine.close();
    const audience = explained.steps.at(-1)!.remaining;
    expect(audience).toBeGreaterThan(100);

    const enroll = await stageEnroll(url, seqDir, 50);
    expect(enroll.enrolled).toBe(audience);
    expect(enroll.baseline_per_s).toBeGreaterThan(0);
    const schedule = await stageSchedule(url, seqDir);
    expect(schedule.items).toBe(audience);
    expect(schedule.reserved).toBe(audience);

    expect(await limitDue(url, 40)).toBe(40);
    const transport = new MemoryTransport();
    const send = await stageSendInline(url, seqDir, transport);
    expect(send.items).toBe(40);
    expect(new Set(transport.sent.map((m) => m.messageId)).size).toBe(40);

    const counts = await scaleCounts(url);
    expect(counts).toEqual({
      enrolled: audience,
      messages: audience,
      duplicate_messages: 0,
      duplicate_enrolments: 0,
      sent: 40,
    });
  });
});
