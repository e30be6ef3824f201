/**
 * The studio in headless Chromium on a copy of the example project: the flow of every shipped
 * sequence, validation as you type with the positions `comeback validate` prints, a wait changed
 * from the graph, previews equal to `comeback preview`, a test send into an SMTP sink that leaves
 * `stats` unchanged, and requests without the token or from another origin refused.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { loadSequenceFilesLeniently } from '../../src/studio/load.js';
import { startStudio, type RunningStudio } from '../../src/studio/index.js';
import { CHROMIUM_ARGS, requireChromium, withoutTimes } from '../dashboard/helpers.js';
import { SmtpSink } from '../delivery/sink.js';
import { ROOT } from '../worker/fixture.js';
import { cli, exampleProject, raw } from './helpers.js';

/** Screenshots for review (and for docs/STUDIO.md). */
const SHOTS = process.env.COMEBACK_SCREENSHOTS ?? join(ROOT, 'test-results', 'studio');
const SEED = 'team@shop.example';

let project: ReturnType<typeof exampleProject>;
let sink: SmtpSink;
let engine: Engine;
let studio: RunningStudio;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  sink = new SmtpSink({ keepRaw: true });
  const port = await sink.start();
  project = exampleProject({ seedList: [SEED], transport: { type: 'smtp', url: `smtp://127.0.0.1:${port}`, pool: 1 } });
  // One real mail first (by an engine that sends), so the figures a test send must leave alone are not all zero.
  const sender = await createEngine(project.config);
  try {
    await sender.customers.upsert([
      { externalId: 'anna', email: 'anna@example.com', firstName: 'Anna', locale: 'de' },
      { externalId: 'ben', email: 'ben@example.com', firstName: 'Ben', locale: 'en' },
    ]);
    await sender.orders.record({
      externalId: 'o1',
      customerExternalId: 'anna',
      orderedAt: Date.UTC(2026, 5, 1),
      totalMinor: 4990,
    });
    await sender.orders.record({
      externalId: 'o2',
      customerExternalId: 'anna',
      orderedAt: Date.UTC(2026, 7, 1),
      totalMinor: 2990,
    });
    await sender.consents.record({
      customer: 'ben',
      action: 'grant',
      basis: 'double_opt_in',
      source: 'test',
      evidence: { confirmed: true },
    });
    await sender.trigger('subscription-cancelled', 'ben');
    await sender.ctx.k.updateTable('enrollments').set({ next_due_at: 0 }).execute();
    await sender.runDue();
  } finally {
    await sender.close();
  }
  engine = await createEngine(project.config, { jobs: false });
  expect(await loadSequenceFilesLeniently(engine)).toEqual([]);
  studio = await startStudio({ engine, root: project.dir, port: 0 });
  browser = await chromium.launch({ executablePath: await requireChromium(), args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  await engine?.close();
  await sink?.stop();
});

const file = (name: string) => join(project.dir, 'sequences', name);

