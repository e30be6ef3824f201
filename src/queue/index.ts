export type { JobBackend, JobHandler } from './types.js';
export { EmbeddedBackend, runPool } from './embedded.js';
export { createBackend, sharedRateLimiter } from './factory.js';
