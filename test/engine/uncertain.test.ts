/**
 * `comeback uncertain`: the operator lists the mails whose delivery is unknown with the Message-ID
 * to search the provider's log for, and settles each: delivered, or to be sent again.
 */
import { createServer } from 'node:http';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { senderHeader } from '../../src/delivery/headers.js';
import { MemoryTransport } from '../../src/delivery/memory.js';
import { SendgridTransport } from '../../src/delivery/sendgrid.js';
import { buildMime } from '../../src/delivery/mime.js';
import type { Engine } from '../../src/engine/engine.js';
import { Ledger, sweep } from '../../src/engine/ledger.js';
import { listUncertain } from '../../src/engine/uncertain.js';
import { DeliveryUnknownError, InputError } from '../../src/errors.js';
import type { OutgoingMail, SendHooks, SendReceipt, Transport } from '../../src/delivery/types.js';
import { dialects } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';
import { reservedMessages, sequencesDir, statusCounts, writeConfig } from '../worker/fixture.js';

let engine: Engine | undefined;
afterEach(async () => {
  process.exitCode = undefined;
  await engine?.close();
  engine = undefined;
});

/** Three mails a dead worker left in `sending`, now uncertain. */
async function setup(database: string) {
  const config = {
    database,
    sequencesDir: sequencesDir(),
    sender: { name: 'Tea & Co', from: 'hello@tea.example', postalAddress: 'Tea & Co GmbH, Hafenstr. 1, 20457 Hamburg' },
  };
  const transport = new MemoryTransport();
  engine = await createEngine(config, { transport, logger: pino({ level: 'silent' }) });
  for (const id of await reservedMessages(engine, 3)) {
    expect(
      await new Ledger(engine.ctx).markSending((await new Ledger(engine.ctx).claim(id))!, {
        subject: `Hello ${id}`,
        links: '[]',
      }),
    ).toBe(true);
  }
  await engine.ctx.k.updateTable('messages').set({ updated_at: 1_000 }).execute();
  expect((await sweep(engine.ctx)).uncertain).toBe(3);
  // Marked uncertain at a known time.
  await engine.ctx.k.updateTable('messages').set({ updated_at: 5_000 }).execute();
  return { e: engine, transport, file: writeConfig(config) };
}

