/**
 * The operator console in Debian's chromium: an operator logs in, pauses a sequence with a reason
 * after the preview, sees its work parked, resumes it and sees it planned again; a viewer sees no
 * action and gets 403 from the endpoints; `comeback log` names both with what they did.
 * Screenshots of each role go to test-results/ (docs/DASHBOARD.md shows them).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli.js';
import { sqliteUrl } from '../helpers/backends.js';
import { seedDue } from '../worker/fixture.js';
import { CHROMIUM_ARGS, requireChromium } from './helpers.js';
import { PASSWORDS, startConsole } from './console-helpers.js';

let s: Awaited<ReturnType<typeof startConsole>>;
let browser: Browser;

beforeAll(async () => {
  const executablePath = await requireChromium();
  s = await startConsole(sqliteUrl());
  await seedDue(s.engine, 3);
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  mkdirSync('test-results', { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
}, 60_000);

async function loggedIn(username: string, password: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(`${s.url}/dashboard`);
  expect(page.url()).toBe(`${s.url}/dashboard/login`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${s.url}/dashboard`), page.click('button[type=submit]')]);
  await page.waitForSelector('body[data-charts]');
  return page;
}

const row = (page: Page) => page.locator('tr[data-sequence-row="blast"]');

describe('operator console in chromium', () => {
  it('an operator pauses with a reason, sees the mails parked, resumes and sees them planned', async () => {
    const page = await loggedIn('olga', PASSWORDS.operator);
    expect(await page.getAttribute('[data-user]', 'data-role')).toBe('operator');
    expect(await row(page).getAttribute('data-status')).toBe('active');
    expect(await row(page).locator('[data-planned]').getAttribute('data-planned')).toBe('3');
    await page.screenshot({ path: join('test-results', 'console-operator.png') });

    await page.click('a[data-action=pause][data-sequence=blast]');
    expect(await page.textContent('[data-preview=pause]')).toContain('Pausing parks 3 enrolments');
    await page.screenshot({ path: join('test-results', 'console-pause-preview.png') });
    await page.fill('input[name=reason]', 'complaints from the spring list');
    await page.click('button[type=submit]');
    expect(await page.textContent('[data-result]')).toContain('blast paused: 3 steps and 0 mails parked');

    await page.goto(`${s.url}/dashboard`);
    expect(await row(page).getAttribute('data-status')).toBe('paused');
    expect(await row(page).locator('[data-parked]').getAttribute('data-parked')).toBe('3');
    expect(await row(page).locator('[data-planned]').getAttribute('data-planned')).toBe('0');

    await page.click('a[data-action=resume][data-sequence=blast]');
    expect(await page.textContent('[data-preview=resume]')).toContain('3 are due at once');
    await page.fill('input[name=reason]', 'spring list cleaned');
    await page.click('button[type=submit]');
    expect(await page.textContent('[data-result]')).toContain('blast resumed');

    await page.goto(`${s.url}/dashboard`);
    expect(await row(page).getAttribute('data-status')).toBe('active');
    expect(await row(page).locator('[data-planned]').getAttribute('data-planned')).toBe('3');
    expect(await page.locator('#operator-log tr[data-log-action="sequence.resume"]').count()).toBe(1);
    await page.close();
  }, 120_000);

  it('a viewer sees no action and gets 403 from the endpoints; nothing changes', async () => {
    const page = await loggedIn('vera', PASSWORDS.viewer);
    expect(await page.getAttribute('[data-user]', 'data-role')).toBe('viewer');
    expect(await page.locator('[data-action]').count()).toBe(0);
    expect(await page.locator('#operator-actions').count()).toBe(0);
    expect(await page.locator('#operator-log').count()).toBe(1);
    await page.screenshot({ path: join('test-results', 'console-viewer.png') });
    const statuses = await page.evaluate(async () => {
      const csrf = (document.querySelector('input[name=_csrf]') as HTMLInputElement).value;
      const post = (path: string, body: Record<string, string>) =>
        fetch(path, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ _csrf: csrf, ...body }).toString(),
        }).then((r) => r.status);
      return {
        pausePage: (await fetch('/dashboard/actions/pause?sequence=blast')).status,
        pause: await post('/dashboard/actions/pause', { sequence: 'blast', reason: 'viewer tries' }),
        resume: await post('/dashboard/actions/resume', { sequence: 'blast' }),
        settle: await post('/dashboard/actions/settle', { id: '1', verdict: 'sent' }),
        sender: await post('/dashboard/actions/sender', { reason: 'viewer tries' }),
      };
    });
    expect(statuses).toEqual({ pausePage: 403, pause: 403, resume: 403, settle: 403, sender: 403 });
    expect((await s.engine.ctx.sequences.status('blast')).status).toBe('active');
    await page.close();
  }, 120_000);

  it('an admin also sees the users', async () => {
    const page = await loggedIn('ada', PASSWORDS.admin);
    expect(await page.locator('#users tr').count()).toBe(4);
    expect(await page.locator('[data-action=pause]').count()).toBe(1);
    await page.locator('#users').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join('test-results', 'console-admin.png') });
    await page.close();
  }, 120_000);

  it('comeback log names both users with what they did', async () => {
    const { out } = await runCliInProcess(['--config', s.configFile, 'log']);
    const lines = out.split('\n');
    const line = (who: string, what: string) => lines.find((l) => l.includes(`${who} (dashboard)`) && l.includes(what));
    expect(line('olga', 'sequence.pause')).toMatch(
      /blast\s+complaints from the spring list\s+done\s+parkedSteps 3, parkedMails 0/,
    );
    expect(line('olga', 'sequence.resume')).toMatch(
      /blast\s+spring list cleaned\s+done\s+parkedSteps 3, parkedMails 0, dueAtOnce 3/,
    );
    expect(line('vera', 'user.login')).toBeDefined();
    expect(line('vera', 'dashboard.pause')).toMatch(/blast\s+refused: viewer/);
    const json = JSON.parse(
      (await runCliInProcess(['--config', s.configFile, 'log', '--user', 'vera', '--json'])).out,
    ) as { actor: string; action: string }[];
    expect(new Set(json.map((e) => e.actor))).toEqual(new Set(['vera']));
    expect(json.map((e) => e.action)).toEqual([
      'dashboard.sender',
      'dashboard.settle',
      'dashboard.resume',
      'dashboard.pause',
      'user.login',
    ]);
  }, 60_000);
});
