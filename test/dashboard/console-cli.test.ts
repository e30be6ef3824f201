/**
 * The operator log through the CLI and the library: `comeback users`, and `pause`, `resume`,
 * `uncertain`, `forget` recorded with the OS user (or COMEBACK_OPERATOR); the entries survive an
 * erasure and never hold the address; resuming a paused sender; reasons over the limit.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listUsers, login } from '../../src/dashboard/users.js';
import { pauseTransport } from '../../src/engine/ledger.js';
import { listOperatorActions } from '../../src/engine/operator-log.js';
import { resumeSender, senderPause } from '../../src/engine/sender-state.js';
import { pauseSequence } from '../../src/engine/sequence-state.js';
import { InputError } from '../../src/errors.js';
import { OPERATOR } from '../../src/util/limits.js';
import { runCliInProcess } from '../helpers/cli.js';
import { sqliteUrl } from '../helpers/backends.js';
import { reservedMessages, seedDue } from '../worker/fixture.js';
import { passwordFile, startConsole } from './console-helpers.js';

let s: Awaited<ReturnType<typeof startConsole>> | undefined;
beforeEach(() => {
  process.env.COMEBACK_OPERATOR = 'carla';
});
afterEach(async () => {
  delete process.env.COMEBACK_OPERATOR;
  process.exitCode = undefined;
  await s?.close();
  s = undefined;
});

describe('comeback users', () => {
  it('adds, changes, lists and removes users; refuses a short password, a bad role and a password on the command line', async () => {
    s = await startConsole(sqliteUrl());
    const cli = (...args: string[]) => runCliInProcess(['--config', s!.configFile, ...args]);
    expect(
      (await cli('users', 'add', 'otto', '--role', 'operator', '--password-file', passwordFile('otto-password-1234')))
        .out,
    ).toBe('otto added (operator)\n');
    expect((await login(s.engine.ctx.k, 'otto', 'otto-password-1234', Date.now())).kind).toBe('ok');
    expect(
      (await cli('users', 'add', 'otto', '--role', 'admin', '--password-file', passwordFile('otto-new-password-1234')))
        .out,
    ).toBe('otto updated (admin)\n');
    expect((await login(s.engine.ctx.k, 'otto', 'otto-password-1234', Date.now())).kind).toBe('denied');
    const list = (await cli('users', 'list')).out;
    expect(list).toMatch(/^user\s+role\s+last login\s+locked until/);
    expect(list).toMatch(/otto\s+admin/);
    await expect(
      cli('users', 'add', 'short', '--role', 'viewer', '--password-file', passwordFile('too-short')),
    ).rejects.toThrow(/password: shorter than 12 characters/);
    await expect(
      cli('users', 'add', 'x', '--role', 'root', '--password-file', passwordFile('long-enough-password')),
    ).rejects.toThrow(/--role: expected one of viewer, operator, admin/);
    await expect(cli('users', 'add', 'x', '--role', 'viewer')).rejects.toThrow(
      /--password-file FILE or --password-stdin/,
    );
    await expect(
      cli('users', 'add', 'bad name', '--role', 'viewer', '--password-file', passwordFile('long-enough-password')),
    ).rejects.toThrow(/username/);
    expect((await cli('users', 'remove', 'otto')).out).toBe('otto removed\n');
    expect((await listUsers(s.engine.ctx.k)).map((u) => u.username)).toEqual(['ada', 'olga', 'vera']);
    const log = await listOperatorActions(s.engine.ctx.k, { actor: 'carla' });
    expect(log.map((e) => [e.action, e.target, e.via])).toEqual([
      ['user.remove', 'otto', 'cli'],
      ['user.update', 'otto', 'cli'],
      ['user.add', 'otto', 'cli'],
    ]);
    // No hash or password in the log.
    expect(JSON.stringify(await listOperatorActions(s.engine.ctx.k, { limit: 100 }))).not.toMatch(
      /scrypt|password-1234/,
    );
  }, 120_000);
});

describe('comeback pause, resume, uncertain and forget in comeback log', () => {
  it('records each with the CLI user, the reason and the counts; the entries outlive an erasure and hold no address', async () => {
    s = await startConsole(sqliteUrl());
    await seedDue(s.engine, 2);
    const cli = (...args: string[]) => runCliInProcess(['--config', s!.configFile, ...args]);
    await cli('pause', 'blast', '--reason', 'complaint spike');
    await cli('pause', 'blast', '--reason', 'again');
    await cli('resume', 'blast', '--reason', 'fixed');
    await cli('forget', 'c0@example.com', '--yes');
    await s.engine.pause('blast', 'from the shop backend', { by: { name: 'shop-admin', via: 'library' } });
    await s.engine.resume('blast');
    const out = (await cli('log')).out;
    expect(out).toMatch(/^when \(UTC\)\s+who\s+what\s+on\s+reason\s+outcome\s+counts/);
    expect(out).toMatch(
      /carla \(cli\)\s+sequence\.pause\s+blast\s+complaint spike\s+done\s+parkedSteps 2, parkedMails 0/,
    );
    expect(out).toMatch(/carla \(cli\)\s+sequence\.pause\s+blast\s+again\s+already paused/);
    expect(out).toMatch(
      /carla \(cli\)\s+sequence\.resume\s+blast\s+fixed\s+done\s+parkedSteps 2, parkedMails 0, dueAtOnce 2/,
    );
    expect(out).toMatch(/carla \(cli\)\s+person\.erase\s+customer \d+\s+done\s+customers 1/);
    expect(out).toMatch(/shop-admin \(library\)\s+sequence\.pause\s+blast\s+from the shop backend\s+done/);
    expect(out).toMatch(/library \(library\)\s+sequence\.resume\s+blast/);
    expect(out).not.toContain('c0@example.com');
    const all = await listOperatorActions(s.engine.ctx.k, { limit: 100 });
    expect(JSON.stringify(all)).not.toContain('c0@example.com');
    // A second erasure finds no one, and the first one's entry is still there.
    await cli('forget', 'c0@example.com', '--yes');
    expect(
      (await listOperatorActions(s.engine.ctx.k, { limit: 100 }))
        .filter((e) => e.action === 'person.erase')
        .map((e) => e.target),
    ).toEqual(['no customer record (suppressed)', expect.stringMatching(/^customer \d+$/)]);
  }, 120_000);

  it('the engine pausing on its own (guard, broken template) is logged once as the engine, however often it retries', async () => {
    s = await startConsole(sqliteUrl());
    for (let i = 0; i < 3; i++)
      await pauseSequence(s.engine.ctx, 'blast', `template cannot be sent: ${'x'.repeat(2000)}`);
    const log = (await listOperatorActions(s.engine.ctx.k)).filter((e) => e.action === 'sequence.pause');
    expect(log.map((e) => [e.actor, e.via, e.outcome])).toEqual([['engine', 'engine', 'done']]);
  }, 60_000);

  it('refuses a reason over the limit before changing anything', async () => {
    s = await startConsole(sqliteUrl());
    const long = 'x'.repeat(OPERATOR.reason + 1);
    await expect(s.engine.pause('blast', long)).rejects.toThrow(InputError);
    await expect(runCliInProcess(['--config', s.configFile, 'resume', 'blast', '--reason', long])).rejects.toThrow(
      /reason: longer than 1,000 characters/,
    );
    expect((await s.engine.ctx.sequences.status('blast')).status).toBe('active');
    expect((await listOperatorActions(s.engine.ctx.k)).filter((e) => e.action.startsWith('sequence.'))).toEqual([]);
  }, 60_000);
});

describe('resuming a paused sender', () => {
  it('ends the pause now, makes the mails that waited for it due at once, once', async () => {
    s = await startConsole(sqliteUrl());
    const ids = await reservedMessages(s.engine, 3);
    const until = Date.now() + 3_600_000;
    await pauseTransport(s.engine.ctx, until, 'provider unreachable: ECONNREFUSED');
    // Two of them met the pause and wait for its end; the third is due as planned.
    await s.engine.ctx.k.updateTable('messages').set({ due_at: until }).where('id', 'in', ids.slice(0, 2)).execute();
    expect(await senderPause(s.engine.ctx)).toEqual({
      until,
      reason: 'provider unreachable: ECONNREFUSED',
      waiting: 2,
    });
    const ended = await resumeSender(s.engine.ctx, {
      by: { name: 'olga', via: 'dashboard' },
      reason: 'provider is back',
    });
    expect(ended?.waiting).toBe(2);
    expect(await senderPause(s.engine.ctx)).toBeUndefined();
    const due = await s.engine.ctx.k
      .selectFrom('messages')
      .select('due_at')
      .where('id', 'in', ids.slice(0, 2))
      .execute();
    expect(due.every((m) => Number(m.due_at) <= Date.now())).toBe(true);
    expect(await resumeSender(s.engine.ctx, { by: { name: 'olga', via: 'dashboard' } })).toBeUndefined();
    const log = await listOperatorActions(s.engine.ctx.k, { limit: 2 });
    expect(log.map((e) => [e.action, e.outcome, e.counts])).toEqual([
      ['sender.resume', 'not paused', {}],
      ['sender.resume', 'done', { dueAtOnce: 2 }],
    ]);
  }, 60_000);
});
