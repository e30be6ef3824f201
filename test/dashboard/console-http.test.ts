/**
 * The operator console over HTTP: who may act, what is refused (viewer, no CSRF token, another
 * origin, a forged or expired session, repeated wrong passwords), and that an action on a state
 * that changed meanwhile says so instead of acting twice. Every action lands in the operator log.
 */
import { sign } from '@fastify/cookie';
import { afterEach, describe, expect, it } from 'vitest';
import { cookieKey, LOGIN_COOKIE, sessionValue } from '../../src/dashboard/session.js';
import { listOperatorActions } from '../../src/engine/operator-log.js';
import { dialects, sqliteUrl } from '../helpers/backends.js';
import { reservedMessages, seedDue } from '../worker/fixture.js';
import { pauseTransport } from '../../src/engine/ledger.js';
import { senderPause } from '../../src/engine/sender-state.js';
import { OPERATOR } from '../../src/util/limits.js';
import { Client, PASSWORDS, SECRET, startConsole, TOKEN } from './console-helpers.js';

let s: Awaited<ReturnType<typeof startConsole>> | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const status = async () => (await s!.engine.ctx.sequences.status('blast')).status;

describe.each(dialects)('operator console on $name', ({ url }) => {
  it('an operator pauses with a reason (mails parked), resumes (planned again); a second resume says so and changes nothing', async () => {
    s = await startConsole(await url());
    await seedDue(s.engine, 4);
    const op = new Client(s.url);
    expect(await op.login('olga', PASSWORDS.operator)).toBe(303);
    const page = await op.request('/dashboard');
    expect(page.body).toContain('data-action="pause" data-sequence="blast"');
    expect(page.body).toMatch(/data-sequence-row="blast" data-status="active">.*data-planned="4"/);

    const pause = await op.confirm('/dashboard/actions/pause?sequence=blast', '/dashboard/actions/pause', {
      reason: 'complaints from a partner list',
    });
    expect(pause.preview).toContain('Pausing parks 4 enrolments');
    expect(pause.status).toBe(200);
    expect(pause.body).toContain('blast paused: 4 steps and 0 mails parked');
    expect(await status()).toBe('paused');
    expect((await op.request('/dashboard')).body).toMatch(/data-status="paused">.*data-planned="0".*data-parked="4"/);

    // Two tabs showed the resume page; the first resumes, the second is told.
    const tab1 = await op.request('/dashboard/actions/resume?sequence=blast');
    expect(tab1.body).toContain('4 are due at once');
    const resume = await op.confirm('/dashboard/actions/resume?sequence=blast', '/dashboard/actions/resume', {
      reason: 'list cleaned',
    });
    expect(resume.status).toBe(200);
    expect(resume.body).toContain('blast resumed: 4 steps and 0 mails planned again, 4 of them due at once');
    const late = await op.request('/dashboard/actions/resume', {
      form: { _csrf: Client.csrf(tab1.body), sequence: 'blast', pausedAt: '' },
    });
    expect(late.status).toBe(409);
    expect(late.body).toContain('is not paused');
    expect((await op.request('/dashboard')).body).toMatch(/data-status="active">.*data-planned="4".*data-parked="0"/);

    const log = await listOperatorActions(s.engine.ctx.k, { limit: 10 });
    expect(log.slice(0, 3).map((e) => [e.actor, e.via, e.action, e.outcome, e.reason])).toEqual([
      ['olga', 'dashboard', 'sequence.resume', 'not paused', null],
      ['olga', 'dashboard', 'sequence.resume', 'done', 'list cleaned'],
      ['olga', 'dashboard', 'sequence.pause', 'done', 'complaints from a partner list'],
    ]);
    expect(log[1]!.counts).toEqual({ parkedSteps: 4, parkedMails: 0, dueAtOnce: 4 });
    expect(log[2]!.counts).toEqual({ parkedSteps: 4, parkedMails: 0 });
    // Append-only: the database refuses to change or delete an entry.
    await expect(s.engine.ctx.k.updateTable('operator_log').set({ actor: 'mallory' }).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(s.engine.ctx.k.deleteFrom('operator_log').execute()).rejects.toThrow(/append-only/);
  }, 60_000);
});

describe('refusals', () => {
  it('a viewer (token, basic or a viewer login) sees no action links and gets 403 on every action; nothing changes', async () => {
    s = await startConsole(sqliteUrl());
    await seedDue(s.engine, 2);
    const token = new Client(s.url);
    const page = await token.request('/dashboard', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('data-action=');
    expect(page.body).toContain('id="operator-log"');
    const vera = new Client(s.url);
    expect(await vera.login('vera', PASSWORDS.viewer)).toBe(303);
    expect((await vera.request('/dashboard')).body).not.toContain('data-action=');
    for (const path of ['pause?sequence=blast', 'resume?sequence=blast', 'settle', 'sender']) {
      expect((await vera.request(`/dashboard/actions/${path}`)).status).toBe(403);
      expect(
        (await token.request(`/dashboard/actions/${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
      ).toBe(403);
    }
    const csrf = Client.csrf((await vera.request('/dashboard')).body);
    for (const [action, form] of [
      ['pause', { sequence: 'blast', reason: 'x' }],
      ['resume', { sequence: 'blast' }],
      ['settle', { id: '1', verdict: 'sent' }],
      ['sender', { reason: 'x' }],
    ] as const) {
      const r = await vera.request(`/dashboard/actions/${action}`, { form: { _csrf: csrf, ...form } });
      expect({ action, status: r.status }).toEqual({ action, status: 403 });
      const t = await token.request(`/dashboard/actions/${action}`, {
        form: { ...form },
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect({ action, status: t.status }).toEqual({ action, status: 403 });
    }
    expect(await status()).toBe('active');
    expect((await listOperatorActions(s.engine.ctx.k)).filter((e) => e.action.startsWith('sequence.'))).toEqual([]);
  }, 60_000);

  it('refuses an action without the CSRF token, from another origin, with a forged or an expired session', async () => {
    s = await startConsole(sqliteUrl());
    const op = new Client(s.url);
    expect(await op.login('olga', PASSWORDS.operator)).toBe(303);
    const csrf = Client.csrf((await op.request('/dashboard/actions/pause?sequence=blast')).body);
    const form = { sequence: 'blast', reason: 'test' };
    expect((await op.request('/dashboard/actions/pause', { form })).status).toBe(403);
    expect((await op.request('/dashboard/actions/pause', { form: { ...form, _csrf: 'forged-token' } })).status).toBe(
      403,
    );
    expect(
      (
        await op.request('/dashboard/actions/pause', {
          form: { ...form, _csrf: csrf },
          headers: { origin: 'https://evil.example' },
        })
      ).status,
    ).toBe(403);
    expect(
      (await op.request('/dashboard/actions/pause', { form: { ...form, _csrf: csrf }, headers: { origin: '' } }))
        .status,
    ).toBe(403);
    // Another user's token does not fit this session.
    const ada = new Client(s.url);
    expect(await ada.login('ada', PASSWORDS.admin)).toBe(303);
    const adaCsrf = Client.csrf((await ada.request('/dashboard/actions/pause?sequence=blast')).body);
    expect((await op.request('/dashboard/actions/pause', { form: { ...form, _csrf: adaCsrf } })).status).toBe(403);
    expect(await status()).toBe('active');

    const user = await s.engine.ctx.k
      .selectFrom('operators')
      .select(['id', 'password_hash'])
      .where('username', '=', 'olga')
      .executeTakeFirstOrThrow();
    const key = cookieKey(SECRET);
    const forge = (value: string, k = key) => {
      const c = new Client(s!.url);
      for (const [name, v] of op.cookies) c.cookies.set(name, v);
      c.cookies.set(LOGIN_COOKIE, encodeURIComponent(sign(value, k)));
      return c;
    };
    const valid = forge(sessionValue({ id: Number(user.id), hash: user.password_hash }, Date.now() + 60_000));
    expect((await valid.request('/dashboard/actions/pause?sequence=blast')).status).toBe(200);
    const expired = forge(sessionValue({ id: Number(user.id), hash: user.password_hash }, Date.now() - 1));
    const wrongKey = forge(
      sessionValue({ id: Number(user.id), hash: user.password_hash }, Date.now() + 60_000),
      'not-the-key',
    );
    const otherHash = forge(sessionValue({ id: Number(user.id), hash: 'scrypt$old' }, Date.now() + 60_000));
    for (const c of [expired, wrongKey, otherHash]) {
      expect((await c.request('/dashboard/actions/pause?sequence=blast')).location).toBe('/dashboard/login');
      expect((await c.request('/dashboard/actions/pause', { form: { ...form, _csrf: csrf } })).status).toBe(401);
      expect((await c.request('/dashboard')).location).toBe('/dashboard/login');
    }
    expect(await status()).toBe('active');
  }, 60_000);

  it('bad input gets a clear 4xx and changes nothing; an operator resumes a paused sender once', async () => {
    s = await startConsole(sqliteUrl());
    const ids = await reservedMessages(s.engine, 2);
    const op = new Client(s.url);
    expect(await op.login('olga', PASSWORDS.operator)).toBe(303);
    const csrf = Client.csrf((await op.request('/dashboard')).body);
    const post = (action: string, form: Record<string, string | string[]>) =>
      op.request(`/dashboard/actions/${action}`, { form: { _csrf: csrf, ...form } });
    expect((await post('pause', { sequence: 'blast', reason: '  ' })).status).toBe(400);
    const long = await post('pause', { sequence: 'blast', reason: 'x'.repeat(OPERATOR.reason + 1) });
    expect(long.status).toBe(400);
    expect(long.body).toContain('reason: longer than 1,000 characters');
    expect((await post('pause', { sequence: 'no-such-sequence', reason: 'x' })).status).toBe(404);
    expect((await op.request('/dashboard/actions/pause?sequence=no-such-sequence')).status).toBe(404);
    expect((await post('settle', { id: ['1', 'x'], verdict: 'sent' })).status).toBe(400);
    expect((await post('settle', { id: '1', verdict: 'maybe' })).status).toBe(400);
    expect(
      (
        await post('settle', {
          id: Array.from({ length: OPERATOR.settleIds + 1 }, (_, i) => String(i + 1)),
          verdict: 'sent',
        })
      ).status,
    ).toBe(400);
    expect(await status()).toBe('active');

    const until = Date.now() + 3_600_000;
    await pauseTransport(s.engine.ctx, until, 'policy block 5.7.1');
    await s.engine.ctx.k.updateTable('messages').set({ due_at: until }).where('id', 'in', ids).execute();
    expect((await op.request('/dashboard')).body).toContain('Resume the sender…');
    const page = await op.request('/dashboard/actions/sender');
    expect(page.body).toContain('2 mails are due at once');
    expect((await post('sender', { reason: '' })).status).toBe(400);
    const done = await post('sender', { reason: 'provider lifted the block' });
    expect(done.status).toBe(200);
    expect(done.body).toContain('2 mails that waited for it are due at once');
    const again = await post('sender', { reason: 'second tab' });
    expect(again.status).toBe(409);
    expect(again.body).toContain('The sender is not paused');
    expect(await senderPause(s.engine.ctx)).toBeUndefined();
  }, 60_000);

  it('locks a user out after 5 wrong passwords in a row, even for the right one', async () => {
    s = await startConsole(sqliteUrl());
    const c = new Client(s.url);
    for (let i = 0; i < 4; i++) expect(await c.login('olga', 'wrong-password-000')).toBe(401);
    expect(await c.login('olga', 'wrong-password-000')).toBe(429);
    expect(await c.login('olga', PASSWORDS.operator)).toBe(429);
    expect(await c.login('nobody', PASSWORDS.operator)).toBe(401);
    const log = await listOperatorActions(s.engine.ctx.k, { limit: 1 });
    expect(log[0]).toMatchObject({ action: 'user.locked', target: 'olga' });
    // Another user is not affected.
    expect(await new Client(s.url).login('ada', PASSWORDS.admin)).toBe(303);
  }, 60_000);
});
