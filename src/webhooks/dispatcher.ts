import type { Kysely, Selectable } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { EngineConfig, WebhookEndpoint } from '../config/schema.js';
import type { Database, WebhookDeliveriesTable } from '../db/schema.js';
import { composeEvents, webhookId } from './compose.js';
import { endpointTypes } from './emit.js';
import { secretKey, signedHeaders } from './sign.js';

type Delivery = Selectable<WebhookDeliveriesTable>;

/** What the dispatcher needs: the database, the webhook settings, a clock and a log. */
export interface WebhookDeps {
  k: Kysely<Database>;
  config: Pick<EngineConfig, 'webhooks' | 'webhookDelivery'>;
  clock: Clock;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Draws the jitter (0..1); injectable for tests. */
  random?: () => number;
}

/** The name an endpoint is stored and shown under. */
export function endpointName(e: WebhookEndpoint): string {
  return e.name ?? e.url;
}

/** The HMAC keys of an endpoint (two while a secret is rotated). */
function keysOf(e: WebhookEndpoint): Buffer[] {
  return e.secret.map(secretKey);
}

/** How one request ended. */
export interface AttemptResult {
  ok: boolean;
  status: number | null;
  error: string | null;
  /** HTTP 410: the receiver says the endpoint is gone for good. */
  gone: boolean;
}

