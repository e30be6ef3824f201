import type { ChoiceEvidence, PreferenceChoice, Preferences } from '../consent/preferences.js';
import { getPreferences, setPreference, type PreferenceResult } from './preferences.js';
import { enforceConsent, type EnforceResult } from '../consent/enforce.js';
import { appendConsents, consentHistory, consentStates, type ConsentRecord } from '../consent/ledger.js';
import {
  confirmOptIn,
  expireOptInRequests,
  requestOptIn,
  type ConfirmResult,
  type OptInDeps,
  type OptInRequest,
  type OptInRequestResult,
} from '../consent/optin.js';
import type { Customer } from '../db/schema.js';
import {
  backtestShop,
  refreshScoresIfStale,
  scoreCustomers,
  type BacktestShopOptions,
  type ScoreOptions,
  type ScoreRunResult,
  type ShopBacktest,
} from '../dormancy/index.js';
import { NotFoundError } from '../errors.js';
import type { JobBackend } from '../queue/types.js';
import { findCustomer, toCustomerRow, upsertCustomerRows } from '../shop/customers.js';
import { importFile, type ImportKind, type ImportOptions, type ImportResult } from '../shop/import/run.js';
import { upsertProducts } from '../shop/products.js';
import type { CustomerInput, OrderInput, ProductInput } from '../shop/types.js';
import type { Attribution } from './attribution.js';
import type {
  ConsentInput,
  EngineConsents,
  EngineCustomers,
  EngineEvents,
  EngineOrders,
  EnginePrivacy,
  EngineProducts,
  TriggerResult,
} from './api.js';
import { applySuccess } from './success.js';
import { applySuccesses, recordOrders, shopMoney, storeOrders } from './orders.js';
import type { EngineContext } from './context.js';
import { enrollAudience, trigger, type EnrollResult } from './enroll.js';
import { recordEvent, type EventInput } from './events.js';
import { unsubscribeByMail, type MailUnsubscribeResult } from './mail-unsubscribe.js';
import { auditPerson, type PersonAudit } from './person-audit.js';
import { exportPerson, forgetPerson, type ForgetResult, type PersonExport } from './privacy.js';
import { runPass, type PassResult } from './pass.js';
import { SendPipeline, type SendOutcome } from './pipeline.js';
import { sequenceStats, type SequenceStats } from './stats.js';
import { FeedbackLoop } from './feedback.js';
import type { GuardFinding } from './guard-run.js';
import { buildStatsReport, type StatsReport, type StatsReportOptions } from '../metrics/report.js';
import { assertKnownSequence, guardSince, pauseSequence, resumeSequence } from './sequence-state.js';
import { LIBRARY_ACTOR, type Actor } from './operator-log.js';
import { applyInboundMail, type InboundOutcome } from './inbound.js';
import { WebhookDispatcher } from '../webhooks/dispatcher.js';
import { startWorkerLoop, type WorkerHandle } from './worker-loop.js';

export type { ConsentInput } from './api.js';

/** The engine a shop embeds. Create it with `createEngine(config)`. */
export class Engine {
  /**
   * Shared parts (database, signer, config …) for Comeback's own server, worker and tools. Not part
   * of the published API (left out of the type declarations); tests reach it via `comeback/testing`.
   * @internal
   */
  readonly ctx: EngineContext;
  /** The job backend (embedded or BullMQ); the worker stops it first on shutdown. */
  readonly backend: JobBackend;
  /** Sends reserved messages: the gate, limiter, pause, counters, batcher and group commit; `stats()` for status lines. */
  readonly sending: SendPipeline;
  /** The deliverability guard and the variant optimiser, run before each pass. */
  private readonly feedback: FeedbackLoop;

  constructor(ctx: EngineContext, backend: JobBackend, sending: SendPipeline = new SendPipeline(ctx, backend)) {
    this.ctx = ctx;
    this.backend = backend;
    this.sending = sending;
    this.feedback = new FeedbackLoop(ctx);
  }

