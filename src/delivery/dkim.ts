import DKIM from 'nodemailer/lib/dkim';

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
export const DKIM_SIGNED_HEADERS = 'From:To:Reply-To:Subject:Date:Message-ID:MIME-Version:Content-Type:List-Unsubscribe:List-Unsubscribe-Post';

/** Signs complete messages with nodemailer's DKIM signer (relaxed/relaxed, rsa-sha256). */
export class DkimSigner {
  private readonly dkim: DKIM;
  constructor(options: DkimOptions) {
    this.dkim = new DKIM({ ...options, headerFieldNames: DKIM_SIGNED_HEADERS });
  }

  /** The message with a `DKIM-Signature` header prepended. */
  async sign(raw: Buffer): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.dkim.sign(raw)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
}
