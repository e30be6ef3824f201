import { createHash } from 'node:crypto';

/** Lower-cases and trims an address so that hashing and comparison ignore cosmetic differences. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** SHA-256 of the normalised address: the key of suppressions, which must outlive erasure. */
export function hashEmail(email: string): string {
  return createHash('sha256').update(normalizeEmail(email)).digest('hex');
}
