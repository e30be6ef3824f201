import type { ShopConfig } from '../config/schema.js';
import { ShopifyClient } from './shopify/client.js';
import type { ShopClient } from './types.js';
import { WooCommerceClient } from './woocommerce/client.js';

export * from './types.js';
export { applyCustomers, applyOrders, type ApplyResult } from './door.js';
export { runSync, type SyncProgress, type SyncResult } from './sync.js';
export { importShopifyExport, type ShopifyExportResult } from './shopify/export.js';
export { ShopifyClient } from './shopify/client.js';
export { WooCommerceClient } from './woocommerce/client.js';

/** The API client of the configured shop. */
export function shopClient(config: ShopConfig, options: { pageSize?: number } = {}): ShopClient {
  return config.type === 'shopify' ? new ShopifyClient(config, options) : new WooCommerceClient(config, options);
}
