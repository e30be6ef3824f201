import { assertHeaderSafe } from './headers.js';
import { commitPoint, type OutgoingMail, type SendHooks, type SendReceipt, type Transport } from './types.js';

/** Keeps mails in an array: for tests and embedding. */
export class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly sent: OutgoingMail[] = [];
  async send(mail: OutgoingMail, hooks?: SendHooks): Promise<SendReceipt> {
    for (const [k, v] of Object.entries({ Subject: mail.subject, To: mail.to, ...mail.headers }))
      assertHeaderSafe(k, v);
    await commitPoint(hooks);
    this.sent.push(mail);
    return { providerId: `memory-${mail.messageId}` };
  }
}
