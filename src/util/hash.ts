import { createHash } from 'node:crypto';

/** A deterministic draw in [0, 1) from a string key: same key, same draw, on every machine. */
export function unitDraw(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) / 2 ** 32;
}
