/**
 * Bounces and complaints that come back by mail: mails go to a real SMTP server with the
 * configured return path; the reports a relay and a mailbox provider send back (as Postfix and
 * ARF feedback loops write them, around the headers of the real mails) are read with
 * `comeback inbound` from a Maildir folder and an mbox, with the unsubscribe requests some mail
 * clients send to the List-Unsubscribe `mailto:` address.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { SmtpTransport } from '../../src/delivery/smtp.js';
import type { Engine } from '../../src/engine/engine.js';
import { splitMbox } from '../../src/tracking/mailbox.js';
import { hashEmail } from '../../src/util/email.js';
import { dialects } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';
import { ensureBuilt, reservedMessages, ROOT, sequencesDir, writeConfig } from '../worker/fixture.js';
import { SmtpSink } from '../delivery/sink.js';

let engine: Engine | undefined;
let sink: SmtpSink | undefined;
afterEach(async () => {
  process.exitCode = undefined;
  await engine?.close();
  await sink?.stop();
  engine = undefined;
});

/** The header block of a mail as it was received. */
const headersOf = (raw: Buffer) => raw.toString('utf8').split('\r\n\r\n')[0]!.replace(/\r\n/g, '\n');

/** A delivery status notification as Postfix writes it. */
function dsn(id: string, recipient: string, action: string, status: string, original: string): string {
  return `Return-Path: <>
From: MAILER-DAEMON@relay.tea.example (Mail Delivery System)
To: bounces@tea.example
Subject: Undelivered Mail Returned to Sender
Message-Id: <${id}@relay.tea.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B-${id}"

This is a MIME-encapsulated message.

--B-${id}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered to one or more recipients.

--B-${id}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.tea.example
X-Postfix-Queue-ID: ${id}

Final-Recipient: rfc822; ${recipient}
Original-Recipient: rfc822;${recipient}
Action: ${action}
Status: ${status}
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 550 ${status} <${recipient}>: Recipient address
    rejected: User unknown

--B-${id}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

${original}

--B-${id}--
`;
}

/** An abuse report of a feedback loop (RFC 5965) with the original mail attached. */
function arf(recipient: string, original: string, feedbackType = 'abuse'): string {
  return `From: fbl@mailbox.example
To: bounces@tea.example
Subject: FW: complaint
Message-ID: <fbl-${recipient}-${feedbackType}@mailbox.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"

--ARF
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.1.

--ARF
Content-Type: message/feedback-report

Feedback-Type: ${feedbackType}
User-Agent: SomeGenerator/1.0
Version: 1
Original-Rcpt-To: <${recipient}>

--ARF
Content-Type: message/rfc822
Content-Disposition: inline

${original}

--ARF--
`;
}

