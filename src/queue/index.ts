export type { JobBackend, JobHandler } from './types.js';
export { EmbeddedBackend, runPool } from './embedded.js';
export { createBackend } from './factory.js';