async function open(path: string): Promise<void> {
  await page.goto(`${studio.url}&file=${encodeURIComponent(path)}`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector('#status[data-state="ok"], #status[data-state="problems"]');
}

/** Nodes the picture must have, counted from the YAML itself. */
function expectedNodes(seq: any): number {
  let n = 1 + seq.steps.length + 1 + (seq.goal ? 1 : 0) + (seq.on_success?.start ? 1 : 0);
  for (const s of seq.steps) {
    if (s.variants) n += s.variants.length + 1;
    else if (s.branch)
      n += Object.keys(s.branch.cases ?? {}).length + (s.branch.when?.length ?? 0) + (s.branch.default ? 1 : 0);
  }
  return n;
}

/** Puts the cursor at the end of the first line that contains `text` (as a click there would). */
async function cursorAtEndOf(text: string): Promise<void> {
  await page.evaluate((t) => {
    const view = (window as any).studioView;
    const doc = view.state.doc;
    for (let i = 1; i <= doc.lines; i++) {
      const line = doc.line(i);
      if (line.text.includes(t)) {
        view.dispatch({ selection: { anchor: line.to } });
        view.focus();
        return;
      }
    }
    throw new Error(`no line with ${t}`);
  }, text);
}

/** Puts the cursor right after the first occurrence of `text`. */
async function cursorAfter(text: string): Promise<void> {
  await page.evaluate((t) => {
    const view = (window as any).studioView;
    const at = view.state.doc.toString().indexOf(t);
    if (at < 0) throw new Error(`no ${t}`);
    view.dispatch({ selection: { anchor: at + t.length } });
    view.focus();
  }, text);
}

describe('comeback studio in Chromium', () => {
  it('draws the flow of every shipped sequence with one node per element of the YAML', async () => {
    const names = readdirSync(join(project.dir, 'sequences')).filter((f) => f.endsWith('.yaml'));
    expect(names.length).toBeGreaterThanOrEqual(5);
    for (const name of names) {
      await open(`sequences/${name}`);
      await page.waitForSelector('#flow g.node');
      const seq = parse(readFileSync(file(name), 'utf8'));
      expect(await page.locator('#flow g.node').count(), name).toBe(expectedNodes(seq));
      expect(await page.locator('#flow g.node.step').count(), name).toBe(seq.steps.length);
      await page.screenshot({ path: join(SHOTS, `flow-${name.replace('.yaml', '')}.png`), fullPage: true });
    }
    // A click on a node puts the cursor on its line in the file.
    await open('sequences/winback-lapsed.yaml');
    await page.click('#flow g.node[data-id="step-1"]');
    const line = await page.evaluate(() => {
      const view = (window as any).studioView;
      return view.state.doc.lineAt(view.state.selection.main.head).number;
    });
    expect(readFileSync(file('winback-lapsed.yaml'), 'utf8').split('\n')[line - 1]).toBe('  - id: offer');
  });

  it('underlines every problem as you type, at the positions comeback validate prints, and clears them when fixed', async () => {
    const original = readFileSync(file('winback-lapsed.yaml'), 'utf8');
    await open('sequences/winback-lapsed.yaml');
    await cursorAtEndOf('    wait: 7d');
    await page.keyboard.press('Backspace');
    await page.keyboard.type(' days');
    await cursorAtEndOf('unless: clicked');
    await page.keyboard.type('x');
    await page.waitForSelector('#status[data-state="problems"]');
    const shown = await page.locator('#problems li').allTextContents();
    await page.waitForSelector('.cm-lintRange-error');
    await page.screenshot({ path: join(SHOTS, 'validation.png') });
    // The same text on disk, checked by the CLI in the project folder.
    await page.click('#save');
    await page.waitForFunction(() => document.getElementById('save-status')?.textContent?.startsWith('saved'));
    const validate = await cli(['--config', project.configFile, 'validate'], project.dir);
    expect(validate.code).toBe(1);
    const printed = validate.out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('sequences/winback-lapsed.yaml:'));
    expect(printed).toEqual([
      'sequences/winback-lapsed.yaml:27:11 steps[1].wait: expected a duration like 5d or 36h, got "7 days"',
      'sequences/winback-lapsed.yaml:28:13 steps[1].unless: unknown field "clickedx" (did you mean "clicked"?)',
    ]);
    expect(shown).toEqual(printed);
    // Fixed: the problems disappear, and the saved file is the original again, byte for byte.
    await cursorAtEndOf('unless: clickedx');
    await page.keyboard.press('Backspace');
    await cursorAtEndOf('    wait: 7 days');
    for (let i = 0; i < 5; i++) await page.keyboard.press('Backspace');
    await page.keyboard.type('d');
    await page.waitForSelector('#status[data-state="ok"]');
    expect(await page.locator('#problems li').count()).toBe(0);
    expect(await page.locator('.cm-lintRange-error').count()).toBe(0);
    await page.click('#save');
    await page.waitForFunction(() => document.getElementById('save-status')?.textContent === 'saved');
    expect(readFileSync(file('winback-lapsed.yaml'), 'utf8')).toBe(original);
  });

  for (const locale of ['de', 'en']) {
    it(`previews a step for a customer in ${locale} with the subject and HTML of comeback preview`, async () => {
      await open('sequences/winback-lapsed.yaml');
      await page.click('.tabs button[data-tab="preview"]');
      await page.selectOption('#pv-step', 'miss-you');
      await page.fill('#pv-customer', 'anna');
      await page.selectOption('#pv-locale', locale);
      await page.click('#pv-render');
      await page.waitForSelector('#pv-form[data-state="done"]');
      const subject = await page.textContent('#pv-subject');
      const html = await page.getAttribute('#pv-375', 'srcdoc');
      expect(await page.getAttribute('#pv-800', 'srcdoc')).toBe(html);
      const args = [
        '--config',
        project.configFile,
        'preview',
        'winback-lapsed',
        'miss-you',
        '--customer',
        'anna',
        '--locale',
        locale,
      ];
      const [shown, htmlOut] = await Promise.all([cli(args, project.dir), cli([...args, '--html', '-'], project.dir)]);
      expect(shown.code, shown.err).toBe(0);
      expect(subject).toBe(/^Subject: (.*)$/m.exec(shown.out)?.[1]);
      expect(subject).toBe(locale === 'de' ? 'Wir vermissen Sie' : 'Anna, we miss you');
      expect(html).toBe(htmlOut.out.replace(/\n$/, ''));
      expect(await page.locator('#pv-links li').count()).toBeGreaterThan(0);
      expect(await page.textContent('#pv-text')).toBe(/\n\n([\s\S]*)\n$/.exec(shown.out)?.[1]);
      await page.screenshot({ path: join(SHOTS, `preview-${locale}.png`), fullPage: true });
    });
  }

  it('sends a test to the seed address through the transport, and stats stay as they were', async () => {
    const before = withoutTimes(await engine.report()) as {
      sequences: { sequenceId: string; funnel: { sent: number } }[];
    };
    expect(before.sequences.find((x) => x.sequenceId === 'subscription-cancelled')?.funnel.sent).toBe(1);
    const messages = await engine.ctx.k
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(sink.accepted.map((m) => m.to)).toEqual(['ben@example.com']);
    sink.reset();
    await open('sequences/winback-lapsed.yaml');
    await page.click('.tabs button[data-tab="preview"]');
    await page.selectOption('#pv-step', 'offer');
    await page.fill('#pv-customer', 'anna');
    await page.selectOption('#pv-locale', 'en');
    await page.click('#pv-render');
    await page.waitForSelector('#pv-form[data-state="done"]');
    await page.selectOption('#ts-to', SEED);
    await page.click('#ts-send');
    await page.waitForSelector('#ts-result[data-state="done"]');
    expect(await page.textContent('#ts-result')).toBe(`${SEED}: sent`);
    expect(sink.accepted.map((m) => m.to)).toEqual([SEED]);
    const mail = sink.accepted[0]!.raw.toString('utf8');
    expect(mail).toMatch(/^Subject: A thank-you for coming back$/m);
    expect(mail).toMatch(/^X-Comeback-Test: winback-lapsed\/offer$/m);
    expect(mail).not.toContain('anna@example.com');
    // The CLI sends the same way; an address off the seed list is refused and nothing goes out.
    const sent = await cli(
      ['--config', project.configFile, 'send-test', 'winback-lapsed', 'miss-you', '--customer', 'anna', '--to', SEED],
      project.dir,
    );
    expect(sent.code, sent.err).toBe(0);
    const refused = await cli(
      [
        '--config',
        project.configFile,
        'send-test',
        'winback-lapsed',
        'miss-you',
        '--customer',
        'anna',
        '--to',
        'anna@example.com',
      ],
      project.dir,
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('is not on the seedList');
    expect(sink.accepted.map((m) => m.to)).toEqual([SEED, SEED]);
    expect(withoutTimes(await engine.report())).toEqual(before);
    expect(
      await engine.ctx.k
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow(),
    ).toEqual(messages);
    expect(
      (await engine.ctx.k.selectFrom('test_sends').select(['to_address', 'status']).execute()).map(
        (r) => `${r.to_address} ${r.status}`,
      ),
    ).toEqual([`${SEED} sent`, `${SEED} sent`]);
  });

  it('completes keys from the JSON Schema, lays the live figures over the flow, forecasts, and re-renders a saved template', async () => {
    await open('sequences/subscription-cancelled.yaml');
    await cursorAtEndOf('holdout: 10%');
    await page.keyboard.press('Enter');
    await page.keyboard.type('freq');
    await page.waitForSelector('.cm-tooltip-autocomplete li');
    expect(await page.locator('.cm-tooltip-autocomplete li').allTextContents()).toContain('frequency_cap');
    await page.keyboard.press('Escape');
    for (let i = 0; i < 5; i++) await page.keyboard.press('Backspace');
    await page.waitForSelector('#status[data-state="ok"]');
    // Live figures: Ben was sent the first step.
    await page.check('#overlay');
    await page.waitForSelector('#flow g.node[data-id="step-0"] text.figures');
    expect(await page.textContent('#flow g.node[data-id="step-0"] text.figures')).toBe(
      'sent 1 · opens 0 · clicks 0 · conv 0',
    );
    await page.screenshot({ path: join(SHOTS, 'live-figures.png') });
    // The forecast: the simulation over the real customers, from the start of this hour.
    await page.click('.tabs button[data-tab="forecast"]');
    await page.click('#fc-run');
    await page.waitForSelector('#fc-figures, #fc-out .error');
    expect(await page.locator('#fc-out .error').count(), (await page.textContent('#fc-out')) ?? '').toBe(0);
    const figures = await page.locator('#fc-figures dd').allTextContents();
    const seq = engine.ctx.sequences.get('subscription-cancelled');
    const start = Date.parse((await page.textContent('#fc-out p'))!.match(/from (\d{4}-\d\d-\d\d)/)![1]!);
    expect(start).toBeGreaterThan(0);
    const { forecast: expected } = await import('../../src/studio/forecast.js');
    const again = await expected(engine, seq);
    expect(figures[0]).toBe(String(again.entered));
    await page.screenshot({ path: join(SHOTS, 'forecast.png') });
    // Hot reload: a template saved in the studio shows in the open preview at once.
    await page.click('.tabs button[data-tab="preview"]');
    await page.selectOption('#pv-step', 'ask-why');
    await page.fill('#pv-customer', 'ben');
    await page.selectOption('#pv-locale', 'en');
    await page.click('#pv-render');
    await page.waitForSelector('#pv-form[data-state="done"]');
    expect(await page.textContent('#pv-text')).not.toContain('See you soon');
    await page.click('#files a[data-path="templates/subscription/ask-why.en.mjml"]');
    await page.waitForFunction(
      () => document.getElementById('file-name')?.textContent === 'templates/subscription/ask-why.en.mjml',
    );
    await cursorAfter('Thank you!');
    await page.keyboard.type(' See you soon.');
    await page.click('#save');
    await page.waitForFunction(() => document.getElementById('pv-text')?.textContent?.includes('See you soon'));
    expect(await page.getAttribute('#pv-800', 'srcdoc')).toContain('See you soon');
  });

  it('changes a wait from the graph: the saved file differs in exactly that line, comments intact', async () => {
    const original = readFileSync(file('winback-lapsed.yaml'), 'utf8');
    await open('sequences/winback-lapsed.yaml');
    await page.click('#flow g.node[data-id="step-1"]');
    await page.fill('#wait-input', '10d');
    await page.click('#wait-apply');
    await page.waitForFunction(() => (window as any).studioView.state.doc.toString().includes('wait: 10d'));
    await page.waitForSelector('#status[data-state="ok"]');
    await page.click('#save');
    await page.waitForFunction(() => document.getElementById('save-status')?.textContent === 'saved');
    const before = original.split('\n');
    const after = readFileSync(file('winback-lapsed.yaml'), 'utf8').split('\n');
    expect(after.length).toBe(before.length);
    const changed = after.flatMap((l, i) => (l === before[i] ? [] : [[before[i], l]]));
    expect(changed).toEqual([['    wait: 7d', '    wait: 10d']]);
    // Version 2 is in use with the old content: the studio says to raise it, and offers to.
    await page.waitForSelector('#version-note:not([hidden])');
    expect(await page.textContent('#version-note')).toContain('raise it to 3');
    await page.click('#flow g.node[data-id="step-1"]');
    await page.screenshot({ path: join(SHOTS, 'graph-edit.png') });
    // Adding a step from the graph: a copy under a new id, valid at once, drawn as one more step.
    await page.click('#add-step');
    await page.waitForFunction(() => (window as any).studioView.state.doc.toString().includes('- id: offer-2'));
    await page.waitForSelector('#flow g.node[data-id="step-2"]');
    expect(await page.locator('#flow g.node.step').count()).toBe(3);
    expect(await page.textContent('#status')).toBe('valid');
  });

  it('refuses a change without the token, from another origin or another host name (403), and changes nothing', async () => {
    const path = 'sequences/welcome-back.yaml';
    const before = readFileSync(join(project.dir, path), 'utf8');
    const { hash } = JSON.parse(
      (await raw(`${studio.base}/api/file?path=${path}`, { headers: { 'x-studio-token': studio.token } })).body,
    ) as { hash: string };
    const body = JSON.stringify({ path, text: 'id: hacked\n', baseHash: hash });
    const json = { 'content-type': 'application/json' };
    const attempts: Record<string, Record<string, string>> = {
      'no token': { ...json, origin: studio.base },
      'wrong token': { ...json, origin: studio.base, 'x-studio-token': 'x'.repeat(43) },
      'another origin': { ...json, origin: 'http://evil.example', 'x-studio-token': studio.token },
      'no origin': { ...json, 'x-studio-token': studio.token },
      'a rebound host name': {
        ...json,
        origin: 'http://evil.example:80',
        host: 'evil.example',
        'x-studio-token': studio.token,
      },
      'a cross-site fetch': {
        ...json,
        origin: studio.base,
        'sec-fetch-site': 'cross-site',
        'x-studio-token': studio.token,
      },
    };
    for (const [what, headers] of Object.entries(attempts)) {
      const r = await raw(`${studio.base}/api/save`, { method: 'POST', headers, body });
      expect(r.status, what).toBe(403);
      const sendTest = await raw(`${studio.base}/api/test-send`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ path, step: 'thank-you' }),
      });
      expect(sendTest.status, what).toBe(403);
    }
    expect((await raw(`${studio.base}/api/file?path=${path}`, {})).status).toBe(403);
    expect((await raw(`${studio.base}/`, {})).status).toBe(403);
    expect(readFileSync(join(project.dir, path), 'utf8')).toBe(before);
    // With the token and the right origin: paths outside the two folders are refused too.
    const ok = { ...json, origin: studio.base, 'x-studio-token': studio.token };
    for (const bad of [
      'comeback.config.json',
      '../etc/passwd',
      'sequences/../comeback.config.json',
      'templates/../../x.mjml',
      'sequences/sub/x.yaml',
    ]) {
      const r = await raw(`${studio.base}/api/save`, {
        method: 'POST',
        headers: ok,
        body: JSON.stringify({ path: bad, text: 'x', baseHash: null }),
      });
      expect(r.status, bad).toBe(403);
    }
    // A text over the size limit of a sequence file is named as such, and not saved.
    const big = `# ${'x'.repeat(300 * 1024)}\n`;
    const checked = await raw(`${studio.base}/api/validate`, {
      method: 'POST',
      headers: ok,
      body: JSON.stringify({ path, text: big }),
    });
    expect(JSON.parse(checked.body).problems.map((p: { text: string }) => p.text)).toEqual([
      'sequences/welcome-back.yaml:1:1 the file is 300 KiB, larger than the limit of 256 KiB for a sequence file',
    ]);
    const tooBig = await raw(`${studio.base}/api/save`, {
      method: 'POST',
      headers: ok,
      body: JSON.stringify({ path, text: big, baseHash: hash }),
    });
    expect(tooBig.status).toBe(413);
    expect(readFileSync(join(project.dir, path), 'utf8')).toBe(before);
    // A file that changed on disk since it was loaded is not overwritten.
    writeFileSync(join(project.dir, path), `${before}# edited elsewhere\n`);
    const stale = await raw(`${studio.base}/api/save`, { method: 'POST', headers: ok, body });
    expect(stale.status).toBe(409);
    expect(JSON.parse(stale.body).message).toContain('changed on disk since it was loaded');
    expect(readFileSync(join(project.dir, path), 'utf8')).toBe(`${before}# edited elsewhere\n`);
    expect(sink.accepted.filter((m) => m.raw.toString().includes('welcome-back/thank-you'))).toEqual([]);
  });
});
