import { ConfigError } from '../errors.js';
import type { JobBackend } from './types.js';

/**
 * For processes that neither hand out nor take send jobs (the CLI's tools, the tracking server):
 * no queue connection is opened, so they neither send mail as a side effect nor wait for Redis.
 */
export class NoJobsBackend implements JobBackend {
  readonly name = 'none';
  readonly runsInline = false;

  async dispatch(): Promise<void> {
    throw new ConfigError(
      'this engine was created without a job backend (jobs: false); sending is the work of comeback worker',
    );
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}