  /** Starts the job backend's consumer; called by `createEngine`. */
  async init(): Promise<void> {
    await this.backend.start((id) => this.sendMessage(id));
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  private async customerOrThrow(ref: number | string): Promise<Customer> {
    const c = await findCustomer(this.ctx.k, ref);
    if (!c) throw new NotFoundError('customer', String(ref));
    return c;
  }

  /** Customers: upsert by the shop's external id, look up by id or external id. */
  readonly customers: EngineCustomers = {
    /**
     * Inserts or updates customers; returns their internal ids by external id. An update changes
     * only the fields given (`null` clears one); a new customer gets defaults for the others.
     * A record whose address was erased is not stored again and has no id in the result.
     */
    upsert: async (input: CustomerInput | CustomerInput[]): Promise<Map<string, number>> => {
      const rows = (Array.isArray(input) ? input : [input]).map((c) =>
        toCustomerRow(c, this.ctx.config.defaults, this.now()),
      );
      return upsertCustomerRows(this.ctx.k, rows);
    },
    /** A customer by internal or external id, or undefined. */
    get: (ref: number | string) => findCustomer(this.ctx.k, ref),
  };

  /**
   * Orders, through the one door every source uses (`recordOrders`): stored idempotently by the
   * shop's order id, refused in a currency without a configured rate, attributed to enrolments
   * whose goal they meet (ending those enrolments), then `on_success` runs.
   */
  readonly orders: EngineOrders = {
    /** Records one order; throws NotFoundError for an unknown customer, InputError naming each wrong field. */
    record: async (input: OrderInput): Promise<{ id: number; conversions: Attribution[] }> => {
      const r = await recordOrders(this.ctx, [input]);
      return { id: [...r.ids.values()][0]!.id, conversions: r.conversions };
    },
    /**
     * Records up to 10,000 orders in one transaction, attributed in batches: all or nothing (an
     * invalid order or unknown customer throws, naming it by its index, and nothing is stored).
     */
    recordMany: async (inputs: OrderInput[]): Promise<{ ids: Map<string, number>; conversions: Attribution[] }> => {
      const r = await recordOrders(this.ctx, inputs);
      return { ids: new Map([...r.ids].map(([k, v]) => [k, v.id])), conversions: r.conversions };
    },
  };

  /** The product catalogue (for recommendations). */
  readonly products: EngineProducts = {
    upsert: (input: ProductInput | ProductInput[]) =>
      upsertProducts(this.ctx.k, Array.isArray(input) ? input : [input], this.ctx.config.defaults.currency),
  };

  /**
   * The preference centre's choices (snooze 30/90/180 days, one mail a week or month, topics,
   * language), through the same door as the page and `POST /api/preferences`: recorded once in the
   * consent ledger with `evidence`, applied at once. Never an objection (see docs/CONSENT.md).
   */
  readonly preferences = {
    /** The customer's current choices; NotFoundError for an unknown or erased customer. */
    get: (customer: number | string): Promise<Preferences> => getPreferences(this.ctx, customer),
    /** Records one choice, e.g. `{ snooze: 90 }`, `{ frequency: 'monthly' }`, `{ topic: 'news', subscribed: false }`, `{ locale: 'de' }`. */
    set: (
      customer: number | string,
      choice: PreferenceChoice,
      evidence: Partial<ChoiceEvidence> = {},
    ): Promise<PreferenceResult> =>
      setPreference(this.ctx, customer, choice, { ...evidence, via: evidence.via ?? 'library' }),
  };

  /** The consent ledger: append grants and withdrawals, read the derived state, run double opt-in. */
  readonly consents: EngineConsents = {
    /**
     * Appends a grant or withdrawal (never rewrites one). A withdrawal takes effect at once:
     * reserved messages the policy no longer allows are cancelled and their enrolments end.
     */
    record: async (input: ConsentInput): Promise<number> => {
      const customer = await this.customerOrThrow(input.customer);
      const { customer: _ref, ...entry } = input;
      const [id] = await appendConsents(this.ctx.k, [
        { ...entry, customerId: customer.id, recordedAt: input.recordedAt ?? this.now() },
      ]);
      if (input.action === 'withdraw') await enforceConsent(this.ctx.k, customer.id, this.ctx.sequences, this.now());
      return id!;
    },
    /** Withdraws one basis, or (without `basis`) objects to all marketing mail. */
    withdraw: async (
      customer: number | string,
      options: { basis?: ConsentInput['basis']; source?: string; evidence?: Record<string, unknown> } = {},
    ): Promise<{ consentId: number } & EnforceResult> => {
      const c = await this.customerOrThrow(customer);
      const [consentId] = await appendConsents(this.ctx.k, [
        {
          customerId: c.id,
          action: 'withdraw',
          basis: options.basis ?? null,
          source: options.source ?? 'objection',
          evidence: options.evidence ?? {},
          recordedAt: this.now(),
        },
      ]);
      return { consentId: consentId!, ...(await enforceConsent(this.ctx.k, c.id, this.ctx.sequences, this.now())) };
    },
    /** The current state derived from the ledger: bases in force, objection. */
    state: async (ref: number | string) => {
      const customer = await this.customerOrThrow(ref);
      return (await consentStates(this.ctx.k, [customer.id])).get(customer.id)!;
    },
    /** The customer's whole ledger, oldest first. */
    history: async (ref: number | string): Promise<ConsentRecord[]> =>
      consentHistory(this.ctx.k, (await this.customerOrThrow(ref)).id),
    /**
     * Double opt-in, step 1: stores the request with its evidence and sends the confirmation mail
     * through the engine's transport. Nothing is granted until the link is confirmed.
     */
    requestOptIn: (input: OptInRequest): Promise<OptInRequestResult> => requestOptIn(this.optInDeps(), input),
    /** Double opt-in, step 2 (the confirm link): records the grant with the full evidence. */
    confirm: (token: string, proof: { ip?: string; userAgent?: string } = {}): Promise<ConfirmResult> =>
      confirmOptIn(this.optInDeps(), token, proof),
    /** Expires unconfirmed requests past their time and clears their addresses; returns how many. */
    expireRequests: (): Promise<number> => expireOptInRequests(this.ctx.k, this.now()),
    /** A mail to the List-Unsubscribe `mailto:` address: unsubscribes when its sender is the recipient. */
    unsubscribeByMail: (mail: { from: string; subject: string; id?: string }): Promise<MailUnsubscribeResult> =>
      unsubscribeByMail(this.ctx, mail),
  };

  private optInDeps(): OptInDeps {
    const { config } = this.ctx;
    return {
      k: this.ctx.k,
      transport: this.ctx.transport,
      signer: this.ctx.signer,
      now: () => this.now(),
      publicUrl: config.publicUrl,
      sender: config.sender,
      defaults: config.defaults,
      ttlMs: config.consent.optInTtlHours * 3_600_000,
      maxRequestsPerDay: config.consent.optInRequestsPerDay,
    };
  }

  /** Data subject rights: export (Art. 15/20), erasure (Art. 17) and the audit of each mail's legal basis. */
  readonly privacy: EnginePrivacy = {
    /** Everything stored about the person with this address, as plain JSON. */
    export: (email: string): Promise<PersonExport> => exportPerson(this.ctx, email),
    /** Erases the person's data; keeps the hashed suppression and anonymous statistics. */
    forget: (email: string, options: { by?: Actor } = {}): Promise<ForgetResult> =>
      forgetPerson(this.ctx, email, options.by ?? LIBRARY_ACTOR),
    /** Why each mail to this address was allowed, and what the policy says now. */
    audit: (email: string): Promise<PersonAudit> => auditPerson(this.ctx, email),
  };

  /** Feedback from tracking and providers (opens, clicks, unsubscribes, bounces, survey answers). */
  readonly events: EngineEvents = {
    record: (e: EventInput) => recordEvent(this.ctx, e),
  };

  /** Streams a CSV or JSON Lines file of customers, orders or products into the database; imported objections are enforced at once. */
  async import(
    kind: ImportKind,
    file: string,
    options: Partial<Omit<ImportOptions, 'defaults' | 'now'>> = {},
  ): Promise<ImportResult> {
    // Imported orders take the same door as every other order: stored, then attributed per batch.
    const conversions: Attribution[] = [];
    const storeOrderBatch = async (
      db: Parameters<typeof storeOrders>[1],
      orders: Parameters<typeof storeOrders>[2],
    ) => {
      const r = await storeOrders(this.ctx, db, orders);
      conversions.push(...r.conversions);
      return { unknownCustomer: r.unknownCustomer, conversions: r.conversions.length };
    };
    const result = await importFile(this.ctx.k, kind, file, {
      ...options,
      defaults: this.ctx.config.defaults,
      money: shopMoney(this.ctx),
      storeOrders: storeOrderBatch,
      now: () => this.now(),
    });
    // An imported objection stops pending mail at once, as one recorded through the API does.
    for (const customerId of new Set(result.objected))
      await enforceConsent(this.ctx.k, customerId, this.ctx.sequences, this.now());
    if (!result.rolledBack) await applySuccesses(this.ctx, conversions);
    return result;
  }

  /**
   * Applies one mail that came back (raw RFC 5322 bytes): a delivery report, a feedback report or an
   * unsubscribe request to the List-Unsubscribe `mailto:` address (`comeback inbound` reads them
   * from mailboxes; a shop that receives mail by webhook passes each one here). Recorded once.
   */
  inbound(raw: Buffer): Promise<InboundOutcome> {
    return applyInboundMail(this.ctx, raw);
  }

  /** Starts a trigger-based sequence for one customer, e.g. on subscription cancellation. */
  trigger(sequenceId: string, customer: number | string, data?: Record<string, unknown>): Promise<TriggerResult> {
    return trigger(this.ctx, sequenceId, customer, data);
  }

  /** Evaluates one sequence's audience and enrols who qualifies; re-scores first when the scores are stale. */
  async enrollAudience(sequenceId: string): Promise<EnrollResult> {
    await refreshScoresIfStale(this.ctx);
    return enrollAudience(this.ctx, sequenceId);
  }

  /** Computes and stores every customer's rhythm, RFM, purchase-model and exclusion scores (docs/SCORING.md). */
  score(options: ScoreOptions = {}): Promise<ScoreRunResult> {
    return scoreCustomers(this.ctx, options);
  }

  /** Backtests the return scores on the shop's own history over rolling cut-offs (docs/SCORING.md). */
  backtest(options: BacktestShopOptions = {}): Promise<ShopBacktest> {
    return backtestShop(this.ctx, options);
  }

  /** Evaluates the audience of every scheduled (not trigger-based) sequence. */
  async enrollAll(): Promise<EnrollResult[]> {
    const out: EnrollResult[] = [];
    for (const id of this.ctx.sequences.ids()) {
      if (!this.ctx.sequences.get(id).audience.trigger) out.push(await this.enrollAudience(id));
    }
    return out;
  }

  /**
   * One scheduler and send pass: everything due now is reserved and sent. Unconfirmed double
   * opt-in requests past their time expire first (their addresses are cleared). Before it, on
   * their intervals, the deliverability guard may pause sequences and the variant shares are
   * refreshed from the results so far (docs/METRICS.md).
   */
  async runDue(): Promise<PassResult> {
    await expireOptInRequests(this.ctx.k, this.now());
    await this.feedback.beforePass();
    const result = await runPass(this.ctx, this.backend, this.sending, this.feedback.weights);
    // A survey goal is reached when the scheduler sees the answer; it succeeds like a purchase.
    for (const g of result.goalsReached) await applySuccess(this.ctx, g, null);
    return result;
  }

  /** Runs the deliverability guard now: pauses every sequence over a pause threshold and says why. */
  checkDeliverability(): Promise<GuardFinding[]> {
    return this.feedback.guard();
  }

  /**
   * Pauses a sequence by hand: it enrols and sends nothing until `resume`; its due work is parked
   * and keeps its planned times. Returns false when it was paused already (the first reason stays).
   * The operator trail names `options.by` (the library when not given).
   */
  async pause(sequenceId: string, reason = 'paused by hand', options: { by?: Actor } = {}): Promise<boolean> {
    await assertKnownSequence(this.ctx, sequenceId);
    return pauseSequence(this.ctx, sequenceId, reason, options.by ?? LIBRARY_ACTOR);
  }

  /**
   * Resumes a paused sequence: it enrols and sends again, parked work that came due meanwhile is
   * due at once (later steps keep their times), and the guard counts from now on. Returns the
   * reason it had been paused for, or null when it was not paused. The operator trail names
   * `options.by` with `options.reason`.
   */
  async resume(sequenceId: string, options: { by?: Actor; reason?: string } = {}): Promise<string | null> {
    await assertKnownSequence(this.ctx, sequenceId);
    return resumeSequence(this.ctx, sequenceId, { ...options, by: options.by ?? LIBRARY_ACTOR });
  }

  /** Claims and sends one reserved message (the job handler of every backend). */
  sendMessage(messageId: number): Promise<SendOutcome> {
    return this.sending.send(messageId);
  }

  /**
   * Runs passes in the background until `stop()` is called, and delivers the outbound webhooks
   * beside them (when endpoints are configured), as `comeback worker` does.
   */
  startWorker(options: { intervalMs?: number; onPass?: (r: PassResult) => void } = {}): WorkerHandle {
    const webhooks = new WebhookDispatcher(this.ctx);
    webhooks.start();
    const loop = startWorkerLoop(() => this.runDue(), {
      intervalMs: options.intervalMs ?? this.ctx.config.worker.pollIntervalMs,
      onPass: options.onPass,
      log: this.ctx.log,
      outage: this.ctx.db.outage,
    });
    return { stop: async () => void (await Promise.all([loop.stop(), webhooks.stop()])) };
  }

  /** Headline numbers per sequence. */
  stats(sequenceId?: string): Promise<SequenceStats[]> {
    if (sequenceId) this.ctx.sequences.get(sequenceId);
    return sequenceStats(this.ctx, sequenceId);
  }

  /**
   * The success report (docs/METRICS.md): funnels per sequence, version, step, variant and churn
   * reason, uplift against the holdout, variant posteriors and allocation, deliverability health.
   */
  async report(options: StatsReportOptions = {}): Promise<StatsReport> {
    const { k, config, clock, sequences } = this.ctx;
    if (options.sequence !== undefined) await assertKnownSequence(this.ctx, options.sequence);
    const source = {
      k,
      now: clock.now(),
      guard: config.guard,
      currency: config.defaults.currency,
      controlGroup: config.controlGroup,
      sequences,
    };
    return buildStatsReport({ ...source, guardSince: await guardSince(k) }, options);
  }

  /** Stops the backend and closes the database. */
  async close(): Promise<void> {
    await this.backend.stop();
    await this.ctx.transport.close?.();
    await this.ctx.db.close();
  }
}
