/**
 * The global control group: a share of customers no sequence ever mails, the baseline of the
 * whole programme's uplift. Membership is a pure function of the customer's address and the
 * configured rotation key, so it does not change when sequences are added, when the shop is
 * imported again (new customer ids, same addresses) or when a worker restarts.
 */
import type { ControlGroupConfig } from '../config/schema.js';
import { unitDraw } from '../util/hash.js';

/** What the draw reads of a customer: the address hash, else the shop's id. */
export interface ControlGroupKey {
  email_hash: string | null;
  external_id: string;
}

/**
 * The stable key of a customer for the draw: the hash of the normalised address (the same
 * address is the same person, across duplicate accounts and re-imports), else the shop's id.
 */
export function controlKey(c: ControlGroupKey): string {
  return c.email_hash ? `address:${c.email_hash}` : `customer:${c.external_id}`;
}

/**
 * The customer's draw in [0, 1) under a rotation key. A customer is in the group when the draw is
 * below the share, so raising the share keeps every earlier member in the group.
 */
export function controlDraw(c: ControlGroupKey, rotation: string): number {
  return unitDraw(`control|${rotation}|${controlKey(c)}`);
}

/** True when the customer belongs to the global control group under this configuration. */
export function inControlGroup(c: ControlGroupKey, config: Pick<ControlGroupConfig, 'share' | 'rotation'>): boolean {
  return config.share > 0 && controlDraw(c, config.rotation) < config.share;
}
