/**
 * An open-loop load generator for the tracking benchmark: requests are sent at a fixed rate
 * whether or not earlier ones were answered, and each latency is measured from the moment its
 * request was due, so a stalled server shows in the percentiles instead of slowing the client
 * down (no coordinated omission). autocannon's own rate limit sends each second's budget in a
 * burst at the start of the second, which measures bursts, not a steady rate.
 *
 * Raw keep-alive sockets, one request in flight per connection, requests serialised once: on a
 * busy machine node:http's client spent more CPU per request than the server under test. The
 * response parser knows only what the benchmark's routes send: a status line, headers with
 * `content-length` (or none for an empty body), no chunked encoding.
 */
import { connect, type Socket } from 'node:net';

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
  /** Keep-alive connections; a request due while all are busy waits (and its wait counts). */
  connections: number;
  headers?: Record<string, string>;
}

const HEADER_END = Buffer.from('\r\n\r\n');

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Sends `rate` requests per second for `seconds` and waits for the answers (at most 10 s more). */
export async function paced(options: PacedOptions): Promise<PacedResult> {
  const extra = Object.entries(options.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const requests = options.paths.map((p) =>
    Buffer.from(`GET ${p} HTTP/1.1\r\nhost: 127.0.0.1\r\n${extra}\r\n`, 'latin1'),
  );
  const total = Math.round(options.rate * options.seconds);
  const latencies = new Float64Array(total);
  const statuses: Record<string, number> = {};
  const interval = 1000 / options.rate;
  const queue: number[] = []; // due times of requests waiting for a free connection
  let answered = 0;
  let errors = 0;
  let sent = 0;
  let scheduled = 0;
  let lastAnswer = 0;
  let stopped = false;
  let settle!: () => void;
  const finished = new Promise<void>((resolve) => (settle = resolve));
  const check = () => answered + errors === total && settle();

  interface Conn {
    socket: Socket;
    /** Due time of the request in flight, or undefined when idle. */
    due: number | undefined;
    buf: Buffer;
  }
  const idle: Conn[] = [];
  const all = new Set<Conn>();

  const dispatch = () => {
    while (idle.length > 0 && queue.length > 0) {
      const c = idle.pop()!;
      c.due = queue.shift()!;
      c.socket.write(requests[sent++ % requests.length]!);
    }
  };

  const open = () => {
    const c: Conn = {
      socket: connect({ host: '127.0.0.1', port: options.port, noDelay: true }),
      due: undefined,
      buf: Buffer.alloc(0),
    };
    all.add(c);
    c.socket.on('connect', () => {
      idle.push(c);
      dispatch();
    });
    c.socket.on('data', (d: Buffer) => {
      c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
      for (;;) {
        const end = c.buf.indexOf(HEADER_END);
        if (end < 0 || c.due === undefined) return;
        const head = c.buf.toString('latin1', 0, end);
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (c.buf.length < end + 4 + length) return;
        c.buf = c.buf.subarray(end + 4 + length);
        const now = performance.now();
        latencies[answered++] = now - c.due;
        lastAnswer = now;
        const status = head.slice(9, 12);
        statuses[status] = (statuses[status] ?? 0) + 1;
        c.due = undefined;
        idle.push(c);
        dispatch();
        check();
      }
    });
    c.socket.on('error', () => undefined);
    c.socket.on('close', () => {
      all.delete(c);
      const at = idle.indexOf(c);
      if (at >= 0) idle.splice(at, 1);
      if (c.due !== undefined && !stopped) {
        errors++;
        c.due = undefined;
        check();
      }
      if (!stopped) setTimeout(open, 10);
    });
  };
  for (let i = 0; i < options.connections; i++) open();
  // The clock starts once every connection is open, so connecting is not counted as waiting.
  for (let waited = 0; idle.length < options.connections && waited < 5_000; waited += 5)
    await new Promise((r) => setTimeout(r, 5));

  const start = performance.now();
  // Every millisecond, queue what has come due since (setInterval cannot fire more often).
  const timer = setInterval(() => {
    const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
    while (scheduled < due) queue.push(start + scheduled++ * interval);
    dispatch();
    if (scheduled >= total) clearInterval(timer);
  }, 1);
  await Promise.race([finished, new Promise((r) => setTimeout(r, options.seconds * 1000 + 10_000))]);
  stopped = true;
  clearInterval(timer);
  errors += total - answered - errors; // never answered within the wait
  for (const c of all) c.socket.destroy();
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