describe.each(dialects)('mail that comes back on $name', ({ url }) => {
  it('mails go out with the return path; hard bounces, complaints and unsubscribe requests from the recipient are applied once, everything else is ignored with the reason', async () => {
    sink = new SmtpSink({ keepRaw: true });
    await sink.start();
    const config = {
      database: await url(),
      sequencesDir: sequencesDir(),
      sender: {
        name: 'Tea & Co',
        from: 'hello@tea.example',
        returnPath: 'bounces@tea.example',
        postalAddress: 'Tea & Co GmbH, Hafenstr. 1, 20457 Hamburg',
      },
    };
    engine = await createEngine(config, {
      transport: new SmtpTransport({ type: 'smtp', url: sink.url, pool: 2, timeoutMs: 10_000 }),
      logger: pino({ level: 'silent' }),
    });
    const ids = await reservedMessages(engine, 4);
    await engine.runDue();
    expect(sink.accepted.map((m) => m.from)).toEqual([
      'bounces@tea.example',
      'bounces@tea.example',
      'bounces@tea.example',
      'bounces@tea.example',
    ]);
    const original = new Map(sink.accepted.map((m) => [m.messageId!, { to: m.to, head: headersOf(m.raw) }]));
    const [a, b, c, d] = ids.map((id) => original.get(id)!);

    const maildir = mkdtempSync(join(tmpdir(), 'comeback-bounces-'));
    const files: Record<string, string> = {
      '1-hard.eml': dsn('4F1A2B', a!.to, 'failed', '5.1.1', a!.head),
      '2-complaint.eml': arf(b!.to, `${b!.head}\n\nWe miss you`),
      '3-delayed.eml': dsn('5C3D4E', c!.to, 'delayed', '4.4.1', c!.head),
      '4-full.eml': dsn('6E7F80', c!.to, 'failed', '5.2.2', c!.head),
      '5-forged.eml': dsn(
        '7A8B9C',
        d!.to,
        'failed',
        '5.1.1',
        d!.head.replace(/(Message-ID: <comeback\.\d+\.)[0-9a-f]{16}/, '$10000000000000000'),
      ),
      '6-away.eml': 'From: d@example.com\nTo: hello@tea.example\nSubject: Out of office\n\nBack on Monday.\n',
      '7-not-spam.eml': arf(d!.to, d!.head, 'not-spam'),
      // The mail client of c's recipient uses the mailto: of List-Unsubscribe (its subject encoded).
      '8-unsubscribe.eml': `From: Carla <${c!.to}>\nTo: hello@tea.example\nMessage-ID: <u1@mail.example>\nSubject: =?UTF-8?B?${Buffer.from(`unsubscribe-${ids[2]}`).toString('base64')}?=\n\n`,
      '9-unsubscribe-other.eml': `From: mallory@example.net\nTo: hello@tea.example\nMessage-ID: <u2@example.net>\nSubject: unsubscribe-${ids[3]}\n\n`,
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(maildir, name), text);
    const file = writeConfig(config);
    const { out } = await runCliInProcess(['--config', file, 'inbound', '--remove', maildir]);
    const lines = out.trim().split('\n');
    expect(lines).toEqual([
      `${join(maildir, '1-hard.eml')}: message ${ids[0]} to ${a!.to}: hard bounce 5.1.1; address suppressed`,
      `${join(maildir, '2-complaint.eml')}: message ${ids[1]} to ${b!.to}: complaint (abuse); address suppressed`,
      `${join(maildir, '3-delayed.eml')}: delivery report without a failure (action delayed)`,
      `${join(maildir, '4-full.eml')}: message ${ids[2]} to ${c!.to}: soft bounce 5.2.2; recorded, nothing suppressed (not a hard bounce)`,
      expect.stringMatching(/5-forged\.eml: not a mail Comeback sent: <comeback\.\d+\.0{16}@tea\.example>$/),
      `${join(maildir, '6-away.eml')}: neither a delivery report, a feedback report nor an unsubscribe request`,
      `${join(maildir, '7-not-spam.eml')}: message ${ids[3]} to ${d!.to}: feedback type not-spam is not a complaint`,
      `${join(maildir, '8-unsubscribe.eml')}: message ${ids[2]}: unsubscribe request from Carla <${c!.to}>; unsubscribed from all marketing`,
      `${join(maildir, '9-unsubscribe-other.eml')}: unsubscribe request "unsubscribe-${ids[3]}" from mallory@example.net: it does not come from the address the message was sent to`,
      '9 mails read: 1 hard bounce, 1 complaint and 1 unsubscribe recorded, 1 soft bounce noted, 0 recorded before, 5 ignored',
    ]);
    expect(readdirSync(maildir)).toEqual([]); // --remove: each file once it was read
    const suppressed = await engine.ctx.k
      .selectFrom('suppressions')
      .select(['email_hash', 'reason'])
      .orderBy('reason')
      .execute();
    expect(suppressed).toEqual([
      { email_hash: hashEmail(b!.to), reason: 'complaint' },
      { email_hash: hashEmail(a!.to), reason: 'hard_bounce' },
      { email_hash: hashEmail(c!.to), reason: 'unsubscribe' },
    ]);
    const events = await engine.ctx.k
      .selectFrom('events')
      .select(['message_id', 'type', 'source'])
      .orderBy('id')
      .execute();
    expect(events).toEqual([
      { message_id: ids[0], type: 'bounce', source: 'mail-report' },
      { message_id: ids[1], type: 'complaint', source: 'mail-report' },
      { message_id: ids[2], type: 'soft_bounce', source: 'mail-report' },
      { message_id: ids[2], type: 'unsubscribe', source: 'mailto' },
    ]);
    const shown = await runCliInProcess(['--config', file, 'customer', a!.to.split('@')[0]!]);
    expect(shown.out).toMatch(/^SUPPRESSED for all mail: hard bounce \d{4}-/m);
    // The stats count them for the deliverability guard.
    expect((await engine.stats('blast'))[0]).toMatchObject({ bounced: 1, complained: 1, unsubscribed: 1 });

    // Reading the mailbox again (as an mbox this time) records nothing twice.
    const mbox = join(maildir, 'mbox');
    writeFileSync(
      mbox,
      `From MAILER-DAEMON Mon Nov 30 08:00:01 2026\n${files['1-hard.eml']}\nFrom fbl@mailbox.example Mon Nov 30 08:00:02 2026\n${files['2-complaint.eml']}\nFrom carla Mon Nov 30 08:00:03 2026\n${files['8-unsubscribe.eml']}`,
    );
    const again = await runCliInProcess(['--config', file, 'inbound', '--remove', mbox]);
    expect(again.out).toContain(`${mbox}#1: message ${ids[0]} to ${a!.to}: hard bounce 5.1.1; recorded before`);
    expect(again.out).toContain(
      '3 mails read: 0 hard bounces, 0 complaints and 0 unsubscribes recorded, 0 soft bounces noted, 3 recorded before, 0 ignored',
    );
    expect(readdirSync(maildir)).toEqual(['mbox']); // an mbox is never removed
    expect(await engine.ctx.k.selectFrom('events').select('id').execute()).toHaveLength(4);
    const withdrawals = await engine.ctx.k
      .selectFrom('consents')
      .select('source')
      .where('action', '=', 'withdraw')
      .orderBy('source')
      .execute();
    expect(withdrawals.map((w) => w.source)).toEqual(['complaint', 'unsubscribe']);

    // Piped in by the mail server, one mail on stdin.
    await ensureBuilt();
    const piped = spawnSync(process.execPath, [join(ROOT, 'bin/comeback.js'), '--config', file, 'inbound', '-'], {
      input: dsn('8D9EAF', d!.to, 'failed', '5.1.2', d!.head),
      encoding: 'utf8',
    });
    expect(piped.stdout).toBe(
      `stdin: message ${ids[3]} to ${d!.to}: hard bounce 5.1.2; address suppressed\n1 mail read: 1 hard bounce, 0 complaints and 0 unsubscribes recorded, 0 soft bounces noted, 0 recorded before, 0 ignored\n`,
    );
    expect(piped.status).toBe(0);
  });
});

describe('comeback inbound input', () => {
  it('splits an mbox and unescapes its >From lines; a plain mail is one mail', () => {
    const mails = splitMbox(
      'box',
      Buffer.from(
        'From a@b Mon Nov 30 2026\nSubject: one\n\n>From here\n\nFrom c@d Mon Nov 30 2026\nSubject: two\n\nbody\n',
      ),
    );
    expect(mails.map((m) => [m.source, m.raw.toString()])).toEqual([
      ['box#1', 'Subject: one\n\nFrom here\n'],
      ['box#2', 'Subject: two\n\nbody\n'],
    ]);
    expect(splitMbox('one.eml', Buffer.from('Subject: x\n\nFrom the start\n'))).toHaveLength(1);
  });

  it('a path that does not exist stops before anything is read', async () => {
    await expect(runCliInProcess(['--db', ':memory:', 'inbound', '/nonexistent/bounces'])).rejects.toThrow(
      '/nonexistent/bounces: no such file or folder',
    );
  });
});
