/**
 * `comeback check`: before going live, one line per part (settings, sequences and templates,
 * database, mail provider, Redis), exit 1 when one fails; the provider is connected to, never sent to.
 */
import { appendFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkBounces, checkTrackingServer, checkUnsubscribeMailbox } from '../../src/cli/commands/check.js';
import { SenderConfig } from '../../src/config/schema.js';
import { scaffoldProject } from '../../src/project/scaffold.js';
import { REDIS_URL, sqliteUrl } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';
import { SmtpSink } from '../delivery/sink.js';
import { writeConfig } from '../worker/fixture.js';

let sink: SmtpSink;
beforeAll(async () => {
  sink = new SmtpSink();
  await sink.start();
});
afterAll(async () => sink?.stop());
afterEach(() => {
  process.exitCode = undefined;
});

/** A project from `comeback init`, configured to send over SMTP to the sink. */
function project(overrides: Record<string, unknown> = {}) {
  const dir = join(mkdtempSync(join(tmpdir(), 'comeback-check-')), 'shop');
  scaffoldProject(dir);
  const config = {
    database: sqliteUrl(),
    sequencesDir: join(dir, 'sequences'),
    templatesDir: join(dir, 'templates'),
    transport: { type: 'smtp', url: sink.url, pool: 1 },
    secret: 'a-long-random-secret-for-the-tests-0123456789',
    sender: { name: 'Tea & Co', from: 'hello@tea.example', postalAddress: 'Tea & Co GmbH, Hafenstr. 1, 20457 Hamburg' },
    publicUrl: 'https://track.tea.example',
    ...overrides,
  };
  return { dir, file: writeConfig(config) };
}

describe('comeback check', () => {
  it('a project ready to go live passes every line; the provider gets a session but no mail', async () => {
    const { file } = project({ redisUrl: REDIS_URL });
    const { out } = await runCliInProcess(['--config', file, 'check']);
    expect(out).toMatch(/^ok {4}settings +ready to send over smtp$/m);
    expect(out).toMatch(/^ok {4}sequences +5 valid, with the templates they use$/m);
    expect(out).toMatch(/^ok {4}database +sqlite, schema up to date$/m);
    expect(out).toMatch(/^ok {4}mail provider +smtp: a session opened \(nothing was sent\)$/m);
    expect(out).toMatch(
      /^warn {2}bounces +go to hello@tea\.example with the replies: set sender\.returnPath to a mailbox of their own/m,
    );
    expect(out).toMatch(
      /^warn {2}unsubscribe mail +goes to hello@tea\.example with the replies: set sender\.unsubscribeMailto/m,
    );
    expect(out).toMatch(/^(ok|warn) +redis +/m); // this machine's Redis may run without AOF: a warning, not a failure
    // No tracking server answers at the made-up publicUrl from here: a warning, not a failure.
    expect(out).toMatch(/^warn {2}tracking server +https:\/\/track\.tea\.example\/healthz does not answer from here/m);
    expect(process.exitCode).toBeUndefined();
    expect(sink.accepted).toHaveLength(0);
  });

  it('over SMTP, names where bounces go and whether comeback inbound can read them apart from the replies', () => {
    const sender = SenderConfig.parse({ from: 'Tea & Co <hello@tea.example>' });
    expect(checkBounces(sender)).toMatchObject({
      verdict: 'warn',
      detail: expect.stringContaining('go to hello@tea.example with the replies'),
    });
    expect(checkBounces({ ...sender, returnPath: 'bounces@tea.example' })).toEqual({
      what: 'bounces',
      verdict: 'ok',
      detail: 'go to bounces@tea.example: read them with comeback inbound (from cron)',
    });
    expect(checkUnsubscribeMailbox({ ...sender, unsubscribeMailto: 'unsubscribe@tea.example' })).toMatchObject({
      verdict: 'ok',
      detail: 'goes to unsubscribe@tea.example: read it with comeback inbound (from cron)',
    });
  });

  it('asks the tracking server behind publicUrl for /healthz', async () => {
    const tracking = createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end());
    await new Promise<void>((resolve) => tracking.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(tracking.address() as AddressInfo).port}`;
      expect(await checkTrackingServer(url)).toEqual({
        what: 'tracking server',
        verdict: 'ok',
        detail: `${url}/healthz answers`,
      });
      expect(await checkTrackingServer(`${url}/mail/`)).toMatchObject({
        verdict: 'warn',
        detail: expect.stringContaining('answered 404: is comeback serve behind publicUrl?'),
      });
    } finally {
      tracking.close();
    }
  });

  it('names every failure with its place and fix, and exits 1', async () => {
    const probe = new SmtpSink();
    const closed = await probe.start();
    await probe.stop();
    const { dir, file } = project({
      secret: undefined,
      transport: { type: 'smtp', url: `smtp://127.0.0.1:${closed}` },
      redisUrl: `redis://127.0.0.1:${closed}`,
    });
    appendFileSync(join(dir, 'templates/winback/offer.de.mjml'), '\n<mj-text>{{#if x}}</mj-text>\n');
    const { out } = await runCliInProcess(['--config', file, 'check']);
    expect(out).toMatch(/^FAIL {2}settings +secret: the built-in development secret/m);
    expect(out).toMatch(/^FAIL {2}sequences +.*templates\/winback\/offer\.de\.mjml:\d+:\d+ Handlebars syntax/m);
    expect(out).toMatch(/^ok {4}database /m);
    expect(out).toMatch(
      new RegExp(`^FAIL {2}mail provider +SMTP 127\\.0\\.0\\.1:${closed}: no session \\(connect ECONNREFUSED`, 'm'),
    );
    expect(out).toMatch(/^FAIL {2}redis +redis:\/\/127\.0\.0\.1:\d+: /m);
    expect(process.exitCode).toBe(1);
  });

  it('an unusable DKIM key is named as a configuration failure', async () => {
    const { file } = project({
      transport: {
        type: 'smtp',
        url: sink.url,
        dkim: { domainName: 'tea.example', keySelector: 'cb', privateKey: 'not a key' },
      },
    });
    const { out } = await runCliInProcess(['--config', file, 'check']);
    expect(out).toMatch(/^FAIL {2}configuration +transport\.dkim\.privateKey: not a private key in PEM form/m);
    expect(process.exitCode).toBe(1);
  });
});
