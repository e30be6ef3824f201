/**
 * An open-loop load generator for the tracking benchmark: requests are sent at a fixed rate
 * whether or not earlier ones were answered, and each latency is measured from the moment its
 * request was due, so a stalled server shows in the percentiles instead of slowing the client
 * down (no coordinated omission). autocannon's own rate limit sends each second's budget in a
 * burst at the start of the second, which measures bursts, not a steady rate.
 */
import { Agent, request } from 'node:http';

/** What a paced run measured. */
export interface PacedResult {
  /** Requests sent, and answered per second over the run. */
  sent: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  /** Answers by status code; `errors` counts requests that got no answer. */
  statuses: Record<string, number>;
  errors: number;
}

/** Options of `paced`. */
export interface PacedOptions {
  port: number;
  paths: string[];
  /** Requests per second offered. */
  rate: number;
  seconds: number;
  /** Keep-alive connections the requests are spread over. */
  connections: number;
  headers?: Record<string, string>;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Sends `rate` requests per second for `seconds` and waits for the answers (at most 10 s more). */
export async function paced(options: PacedOptions): Promise<PacedResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const total = Math.round(options.rate * options.seconds);
  const latencies = new Float64Array(total);
  const statuses: Record<string, number> = {};
  let answered = 0;
  let errors = 0;
  let sent = 0;
  let lastAnswer = 0;
  const start = performance.now();
  const interval = 1000 / options.rate;
  let settle!: () => void;
  const finished = new Promise<void>((resolve) => (settle = resolve));
  const done = () => {
    if (answered + errors === total) settle();
  };

  const fire = (due: number) => {
    const req = request({ agent, host: '127.0.0.1', port: options.port, path: options.paths[sent % options.paths.length], headers: options.headers }, (res) => {
      res.resume();
      res.on('end', () => {
        const now = performance.now();
        latencies[answered++] = now - due;
        lastAnswer = now;
        statuses[res.statusCode!] = (statuses[res.statusCode!] ?? 0) + 1;
        done();
      });
    });
    req.on('error', () => {
      errors++;
      done();
    });
    req.end();
  };

  // Every millisecond, send what has come due since (setInterval cannot fire more often).
  const timer = setInterval(() => {
    const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
    while (sent < due) {
      fire(start + sent * interval);
      sent++;
    }
    if (sent >= total) clearInterval(timer);
  }, 1);
  await Promise.race([finished, new Promise((r) => setTimeout(r, options.seconds * 1000 + 10_000))]);
  clearInterval(timer);
  agent.destroy();
  const sorted = latencies.subarray(0, answered).sort();
  return {
    sent,
    rps: answered / ((lastAnswer - start) / 1000 || 1),
    p50: Math.round(percentile(sorted, 50) * 10) / 10,
    p99: Math.round(percentile(sorted, 99) * 10) / 10,
    max: Math.round(percentile(sorted, 100) * 10) / 10,
    statuses,
    errors,
  };
}
