import type { ConsentBasis } from '../consent/types.js';
import type { ShopCoupons } from '../engine/context.js';
import type { CustomerInput, OrderInput } from '../shop/types.js';

export type { ShopCouponSpec } from '../engine/context.js';

/** Which shop system a record came from. */
export type ShopProvider = 'shopify' | 'woocommerce';

/** Marketing consent as the shop states it, kept with its evidence. */
export interface ShopConsent {
  action: 'grant' | 'withdraw';
  /** `double_opt_in` only with the shop's proof of confirmation (Shopify `CONFIRMED_OPT_IN`). */
  basis: ConsentBasis | null;
  /** When the shop says the consent was given or withdrawn. */
  at: number;
  evidence: Record<string, unknown>;
}

/** A customer from the shop, with the time the shop last changed it (for ordering). */
export interface ShopCustomer {
  input: CustomerInput;
  updatedAt?: number;
  consent?: ShopConsent;
}

/** An order from the shop; `customer` when the order carries its customer (webhooks, sync). */
export interface ShopOrder {
  input: OrderInput;
  updatedAt?: number;
  customer?: ShopCustomer;
}

/** A page of records read from the shop's API, and where the next one starts. */
export interface ShopPage<T> {
  records: T[];
  /** Opaque: the cursor (Shopify) or page number (WooCommerce) after this page; null at the end. */
  next: string | null;
  /** Records in total when the shop says (WooCommerce `X-WP-Total`). */
  total?: number;
}

/** What every shop connector does: read pages, create coupons, answer a cheap read for `check`. */
export interface ShopClient extends ShopCoupons {
  readonly provider: ShopProvider;
  /** A cheap read call: the shop's name, or an error naming what is wrong. */
  check(): Promise<string>;
  customers(after: string | null, since?: number): Promise<ShopPage<ShopCustomer>>;
  orders(after: string | null, since?: number): Promise<ShopPage<ShopOrder>>;
  /** All orders by a bulk export (Shopify), in batches; absent where the shop has none. */
  bulkOrders?(since?: number): AsyncGenerator<ShopOrder[]>;
  /** How often the shop told the client to slow down (throttled / 429) so far. */
  readonly throttled: number;
}
