import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';

/** Where a server listens. Port 0 picks a free port. */
export interface ListenOptions {
  host: string;
  port: number;
}

/** Starts listening; returns the base URL and the port actually bound. */
export async function listen(app: FastifyInstance, options: ListenOptions): Promise<{ url: string; port: number }> {
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, port: address.port };
}

/** Something that emits process signals (the process itself; a plain EventEmitter in tests). */
export interface SignalSource {
  once(event: string, listener: () => void): unknown;
  removeListener(event: string, listener: () => void): unknown;
}

/**
 * Resolves when the server has closed gracefully after the first of `signals`: it stops
 * accepting connections (new requests on open keep-alive connections get 503), lets in-flight
 * requests finish, and flushes every accepted event (the writer closes in `onClose`). A second
 * signal calls `onForce` (the CLI exits with 130).
 */
export function closeOnSignal(
  app: FastifyInstance,
  options: {
    signals?: string[];
    source?: SignalSource;
    onClosing?: (signal: string) => void;
    onForce?: () => void;
  } = {},
): Promise<void> {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const source: SignalSource = options.source ?? process;
  return new Promise<void>((resolve, reject) => {
    const handlers = new Map<string, () => void>();
    const detach = () => {
      for (const [s, h] of handlers) source.removeListener(s, h);
    };
    let closing = false;
    for (const s of signals) {
      const h = () => {
        if (closing) {
          detach();
          options.onForce?.();
          return;
        }
        closing = true;
        for (const again of signals) source.once(again, handlers.get(again)!);
        options.onClosing?.(s);
        app.close().then(
          () => {
            detach();
            resolve();
          },
          (err: unknown) => {
            detach();
            reject(err);
          },
        );
      };
      handlers.set(s, h);
      source.once(s, h);
    }
  });
}
