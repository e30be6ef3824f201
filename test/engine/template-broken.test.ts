/**
 * A template broken while the worker runs (a bad edit, a deleted partial) pauses its sequence and
 * keeps every mail (a value missing for one recipient still fails only that mail:
 * test/engine/personalize.test.ts).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { MemoryTransport } from '../../src/delivery/memory.js';
import type { Engine } from '../../src/engine/engine.js';
import { operatorNotices } from '../../src/engine/notices.js';
import { PARK_OFFSET } from '../../src/engine/sequence-state.js';
import { formatUpcoming, upcoming } from '../../src/worker/status.js';
import { sqliteUrl } from '../helpers/backends.js';
import { ROOT, seedDue, sequencesDir, statusCounts } from '../worker/fixture.js';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

async function setup() {
  const templates = mkdtempSync(join(tmpdir(), 'comeback-tpl-'));
  cpSync(join(ROOT, 'templates'), templates, { recursive: true });
  const lines: string[] = [];
  const transport = new MemoryTransport();
  engine = await createEngine(
    { database: sqliteUrl(), sequencesDir: sequencesDir(), templatesDir: templates, worker: { concurrency: 4 } },
    { transport, logger: pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }) },
  );
  return { e: engine, templates, transport, lines };
}

describe('a template that cannot be used', () => {
  it('pauses its sequence with the reason and one alert, keeps every mail parked uncounted, and sends them all after the fix and resume', async () => {
    const { e, templates, transport, lines } = await setup();
    await seedDue(e, 8);
    const file = join(templates, 'winback/miss-you.en.mjml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      `${good}\n<mj-section><mj-column><mj-text>{{#if first_name}}unclosed</mj-text></mj-column></mj-section>\n`,
    );
    e.ctx.templates.reload(); // as the worker notices on its own within two seconds
    const pass = await e.runDue();
    expect(pass.reserved).toBe(8);
    expect(transport.sent).toHaveLength(0);
    expect(await statusCounts(e)).toEqual({ reserved: 8 });
    const rows = await e.ctx.k.selectFrom('messages').select(['due_at', 'attempts', 'error']).execute();
    expect(rows.every((r) => Number(r.due_at) >= PARK_OFFSET && r.attempts === 0)).toBe(true);
    expect(rows[0]!.error).toMatch(/^template: template winback\/miss-you \(en\) cannot be sent/);
    const status = await e.ctx.sequences.status('blast');
    expect(status).toMatchObject({
      status: 'paused',
      reason: expect.stringMatching(
        /^template cannot be sent: template winback\/miss-you \(en\) cannot be sent:\n.*miss-you\.en\.mjml:\d+/,
      ),
    });
    expect(lines.filter((l) => l.includes('"alert":"sequence_paused"'))).toHaveLength(1);
    expect(lines[lines.length - 1]).toContain('comeback resume blast');
    // The worker's summary, comeback stats and the dashboard say what waits and why.
    expect(formatUpcoming(await upcoming(e))).toBe(
      'next: nothing planned; 8 mails parked in paused sequences (comeback resume)',
    );
    expect(await operatorNotices(e.ctx)).toEqual([
      'sequence blast is paused (template cannot be sent: template winback/miss-you (en) cannot be sent:); its mails wait until comeback resume blast',
    ]);

    writeFileSync(file, good);
    e.ctx.templates.reload();
    await e.resume('blast');
    await e.runDue();
    expect(transport.sent).toHaveLength(8);
    expect(await statusCounts(e)).toEqual({ sent: 8 });
  });

  it('a deleted partial pauses the sequence the same way', async () => {
    const { e, templates, transport } = await setup();
    await seedDue(e, 3);
    rmSync(join(templates, 'partials/footer.mjml'));
    e.ctx.templates.reload();
    await e.runDue();
    expect(transport.sent).toHaveLength(0);
    expect(await statusCounts(e)).toEqual({ reserved: 3 });
    expect((await e.ctx.sequences.status('blast')).reason).toMatch(/partial "footer" not found/);
  });
});
