/**
 * Settling uncertain mails from the dashboard and with `comeback uncertain --sent/--resend` is one
 * door: the same ledger rows, the same webhook events, and an operator log entry naming who did it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger, sweep } from '../../src/engine/ledger.js';
import { listOperatorActions } from '../../src/engine/operator-log.js';
import type { Engine } from '../../src/engine/engine.js';
import { runCliInProcess } from '../helpers/cli.js';
import { dialects } from '../helpers/backends.js';
import { reservedMessages } from '../worker/fixture.js';
import { Client, PASSWORDS, startConsole } from './console-helpers.js';

const servers: Awaited<ReturnType<typeof startConsole>>[] = [];
afterEach(async () => {
  process.exitCode = undefined;
  for (const s of servers.splice(0)) await s.close();
});

/** Three mails a dead worker left in `sending`, now uncertain (at a known time). */
async function uncertain(engine: Engine): Promise<number[]> {
  const ids = await reservedMessages(engine, 3);
  const ledger = new Ledger(engine.ctx);
  for (const id of ids) {
    const m = (await ledger.claim(id))!;
    expect(await ledger.markSending(m, { subject: `Hello ${id}`, links: '[]' })).toBe(true);
  }
  await engine.ctx.k.updateTable('messages').set({ updated_at: 1_000 }).execute();
  expect((await sweep(engine.ctx)).uncertain).toBe(3);
  await engine.ctx.k.updateTable('messages').set({ updated_at: 5_000 }).execute();
  return ids;
}

/** The ledger as it can be compared: times set to "now" by either door become `now`. */
async function ledger(engine: Engine, since: number) {
  const recent = (t: number | null) => (t !== null && Number(t) >= since ? 'now' : t === null ? null : Number(t));
  const messages = await engine.ctx.k
    .selectFrom('messages')
    .select(['id', 'status', 'sent_at', 'error', 'due_at', 'dispatched_at', 'attempts'])
    .orderBy('id')
    .execute();
  const events = await engine.ctx.k
    .selectFrom('webhook_outbox')
    .select(['type', 'message_id', 'occurred_at'])
    .orderBy('id')
    .execute();
  return {
    messages: messages.map((m) => ({
      ...m,
      id: Number(m.id),
      sent_at: m.sent_at === null ? null : Number(m.sent_at),
      due_at: recent(m.due_at),
    })),
    events: events.map((e) => ({
      ...e,
      message_id: e.message_id === null ? null : Number(e.message_id),
      occurred_at: recent(e.occurred_at),
    })),
  };
}

describe.each(dialects)('settling uncertain mails on $name', ({ url }) => {
  it('the dashboard gives the same ledger as comeback uncertain --sent/--resend, and says when a mail was settled meanwhile', async () => {
    const since = Date.now();
    const web = await startConsole(await url());
    const cli = await startConsole(await url());
    servers.push(web, cli);
    const [a, b, c] = await uncertain(web.engine);
    expect(await uncertain(cli.engine)).toEqual([a, b, c]);

    const op = new Client(web.url);
    expect(await op.login('olga', PASSWORDS.operator)).toBe(303);
    const page = await op.request('/dashboard/actions/settle');
    expect(page.body).toContain('3 mails may or may not have arrived');
    const csrf = Client.csrf(page.body);
    const sent = await op.request('/dashboard/actions/settle', {
      form: { _csrf: csrf, id: [String(a), String(b)], verdict: 'sent', reason: 'found in the SMTP log' },
    });
    expect(sent.status).toBe(200);
    expect(sent.body).toContain(`recorded as sent: ${a}, ${b}`);
    const resend = await op.request('/dashboard/actions/settle', {
      form: { _csrf: csrf, id: String(c), verdict: 'resend' },
    });
    expect(resend.body).toContain(`sent again with the next pass: ${c}`);

    await runCliInProcess(['--config', cli.configFile, 'uncertain', '--sent', `${a},${b}`, '--resend', String(c)]);
    const [fromWeb, fromCli] = [await ledger(web.engine, since), await ledger(cli.engine, since)];
    expect(fromWeb.messages.map((m) => m.status)).toEqual(['sent', 'sent', 'reserved']);
    expect(fromWeb).toEqual(fromCli);

    // A second settle of the same mail (another tab) says so and changes nothing.
    const again = await op.request('/dashboard/actions/settle', {
      form: { _csrf: csrf, id: String(a), verdict: 'resend' },
    });
    expect(again.status).toBe(409);
    expect(again.body).toContain(`no longer uncertain (settled meanwhile), left as they are: ${a}`);
    expect(await ledger(web.engine, since)).toEqual(fromWeb);

    const [webLog, cliLog] = [
      await listOperatorActions(web.engine.ctx.k, { limit: 3 }),
      await listOperatorActions(cli.engine.ctx.k, { limit: 2 }),
    ];
    expect(webLog.map((e) => [e.actor, e.via, e.action, e.outcome, e.reason, e.counts])).toEqual([
      ['olga', 'dashboard', 'uncertain.resend', 'no longer uncertain', null, { resolved: 0, skipped: 1 }],
      ['olga', 'dashboard', 'uncertain.resend', 'done', null, { resolved: 1, skipped: 0 }],
      ['olga', 'dashboard', 'uncertain.mark-sent', 'done', 'found in the SMTP log', { resolved: 2, skipped: 0 }],
    ]);
    expect(cliLog.map((e) => [e.via, e.action, e.counts])).toEqual([
      ['cli', 'uncertain.resend', { resolved: 1, skipped: 0 }],
      ['cli', 'uncertain.mark-sent', { resolved: 2, skipped: 0 }],
    ]);
  }, 90_000);
});
