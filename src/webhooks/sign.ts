import { createHmac, timingSafeEqual } from 'node:crypto';

/** Standard Webhooks secrets are `whsec_` + base64 of the key bytes. */
const PREFIX = 'whsec_';

/** The HMAC key of a `whsec_...` secret. Throws naming the problem when it is not one. */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(PREFIX))
    throw new Error(
      'a webhook secret starts with "whsec_" followed by base64 (generate one with: comeback webhooks secret)',
    );
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  if (key.length < 24 || key.length > 64)
    throw new Error(`a webhook secret holds 24 to 64 bytes of base64 after "whsec_" (this one holds ${key.length})`);
  return key;
}

/** A fresh random secret in the Standard Webhooks form. */
export function newSecret(bytes: Buffer): string {
  return PREFIX + bytes.toString('base64');
}

/**
 * The `webhook-signature` header of the Standard Webhooks specification: `v1,` + base64
 * HMAC-SHA256 over `id.timestamp.body`, one per key, separated by spaces (two keys while a secret
 * is rotated: receivers accept either).
 */
export function signatureHeader(keys: Buffer[], id: string, timestampSeconds: number, body: string): string {
  const content = `${id}.${timestampSeconds}.${body}`;
  return keys.map((k) => `v1,${createHmac('sha256', k).update(content).digest('base64')}`).join(' ');
}

/** The three headers of a signed request. */
export function signedHeaders(
  keys: Buffer[],
  id: string,
  timestampSeconds: number,
  body: string,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatureHeader(keys, id, timestampSeconds, body),
  };
}

/**
 * Verifies a request as a receiver does: one of the `v1` signatures matches and the timestamp is
 * within `toleranceSeconds` of `nowSeconds` (replay protection). For tests and tools; receivers
 * use their language's Standard Webhooks library.
 */
export function verifySignature(
  key: Buffer,
  headers: Record<string, string | undefined>,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const id = headers['webhook-id'];
  const ts = Number(headers['webhook-timestamp']);
  const sig = headers['webhook-signature'];
  if (!id || !sig || !Number.isInteger(ts) || Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(signatureHeader([key], id, ts, body).slice(3), 'base64');
  return sig.split(' ').some((s) => {
    const [v, b64] = s.split(',');
    if (v !== 'v1' || !b64) return false;
    const got = Buffer.from(b64, 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