describe.each(dialects)('comeback uncertain on $name', ({ url }) => {
  it('lists them with the Message-ID they were sent with, and how to settle them', async () => {
    const { e, file } = await setup(await url());
    const { out } = await runCliInProcess(['--config', file, 'uncertain']);
    expect(out).toMatch(/^id\s+sequence\/step\s+customer\s+email\s+uncertain since\s+Message-ID/);
    expect(out).toContain('3 mails may or may not have arrived');
    expect(out).toContain('comeback uncertain --resend 14');
    const { total, messages } = await listUncertain(e.ctx);
    expect(total).toBe(3);
    expect(messages[0]).toMatchObject({
      sequenceId: 'blast',
      stepId: 'hello',
      customerExternalId: 'c0',
      email: 'c0@example.com',
      since: 5_000,
      subject: expect.stringMatching(/^Hello /),
    });
    // The same header the transport wrote into the mail.
    const mime = buildMime({
      messageId: messages[0]!.id,
      from: senderHeader(e.ctx.config.sender),
      to: 'c0@example.com',
      subject: 'x',
      html: '<p>x</p>',
      text: 'x',
      headers: {},
    }).toString();
    expect(mime).toContain(`Message-ID: ${messages[0]!.messageIdHeader}`);
    expect(out).toContain(messages[0]!.messageIdHeader!);
    // `comeback stats` says so before its figures.
    const stats = await runCliInProcess(['--config', file, 'stats']);
    expect(stats.out).toMatch(/^! 3 mails may or may not have arrived: comeback uncertain lists them/);
  });

  it('--sent records them as delivered, --resend sends them again; a mail that is not uncertain is left alone with exit status 1', async () => {
    const { e, transport, file } = await setup(await url());
    const [a, b, c] = (await listUncertain(e.ctx)).messages.map((m) => m.id);
    const { out } = await runCliInProcess([
      '--config',
      file,
      'uncertain',
      '--sent',
      `${a},${b}`,
      '--resend',
      String(c),
    ]);
    expect(out).toBe(`recorded as sent: ${a}, ${b}\nsent again with the next pass: ${c}\n`);
    expect(await statusCounts(e)).toEqual({ sent: 2, reserved: 1 });
    const sent = await e.ctx.k
      .selectFrom('messages')
      .select(['sent_at', 'error'])
      .where('status', '=', 'sent')
      .execute();
    expect(sent).toEqual([
      { sent_at: 5_000, error: 'delivery confirmed by the operator' },
      { sent_at: 5_000, error: 'delivery confirmed by the operator' },
    ]);
    await e.runDue();
    expect(transport.sent.map((m) => m.messageId)).toEqual([c]);
    expect(await statusCounts(e)).toEqual({ sent: 3 });

    const again = await runCliInProcess(['--config', file, 'uncertain', '--resend', String(a)]);
    expect(again.err).toContain(`not uncertain (left as they are): ${a}`);
    expect(process.exitCode).toBe(1);
    expect(transport.sent).toHaveLength(1);
    expect((await runCliInProcess(['--config', file, 'uncertain'])).out).toBe('no uncertain mails\n');
    await expect(runCliInProcess(['--config', file, 'uncertain', '--sent', '12,x'])).rejects.toThrow(InputError);
    await expect(runCliInProcess(['--config', file, 'uncertain', '--sent', '5', '--resend', '5'])).rejects.toThrow(
      /message 5 given to both/,
    );
  });

  it('lists the Message-ID a mail was handed over with, also after the sender and the address changed', async () => {
    const database = await url();
    const config = {
      database,
      sequencesDir: sequencesDir(),
      sender: {
        name: 'Tea & Co',
        from: 'hello@tea.example',
        postalAddress: 'Tea & Co GmbH, Hafenstr. 1, 20457 Hamburg',
      },
    };
    const transport = new LostReply();
    engine = await createEngine(config, { transport, logger: pino({ level: 'silent' }) });
    const [id] = await reservedMessages(engine, 1);
    await engine.runDue();
    expect(await statusCounts(engine)).toEqual({ uncertain: 1 });
    const header = /^Message-ID: (.+)$/m.exec(buildMime(transport.mails[0]!).toString())![1]!;
    await engine.customers.upsert({ externalId: 'c0', email: 'c0.new@example.com' });
    await engine.close();
    engine = await createEngine(
      { ...config, sender: { ...config.sender, from: 'news@tea.example' } },
      { transport: new MemoryTransport(), logger: pino({ level: 'silent' }) },
    );
    const { messages } = await listUncertain(engine.ctx);
    expect(messages).toMatchObject([{ id, email: 'c0.new@example.com', messageIdHeader: header }]);
    expect(header).toContain('@tea.example>');
    // Erasure takes it with the rest of what the mail showed.
    await engine.privacy.forget('c0.new@example.com');
    expect(await engine.ctx.k.selectFrom('messages').select('message_id_header').executeTakeFirstOrThrow()).toEqual({
      message_id_header: null,
    });
  });

  it('with SendGrid, which writes its own Message-ID, lists none: the mail is found by its custom_args', async () => {
    // A SendGrid that takes the request and never answers: after the timeout the outcome is unknown.
    const server = createServer(() => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const transport = new SendgridTransport({
        type: 'sendgrid',
        apiKey: 'SG.test-key',
        baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
        timeoutMs: 300,
      });
      engine = await createEngine(
        { database: await url(), sequencesDir: sequencesDir() },
        { transport, logger: pino({ level: 'silent' }) },
      );
      const [id] = await reservedMessages(engine, 1);
      await engine.runDue();
      expect(await statusCounts(engine)).toEqual({ uncertain: 1 });
      expect((await listUncertain(engine.ctx)).messages).toMatchObject([{ id, messageIdHeader: null }]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

/** A provider that takes the mail and then loses the connection before its reply: the outcome is unknown. */
class LostReply implements Transport {
  readonly name = 'lost-reply';
  readonly mails: OutgoingMail[] = [];
  async send(mail: OutgoingMail, hooks?: SendHooks): Promise<SendReceipt> {
    await hooks?.commit();
    this.mails.push(mail);
    throw new DeliveryUnknownError('connection lost after the final dot');
  }
}
