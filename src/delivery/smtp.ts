import type { TransportConfig } from '../config/schema.js';
import { DeliveryUnknownError, ProviderUnreachableError } from '../errors.js';
import { classifySmtpError } from './classify.js';
import { DkimSigner } from './dkim.js';
import { addressOf, buildMime, messageIdOf } from './mime.js';
import { SmtpPool, type SmtpFailure, type SmtpPoolOptions } from './smtp-pool.js';
import type { OutgoingMail, SendHooks, SendReceipt, Transport } from './types.js';

type SmtpConfig = Extract<TransportConfig, { type: 'smtp' }>;

/** Pool options from `smtp://user:pass@host:port` (`smtps://` for TLS from the start). */
export function smtpOptionsFromUrl(url: string): SmtpPoolOptions {
  const u = new URL(url);
  const secure = u.protocol === 'smtps:';
  return {
    host: u.hostname,
    port: Number(u.port || (secure ? 465 : 587)),
    secure,
    ...(u.username ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } } : {}),
  };
}

/**
 * SMTP through a pool of persistent nodemailer connections. Messages are built in one pass
 * (src/delivery/mime.ts), optionally DKIM-signed with the List-Unsubscribe headers covered, and
 * the final `.` waits for the commit hook. Replies are classified (5.1.x hard bounce, 5.7.x
 * policy block, 4xx retry); a connection lost after the final `.` is reported as unknown.
 */
export class SmtpTransport implements Transport {
  readonly name = 'smtp';
  private readonly pool: SmtpPool;
  private readonly dkim: DkimSigner | undefined;

  /** host:port, for messages. */
  private readonly server: string;

  constructor(config: SmtpConfig, extra: Partial<SmtpPoolOptions> = {}) {
    const options = { ...smtpOptionsFromUrl(config.url), size: config.pool, socketTimeout: config.timeoutMs, ...extra };
    this.server = `${options.host}:${options.port}`;
    this.pool = new SmtpPool(options);
    this.dkim = config.dkim ? new DkimSigner(config.dkim) : undefined;
  }

  async send(mail: OutgoingMail, hooks?: SendHooks): Promise<SendReceipt> {
    let raw = buildMime(mail);
    if (this.dkim) raw = await this.dkim.sign(raw);
    const envelope = { from: mail.returnPath ?? addressOf(mail.from), to: [addressOf(mail.to)] };
    let refusal: { err: unknown } | undefined;
    const commit = async () => {
      try {
        await hooks?.commit();
      } catch (err) {
        refusal = { err };
        throw err;
      }
    };
    try {
      const info = await this.pool.send(envelope, raw, commit);
      return { providerId: info.serverMessageId ?? messageIdOf(mail).slice(1, -1) };
    } catch (err) {
      if (refusal) throw refusal.err; // the sender called it off before the final dot
      const f = err as SmtpFailure;
      if (f.stage === 'connect') throw this.unreachable(err);
      if (f.afterCommit && !f.responseCode)
        throw new DeliveryUnknownError(`SMTP: ${f.message} after the message was handed over`, { cause: err });
      throw classifySmtpError(err);
    }
  }

  async verify(): Promise<void> {
    try {
      await this.pool.verify();
    } catch (err) {
      throw this.unreachable(err);
    }
  }

  private unreachable(err: unknown): ProviderUnreachableError {
    return new ProviderUnreachableError(`SMTP ${this.server}: no session (${(err as Error).message})`, { cause: err });
  }

  async close(): Promise<void> {
    this.pool.close();
  }
}
