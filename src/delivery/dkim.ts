import { createPrivateKey } from 'node:crypto';
import DKIM from 'nodemailer/lib/dkim';
import { ConfigError } from '../errors.js';

/** DKIM key of the sending domain. */
export interface DkimOptions {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

/**
 * Headers covered by the signature. RFC 8058 requires `List-Unsubscribe` and
 * `List-Unsubscribe-Post` to be signed, or one-click unsubscribe is not honoured by Gmail/Yahoo.
 */
export const DKIM_SIGNED_HEADERS =
  'From:To:Reply-To:Subject:Date:Message-ID:MIME-Version:Content-Type:List-Unsubscribe:List-Unsubscribe-Post';

const SIGNATURE = Buffer.from('DKIM-Signature:');

/**
 * Signs complete messages with nodemailer's DKIM signer (relaxed/relaxed, rsa-sha256). nodemailer
 * sends a message unsigned when the key is unusable, so the key is checked here at start and every
 * signature is checked for being there.
 */
export class DkimSigner {
  private readonly dkim: DKIM;
  constructor(options: DkimOptions) {
    let type: string | undefined;
    try {
      type = createPrivateKey(options.privateKey).asymmetricKeyType;
    } catch (err) {
      throw new ConfigError(
        `transport.dkim.privateKey: not a private key in PEM form (-----BEGIN PRIVATE KEY----- ...): ${(err as Error).message}`,
      );
    }
    if (type !== 'rsa')
      throw new ConfigError(`transport.dkim.privateKey: an RSA key is needed for rsa-sha256, got ${type}`);
    this.dkim = new DKIM({ ...options, headerFieldNames: DKIM_SIGNED_HEADERS });
  }

  /** The message with a `DKIM-Signature` header prepended. */
  async sign(raw: Buffer): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.dkim.sign(raw)) chunks.push(chunk as Buffer);
    const signed = Buffer.concat(chunks);
    if (!signed.subarray(0, SIGNATURE.length).equals(SIGNATURE))
      throw new Error('DKIM signing failed: the message would have gone out unsigned');
    return signed;
  }
}
