export { openDatabase, isPostgresUrl, type Db, type DialectName } from './connect.js';
export { migrateToLatest } from './migrate.js';
export type * from './schema.js';
export { Outage, isConnectionError, type OutageState } from './outage.js';
