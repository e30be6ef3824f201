import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { EngineConfig } from '../config/schema.js';
import type { Db } from '../db/connect.js';
import type { Database } from '../db/schema.js';
import type { Transport } from '../delivery/types.js';
import type { TemplateStore } from '../templates/store.js';
import type { TokenSigner } from '../tracking/tokens.js';
import type { TrackingUrls } from '../tracking/urls.js';
import type { SequenceRegistry } from './registry.js';
import type { CohortShares } from '../metrics/cohort-allocation.js';

/** A coupon to create in the shop: single use, for one customer, until it expires. */
export interface ShopCouponSpec {
  code: string;
  email: string;
  customerExternalId: string;
  percent: number | null;
  amountMinor: number | null;
  currency: string | null;
  expiresAt: number;
  startsAt: number;
}

/** The connected shop, as the sender needs it: codes must exist at the checkout before they are mailed. */
export interface ShopCoupons {
  /** Creates the code unless the shop has it (idempotent by code); returns the shop's id of it. */
  ensureCoupon(spec: ShopCouponSpec): Promise<string>;
}

/** Everything the engine's parts share. Built once by the composition root (`app.ts`). */
export interface EngineContext {
  config: EngineConfig;
  db: Db;
  k: Kysely<Database>;
  clock: Clock;
  transport: Transport;
  templates: TemplateStore;
  sequences: SequenceRegistry;
  signer: TokenSigner;
  urls: TrackingUrls;
  log: Logger;
  /** The adaptive cohort shares of path experiments, computed once per epoch. */
  cohortShares: CohortShares;
  /** The connected shop (config `shop`); without one, coupon codes exist in Comeback only. */
  shop?: ShopCoupons;
}
