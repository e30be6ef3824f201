import type { JobBackend, JobHandler } from './types.js';

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

/** The in-process backend of the embedded default: jobs run right away in this process. */
export class EmbeddedBackend implements JobBackend {
  readonly name = 'embedded';
  readonly runsInline = true;
  private handler: JobHandler | undefined;
  private inflight = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly concurrency: number) {}

  async start(handler: JobHandler): Promise<void> {
    this.handler = handler;
    this.stopped = false;
  }

  async dispatch(messageIds: number[]): Promise<void> {
    if (!this.handler) throw new Error('EmbeddedBackend.dispatch before start()');
    if (this.stopped) return;
    const handler = this.handler;
    const run = runPool(messageIds, this.concurrency, (id) => (this.stopped ? Promise.resolve() : handler(id)));
    this.inflight.add(run);
    try {
      await run;
    } finally {
      this.inflight.delete(run);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.inflight);
  }
}
