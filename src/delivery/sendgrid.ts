import sgMail from '@sendgrid/mail';
import { Client } from '@sendgrid/client';
import type { TransportConfig } from '../config/schema.js';
import { DeliveryUnknownError, PermanentSendError, ProviderUnreachableError, TransientSendError } from '../errors.js';
import { assertHeaderSafe } from './headers.js';
import { commitPoint, type OutgoingMail, type SendHooks, type SendReceipt, type Transport } from './types.js';

type SendgridConfig = Extract<TransportConfig, { type: 'sendgrid' }>;

/** SendGrid's v3 mail-send API. `custom_args.comeback_message_id` maps webhook events back to the message. */
export class SendgridTransport implements Transport {
  readonly name = 'sendgrid';
  readonly providerMessageId = true;
  private readonly mail: typeof sgMail;
  private readonly client: Client;
  constructor(config: SendgridConfig) {
    const client = new Client();
    this.client = client;
    client.setApiKey(config.apiKey);
    if (config.baseUrl) client.setDefaultRequest('baseUrl', config.baseUrl);
    // Without a timeout a request SendGrid never answers would hold its send job forever (an axios
    // option the client passes through; its types do not list it).
    client.setDefaultRequest({ timeout: config.timeoutMs ?? 30_000 } as unknown as Parameters<
      Client['setDefaultRequest']
    >[0]);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- @sendgrid/mail does not type its MailService class
    this.mail = new (sgMail as any).MailService();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- @sendgrid/mail does not type its MailService class
    (this.mail as any).setClient(client);
  }
  /** The API key is accepted and may send mail (GET /v3/scopes); nothing is sent. */
  async verify(): Promise<void> {
    let scopes: unknown;
    try {
      const [, body] = await this.client.request({ method: 'GET', url: '/v3/scopes' });
      scopes = (body as { scopes?: unknown }).scopes;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new ProviderUnreachableError(
        typeof code === 'number'
          ? `SendGrid ${code}: the API key was refused (${(err as Error).message})`
          : `SendGrid unreachable: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (!Array.isArray(scopes) || !scopes.includes('mail.send'))
      throw new ProviderUnreachableError('SendGrid: the API key may not send mail (scope mail.send missing)');
  }

  async send(mail: OutgoingMail, hooks?: SendHooks): Promise<SendReceipt> {
    for (const [k, v] of Object.entries({ Subject: mail.subject, ...mail.headers })) assertHeaderSafe(k, v);
    await commitPoint(hooks);
    try {
      const [response] = await this.mail.send({
        from: mail.from,
        to: mail.to,
        replyTo: mail.replyTo,
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
        headers: mail.headers,
        customArgs: { comeback_message_id: String(mail.messageId) },
        trackingSettings: { clickTracking: { enable: false }, openTracking: { enable: false } },
      });
      return { providerId: String(response.headers['x-message-id'] ?? `sendgrid-${mail.messageId}`) };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const message = (err as Error).message;
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
        throw new ProviderUnreachableError(`SendGrid unreachable: ${message}`, { cause: err });
      // No HTTP status: the request may have reached SendGrid (connection lost, timeout).
      if (typeof code !== 'number') throw new DeliveryUnknownError(`SendGrid: ${message}`, { cause: err });
      // The API key or sender identity refused, too many requests, the service down: trouble of the
      // account or of SendGrid, not of this message; failing every message for it would lose them all.
      if ([401, 403, 429, 503].includes(code))
        throw new ProviderUnreachableError(`SendGrid ${code}: ${message}`, { cause: err });
      if (code >= 400 && code < 500)
        throw new PermanentSendError(`SendGrid ${code}: ${message}`, 'other', { cause: err });
      throw new TransientSendError(`SendGrid ${code}: ${message}`, { cause: err });
    }
  }
}
