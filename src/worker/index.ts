export { runWorker, type RunWorkerOptions, type WorkerSummary } from './run.js';
export { formatStatus, StatusSampler, type WorkerStatus } from './status.js';
export { healthOf, parseHealthListen, startHealthServer, type HealthServer } from './health.js';
