import type { Logger } from 'pino';
import type { Outage } from '../db/outage.js';
import type { PassResult } from './pass.js';

/** A running worker loop. */
export interface WorkerHandle {
  /** Stops after the pass in flight; resolves when it has finished. */
  stop(): Promise<void>;
}

/**
 * Runs `pass` repeatedly with a pause between passes; an error is logged and the loop goes on (a
 * lost database connection once per outage, through `outage`).
 */
export function startWorkerLoop(
  pass: () => Promise<PassResult>,
  options: { intervalMs: number; onPass?: (r: PassResult) => void; log: Logger; outage?: Outage },
): WorkerHandle {
  let stopping = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopping) {
      try {
        const r = await pass();
        options.outage?.ok();
        options.onPass?.(r);
      } catch (err) {
        if (!options.outage?.failed(err)) options.log.error({ err }, 'worker pass failed; retrying after the interval');
      }
      if (stopping) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, options.intervalMs).unref();
      });
    }
  })();
  return {
    async stop() {
      stopping = true;
      wake?.();
      await loop;
    },
  };
}