/** Posts one signed body; never throws (a timeout, a refused connection are results). */
export async function post(e: WebhookEndpoint, id: string, body: string, timeoutMs: number): Promise<AttemptResult> {
  // The signed timestamp is the wall-clock time of this attempt (receivers reject old ones), not the engine's clock.
  const headers = {
    ...signedHeaders(keysOf(e), id, Math.floor(Date.now() / 1000), body),
    'user-agent': 'Comeback-Webhooks/1',
  };
  try {
    const res = await fetch(e.url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    await res.arrayBuffer().catch(() => undefined); // drain, so the connection is reused
    const ok = res.status >= 200 && res.status < 300;
    return { ok, status: res.status, error: ok ? null : `HTTP ${res.status}`, gone: res.status === 410 };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    const name = (err as Error).name;
    const error =
      name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : cause
          ? `connection failed (${cause})`
          : (err as Error).message;
    return { ok: false, status: null, error, gone: false };
  }
}

/**
 * Delivers the webhook outbox (docs/WEBHOOKS.md), in every worker process. A tick moves new
 * outbox events into one delivery row per subscribed endpoint, then sends what is due: per
 * endpoint up to `concurrency` requests, at most one per customer at a time and in the order
 * the events were recorded, so a receiver never sees a customer's click before their send. A
 * worker leases the rows it sends; one killed mid-request leaves a lease that runs out, and the
 * row is sent again (at least once: receivers dedupe by `webhook-id`).
 */
export class WebhookDispatcher {
  private stopped = false;
  private prunedAt = -Infinity;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Requests sent, delivered, failed; endpoints found gone. */
  readonly counts = { attempts: 0, delivered: 0, failed: 0, dead: 0 };
  private readonly endpoints: Map<string, { e: WebhookEndpoint; types: Set<string> }>;
  /** Endpoints that may have failures recorded (all, until a success has cleared them). */
  private readonly failing: Set<string>;

  constructor(private readonly deps: WebhookDeps) {
    this.endpoints = new Map(deps.config.webhooks.map((e) => [endpointName(e), { e, types: endpointTypes(e) }]));
    this.failing = new Set(this.endpoints.keys());
  }

  private get settings() {
    return this.deps.config.webhookDelivery;
  }

  /** How long a worker holds a row it sends: past the request timeout, so only a dead worker's lease runs out. */
  private get leaseMs(): number {
    return this.settings.timeoutMs * 2 + 1_000;
  }

  /** Starts delivering in the background until `stop()`. */
  start(): void {
    if (this.running || this.endpoints.size === 0) return;
    this.running = this.loop();
  }

  /** Stops claiming and waits for the requests in flight (each ends within the request timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    await Promise.all(this.flights);
    // What arrived is recorded before the process exits, so the next worker does not send it again.
    await this.flushDelivered().catch((err: unknown) =>
      this.deps.log.error({ err }, 'recording delivered webhooks failed; they will be sent again'),
    );
  }

  /** Requests in flight, each settling after its outcome is recorded. */
  private readonly flights = new Set<Promise<void>>();
  /** Requests in flight per endpoint. */
  private readonly busy = new Map<string, number>();

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let found = false;
      try {
        await this.flushDelivered();
        found = (await this.fanOut()) > 0;
        // Claim when half the slots are free (one scan and one claim serve several requests).
        if (this.freeSlots() * 2 >= this.settings.concurrency * this.endpoints.size)
          found = (await this.startDue()).length > 0 || found;
        await this.maybePrune();
      } catch (err) {
        this.deps.log.error({ err }, 'webhook dispatch failed; retrying after the interval');
      }
      if (this.stopped || (found && this.flights.size === 0)) continue;
      // Look again when a request ends (a slot is free), or after the interval (new events, retries due).
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.settings.pollIntervalMs);
        this.wake = () => (clearTimeout(t), resolve());
        for (const f of this.flights) void f.then(this.wake);
      });
    }
  }

  private async maybePrune(): Promise<void> {
    if (this.deps.clock.now() - this.prunedAt < 3_600_000) return;
    this.prunedAt = this.deps.clock.now();
    await this.prune();
  }

  /**
   * One round for tools and tests: fan out new events, send what is due and wait for those
   * requests. True when it found work (look again at once).
   */
  async tick(): Promise<boolean> {
    await this.maybePrune();
    const fanned = await this.fanOut();
    const started = await this.startDue();
    await Promise.all(started);
    await this.flushDelivered();
    return fanned > 0 || started.length > 0;
  }

  private freeSlots(): number {
    let free = 0;
    for (const name of this.endpoints.keys()) free += this.settings.concurrency - (this.busy.get(name) ?? 0);
    return free;
  }

  /** Deliveries that succeeded, recorded together in the next round (one statement for many). */
  private delivered: number[] = [];

  /**
   * Records the successes gathered since the last round. Not fenced by the attempt: if another
   * worker took the row over meanwhile, the event did arrive all the same.
   */
  private async flushDelivered(): Promise<void> {
    const ids = this.delivered;
    if (ids.length === 0) return;
    this.delivered = [];
    const now = this.deps.clock.now();
    try {
      for (let i = 0; i < ids.length; i += 500) {
        const slice = ids.slice(i, i + 500);
        await this.deps.k
          .updateTable('webhook_deliveries')
          .set({
            status: 'delivered',
            delivered_at: now,
            lease_until: null,
            last_status: 200,
            last_error: null,
            updated_at: now,
          })
          .where('id', 'in', slice)
          .where('status', '=', 'pending')
          .execute();
      }
    } catch (err) {
      this.delivered.push(...ids); // the next round tries again
      throw err;
    }
  }

  /** Moves up to 500 outbox events into delivery rows, one per subscribed endpoint; returns how many events. */
  async fanOut(limit = 500): Promise<number> {
    const { k } = this.deps;
    const rows = await k.selectFrom('webhook_outbox').selectAll().orderBy('id').limit(limit).execute();
    if (rows.length === 0) return 0;
    const now = this.deps.clock.now();
    const composed = await composeEvents(k, rows);
    const deliveries = composed.flatMap((c) =>
      [...this.endpoints]
        .filter(([, { types }]) => types.has(c.type))
        .map(([name]) => ({
          event_id: c.id,
          endpoint: name,
          type: c.type,
          customer_id: c.customerId,
          body: c.body,
          next_attempt_at: now,
          created_at: now,
          updated_at: now,
        })),
    );
    await k.transaction().execute(async (trx) => {
      // Two workers may fan out the same events: the unique (event, endpoint) keeps one row.
      for (let i = 0; i < deliveries.length; i += 200) {
        await trx
          .insertInto('webhook_deliveries')
          .values(deliveries.slice(i, i + 200))
          .onConflict((oc) => oc.columns(['event_id', 'endpoint']).doNothing())
          .execute();
      }
      await trx
        .deleteFrom('webhook_outbox')
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .execute();
    });
    return rows.length;
  }

  /** Starts the due requests of every endpoint that is neither paused nor gone, up to its free slots. */
  private async startDue(): Promise<Promise<void>[]> {
    const now = this.deps.clock.now();
    const states = new Map(
      (await this.deps.k.selectFrom('webhook_endpoints').selectAll().execute()).map((s) => [s.endpoint, s]),
    );
    const started: Promise<void>[] = [];
    for (const [name, { e }] of this.endpoints) {
      const s = states.get(name);
      if (s?.gone_at || (s?.paused_until && s.paused_until > now)) continue;
      started.push(...(await this.startEndpoint(name, e)));
    }
    return started;
  }

  /** Claims the endpoint's due rows (one per customer, oldest first) for its free slots and sends them. */
  private async startEndpoint(name: string, e: WebhookEndpoint): Promise<Promise<void>[]> {
    const { k } = this.deps;
    const free = this.settings.concurrency - (this.busy.get(name) ?? 0);
    if (free <= 0) return [];
    const now = this.deps.clock.now();
    const pending = await k
      .selectFrom('webhook_deliveries')
      .select(['id', 'customer_id', 'next_attempt_at', 'lease_until'])
      .where('status', '=', 'pending')
      .where('endpoint', '=', name)
      .orderBy('id')
      .limit(Math.max(500, this.settings.concurrency * 50))
      .execute();
    // A customer's later event waits while an earlier one is pending (due or not, in flight or not).
    const seen = new Set<number>();
    const picks: number[] = [];
    for (const r of pending) {
      if (r.customer_id !== null) {
        if (seen.has(r.customer_id)) continue;
        seen.add(r.customer_id);
      }
      if (r.next_attempt_at <= now && (r.lease_until === null || r.lease_until < now)) picks.push(r.id);
      if (picks.length >= free) break;
    }
    if (picks.length === 0) return [];
    const claimed = await k
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        lease_until: now + this.leaseMs,
        attempts: eb('attempts', '+', 1),
        first_attempt_at: eb.fn.coalesce('first_attempt_at', eb.val(now)),
        updated_at: now,
      }))
      .where('id', 'in', picks)
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .returningAll()
      .execute();
    this.busy.set(name, (this.busy.get(name) ?? 0) + claimed.length);
    return claimed.map((d) => {
      const flight: Promise<void> = post(e, webhookId(d.event_id), d.body, this.settings.timeoutMs)
        .then((r) => {
          this.counts.attempts++;
          return this.record(name, [{ d, r }]);
        })
        .catch((err: unknown) =>
          this.deps.log.error(
            { err, endpoint: name },
            'recording a webhook outcome failed; the lease runs out and it is sent again',
          ),
        )
        .finally(() => {
          this.busy.set(name, (this.busy.get(name) ?? 1) - 1);
          this.flights.delete(flight);
        });
      this.flights.add(flight);
      return flight;
    });
  }

  /** Retry delay after `attempts` failed tries: doubling from the base up to the cap, with jitter. */
  backoff(attempts: number): number {
    const { backoffBaseMs, backoffMaxMs } = this.settings;
    const full = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, attempts - 1));
    return Math.round(full * (0.5 + 0.5 * (this.deps.random ?? Math.random)()));
  }

  /** Writes the outcomes, each fenced by the attempt it was (a lease taken over by another worker is left alone). */
  private async record(name: string, results: { d: Delivery; r: AttemptResult }[]): Promise<void> {
    const { log } = this.deps;
    const now = this.deps.clock.now();
    const ok = results.filter((x) => x.r.ok);
    this.delivered.push(...ok.map(({ d }) => d.id));
    this.counts.delivered += ok.length;
    const failed = results.filter((x) => !x.r.ok);
    const retryForMs = this.settings.retryForHours * 3_600_000;
    for (const { d, r } of failed) {
      const fence = (q: ReturnType<typeof this.updateDelivery>) =>
        q.where('id', '=', d.id).where('attempts', '=', d.attempts);
      if (r.gone) {
        // Not the event's fault: it waits, uncounted, until the endpoint is replayed or removed.
        await fence(this.updateDelivery({ lease_until: null, last_status: 410, last_error: r.error, updated_at: now }))
          .set((eb) => ({ attempts: eb('attempts', '-', 1) }))
          .execute();
        continue;
      }
      const dead = now - (d.first_attempt_at ?? now) >= retryForMs;
      this.counts.failed++;
      if (dead) this.counts.dead++;
      await fence(
        this.updateDelivery({
          status: dead ? 'dead' : 'pending',
          lease_until: null,
          last_status: r.status,
          last_error: r.error,
          updated_at: now,
          next_attempt_at: now + this.backoff(d.attempts),
        }),
      ).execute();
      if (dead)
        log.error(
          { endpoint: name, event: webhookId(d.event_id), type: d.type, error: r.error },
          'webhook moved to the dead-letter list after retrying for its whole period',
        );
    }
    await this.endpointOutcome(
      name,
      results.length - failed.length,
      failed.map((x) => x.r),
    );
  }

  private updateDelivery(values: Partial<Omit<Delivery, 'id'>>) {
    return this.deps.k.updateTable('webhook_deliveries').set(values);
  }

  /** Keeps the endpoint's record: failures in a row, a pause after too many, gone on a 410. */
  private async endpointOutcome(name: string, succeeded: number, failures: AttemptResult[]): Promise<void> {
    const { k, log } = this.deps;
    const now = this.deps.clock.now();
    if (succeeded > 0 && failures.length === 0) {
      if (!this.failing.has(name)) return; // known to be in good standing: no write per success
      this.failing.delete(name);
      await k
        .updateTable('webhook_endpoints')
        .set({ failures: 0, paused_until: null, reason: null, updated_at: now })
        .where('endpoint', '=', name)
        .where('failures', '>', 0)
        .execute();
      return;
    }
    if (failures.length === 0) return;
    this.failing.add(name);
    const gone = failures.find((f) => f.gone);
    const row = await k.selectFrom('webhook_endpoints').selectAll().where('endpoint', '=', name).executeTakeFirst();
    const count = succeeded > 0 ? failures.length : (row?.failures ?? 0) + failures.length;
    const last = failures.at(-1)!.error ?? 'failed';
    let paused_until = row?.paused_until ?? null;
    let reason = row?.reason ?? null;
    let gone_at = row?.gone_at ?? null;
    if (gone) {
      gone_at = now;
      reason = 'the receiver answered 410 Gone: nothing more is sent until comeback webhooks replay';
      log.error(
        { endpoint: name },
        `webhook endpoint ${name} answered 410 Gone: delivery stopped; its events wait (comeback webhooks list, replay)`,
      );
    } else if (count >= this.settings.pauseAfterFailures) {
      paused_until = now + this.settings.pauseMs;
      reason = `${count} failures in a row (last: ${last})`;
      log.warn(
        { endpoint: name, failures: count, until: new Date(paused_until).toISOString() },
        `webhook endpoint ${name} paused after ${count} failures in a row`,
      );
    }
    await k
      .insertInto('webhook_endpoints')
      .values({ endpoint: name, failures: count, paused_until, gone_at, reason, updated_at: now })
      .onConflict((oc) =>
        oc.column('endpoint').doUpdateSet({ failures: count, paused_until, gone_at, reason, updated_at: now }),
      )
      .execute();
  }

  /** Deletes delivered rows older than `keepDeliveredDays`; returns how many. */
  async prune(): Promise<number> {
    const before = this.deps.clock.now() - this.settings.keepDeliveredDays * 86_400_000;
    const r = await this.deps.k
      .deleteFrom('webhook_deliveries')
      .where('status', '=', 'delivered')
      .where('delivered_at', '<', before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
