import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { WebhookDispatcher } from '../../src/webhooks/index.js';

/** Ticks the dispatcher until nothing is left to do. */
export async function drain(d: WebhookDispatcher): Promise<void> {
  for (let i = 0; i < 100 && (await d.tick()); i++);
}

/** A secret in the Standard Webhooks form, for tests. */
export const TEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** How the receiver misbehaves. `random` draws in [0, 1) (seeded by the test). */
export interface ReceiverFaults {
  /** Share of requests answered 500 (after reading them, before processing). */
  failRate?: number;
  /** Milliseconds before answering, per request. */
  delayMs?: () => number;
  /** Answer every request with this status instead. */
  status?: number;
  random?: () => number;
}

/** A request the receiver processed: verified, deduplicated by `webhook-id`. */
export interface Received {
  id: string;
  type: string;
  body: Record<string, any>;
  headers: Record<string, string>;
}

/**
 * A local webhook receiver as the Standard Webhooks specification describes one
 * (https://www.standardwebhooks.com/, "Verifying webhooks"): it verifies the signature with the
 * reference library, answers 2xx once it processed the event, and processes each `webhook-id`
 * once (a redelivery is answered 200 and counted as a duplicate).
 */
export class Receiver {
  private server: Server | undefined;
  port = 0;
  readonly processed = new Map<string, Received>();
  /** Ids in the order they were first processed. */
  readonly order: string[] = [];
  duplicates = 0;
  requests = 0;
  badSignatures = 0;
  inFlight = 0;
  faults: ReceiverFaults = {};
  private readonly verifiers: Webhook[];

  constructor(secrets: string[] = [TEST_SECRET]) {
    this.verifiers = secrets.map((s) => new Webhook(s));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** Starts listening (on the port it had before, after `down()`). */
  async up(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops every open connection: the endpoint is down. */
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    this.inFlight++;
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      const delay = this.faults.delayMs?.() ?? 0;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      if (this.faults.status) return void res.writeHead(this.faults.status).end();
      if (this.faults.failRate && (this.faults.random ?? Math.random)() < this.faults.failRate)
        return void res.writeHead(500).end('try again');
      const headers = Object.fromEntries(
        ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(req.headers[h] ?? '')]),
      );
      let payload: Record<string, any> | undefined;
      for (const v of this.verifiers) {
        try {
          payload = v.verify(body, headers) as Record<string, any>;
          break;
        } catch {
          // try the next secret
        }
      }
      if (!payload) {
        this.badSignatures++;
        return void res.writeHead(401).end('bad signature');
      }
      const id = headers['webhook-id']!;
      if (this.processed.has(id)) this.duplicates++;
      else {
        this.processed.set(id, { id, type: payload.type, body: payload, headers });
        this.order.push(id);
      }
      res.writeHead(204).end();
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    await this.down();
  }
}
