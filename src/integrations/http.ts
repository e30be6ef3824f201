import { ShopApiError, ShopUnreachableError } from '../errors.js';

/** Waits `ms` milliseconds (the shops' own pacing: throttle restore, Retry-After). */
export const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Attempts per call before the shop counts as unreachable. */
export const ATTEMPTS = 5;

/**
 * One HTTP call to a shop with a timeout; a network failure or timeout becomes
 * ShopUnreachableError, 401/403 a ShopApiError naming the credentials.
 */
export async function shopFetch(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new ShopUnreachableError(`${new URL(url).host}: ${(err as Error).message}`, { cause: err });
  }
  if (res.status === 401 || res.status === 403) {
    const text = (await res.text()).slice(0, 300);
    throw new ShopApiError(
      `${new URL(url).host} refused the credentials (HTTP ${res.status}): ${text} — check shop.accessToken`,
    );
  }
  return res;
}

/** Retries a call on ShopUnreachableError with growing pauses; the last error propagates. */
export async function withRetries<T>(fn: () => Promise<T>, attempts = ATTEMPTS, baseMs = 200): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ShopUnreachableError) || i >= attempts) throw err;
      await pause(baseMs * 2 ** (i - 1));
    }
  }
}
