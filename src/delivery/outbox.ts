import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildMime } from './mime.js';
import { commitPoint, type OutgoingMail, type SendHooks, type SendReceipt, type Transport } from './types.js';

/** Writes each mail as an `.eml` file that any mail client opens. The embedded default. */
export class OutboxTransport implements Transport {
  readonly name = 'outbox';
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  async send(mail: OutgoingMail, hooks?: SendHooks): Promise<SendReceipt> {
    const file = join(this.dir, `message-${String(mail.messageId).padStart(7, '0')}.eml`);
    const eml = buildMime(mail);
    await commitPoint(hooks);
    await writeFile(file, eml);
    return { providerId: file };
  }
}
