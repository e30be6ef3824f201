export * from './types.js';
export {
  toCustomerRow,
  upsertCustomerRows,
  customerIdsByExternalId,
  findCustomer,
  type CustomerDefaults,
  type CustomerWrite,
  type UpdatableColumn,
} from './customers.js';
export { recordOrderBatch, parseOrder, type StoredOrders } from './orders.js';
export { currencyProblem, toShopCurrency, type ShopMoney, type ShopOrder } from './currency.js';
export { upsertProducts } from './products.js';
export { importFile, type ImportKind, type ImportOptions, type ImportResult, type RejectedRow } from './import/run.js';
export { CUSTOMER_COLUMNS, ORDER_COLUMNS } from './import/columns.js';
