import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a token can stand for. The token names ids only: never an address, a name or a URL. */
export type TokenPurpose = 'open' | 'click' | 'unsubscribe' | 'view' | 'reason' | 'confirm' | 'preferences';

/** The content of a token. */
export interface TokenPayload {
  purpose: TokenPurpose;
  /** Message id (or consent-request id for `confirm`). */
  id: number;
  /** Link index for `click`, reason index for `reason`. */
  index?: number;
}

const PURPOSE_CODE: Record<TokenPurpose, string> = {
  open: 'o',
  click: 'c',
  unsubscribe: 'u',
  view: 'v',
  reason: 'r',
  confirm: 'k',
  preferences: 'p',
};
const CODE_PURPOSE = Object.fromEntries(Object.entries(PURPOSE_CODE).map(([k, v]) => [v, k])) as Record<
  string,
  TokenPurpose
>;

/**
 * Signs and verifies compact tracking tokens: `<purpose><id36>[-<index36>].<mac>`, with an
 * HMAC-SHA256 truncated to 128 bits. The first secret signs; every secret verifies, so a key can
 * be rotated by putting the new one first and keeping the old one for a grace period.
 */
export class TokenSigner {
  private readonly secrets: string[];
  constructor(secret: string | string[]) {
    this.secrets = Array.isArray(secret) ? secret : [secret];
    if (this.secrets.length === 0) throw new Error('TokenSigner needs at least one secret');
  }

  private mac(body: string, secret: string): Buffer {
    return createHmac('sha256', secret).update(body).digest().subarray(0, 16);
  }

  /** A URL-safe token for the payload. */
  sign(p: TokenPayload): string {
    const body = `${PURPOSE_CODE[p.purpose]}${p.id.toString(36)}${p.index !== undefined ? `-${p.index.toString(36)}` : ''}`;
    return `${body}.${this.mac(body, this.secrets[0]!).toString('base64url')}`;
  }

  /** The payload of a genuine token, or undefined for anything forged, altered or malformed. */
  verify(token: string, purpose?: TokenPurpose): TokenPayload | undefined {
    const m = /^([a-z])([0-9a-z]{1,11})(?:-([0-9a-z]{1,6}))?\.([A-Za-z0-9_-]{22})$/.exec(token);
    if (!m) return undefined;
    const body = token.slice(0, token.indexOf('.'));
    const given = Buffer.from(m[4]!, 'base64url');
    // 22 base64url characters carry 132 bits for a 128-bit MAC: only the canonical spelling counts,
    // so a token altered in its last character's unused bits is refused too.
    if (given.toString('base64url') !== m[4]) return undefined;
    if (!this.secrets.some((s) => timingSafeEqual(this.mac(body, s), given))) return undefined;
    const p = CODE_PURPOSE[m[1]!];
    if (!p || (purpose && p !== purpose)) return undefined;
    return { purpose: p, id: parseInt(m[2]!, 36), ...(m[3] !== undefined ? { index: parseInt(m[3], 36) } : {}) };
  }
}
