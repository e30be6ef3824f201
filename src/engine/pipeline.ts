/**
 * The path of one mail, and the state the engine keeps while sending: the in-doubt gate, the rate
 * limiter, the cached pause of the transport, the outcome counters, the claim batcher and the
 * ledger's group commit. One `SendPipeline` per engine, built by the composition root (`app.ts`);
 * every job backend calls `send(id)`. The order is fixed: claim → check consent → compose →
 * deliver → record (docs/ARCHITECTURE.md, "The path of one mail").
 */
import { maxInDoubtOf } from '../config/schema.js';
import { canSend } from '../consent/policy.js';
import { preferenceGate } from '../consent/preferences.js';
import type { Message } from '../db/schema.js';
import { InDoubtGate } from '../delivery/in-doubt.js';
import { LocalRateLimiter, unlimited, type RateLimiter } from '../delivery/rate-limit.js';
import type { JobBackend } from '../queue/types.js';
import { Batcher } from '../util/batcher.js';
import { composeMail, type ComposedMail } from './compose.js';
import type { EngineContext } from './context.js';
import { deliver, handleFailure } from './deliver.js';
import type { DeliveryParts, GateTimings, PauseState, SendOutcome } from './deliver.js';
import { Ledger, pausedUntil } from './ledger.js';
import { loadSendInputs, type SendInputs } from './send-inputs.js';

export type { GateTimings, SendOutcome } from './deliver.js';

/** What this process's sending did so far (status lines, the worker's summary). */
export interface SendStats {
  /** Outcomes of the jobs this process handled. */
  counts: Readonly<Record<SendOutcome, number>>;
  /** Where the serial path past the point of no return spent its time. */
  gateTimings: Readonly<GateTimings>;
  /** The transport's pause as last read (at most a second old): until when (0: not paused) and why. */
  pause: { until: number; reason: string | null };
}

/** Sends reserved messages, one job at a time, with the engine's sending state held in plain sight. */
export class SendPipeline {
  private readonly ledger: Ledger;
  private readonly gate: InDoubtGate;
  private readonly limiter: RateLimiter;
  private readonly pause: PauseState = { checkedAt: -Infinity, until: 0, reason: null, unreachableStreak: 0 };
  private readonly counts: Record<SendOutcome, number> = {
    sent: 0,
    cancelled: 0,
    failed: 0,
    retry: 0,
    uncertain: 0,
    paused: 0,
    lost_claim: 0,
  };
  private readonly timings: GateTimings = { mails: 0, waitMs: 0, commitMs: 0, replyMs: 0 };
  /** Claims and reads the messages of the jobs in flight together (send-inputs.ts). */
  private readonly batcher: Batcher<number, SendInputs>;
  private readonly parts: DeliveryParts;

  /**
   * @param backend the job backend: when it offers a shared rate limiter (BullMQ through Redis),
   *   every worker shares the transport's rate; otherwise this process limits itself.
   */
  constructor(
    private readonly ctx: EngineContext,
    backend?: JobBackend,
  ) {
    this.ledger = new Ledger(ctx);
    this.gate = new InDoubtGate(maxInDoubtOf(ctx.config));
    const rate = ctx.config.transport.rateLimit;
    const shared = rate ? backend?.rateLimiter?.(`rate:${ctx.transport.name}`, rate) : undefined;
    this.limiter = !rate ? unlimited : (shared ?? new LocalRateLimiter(rate));
    const { concurrency, claimLingerMs } = ctx.config.worker;
    this.batcher = new Batcher(async (ids) => loadSendInputs(ctx, await this.ledger.claimMany(ids)), {
      maxBatch: concurrency,
      lingerMs: claimLingerMs,
    });
    const { ledger, gate, limiter, timings, pause } = this;
    this.parts = { ledger, gate, limiter, timings, pause };
  }

  /**
   * The job handler of every backend: claims the message (unless the sender is paused) and sends
   * it. `lost_claim` when it is not claimable (sent already, claimed elsewhere, or not yet due).
   */
  async send(id: number): Promise<SendOutcome> {
    const outcome = await this.claimAndSend(id);
    this.counts[outcome]++;
    return outcome;
  }

  /**
   * Sends a message this process claimed already: re-checks consent and suppression now (an
   * opt-out that arrived after reservation wins), composes, delivers and records the outcome.
   */
  async sendClaimed(m: Message): Promise<SendOutcome> {
    return this.sendWithInputs((await loadSendInputs(this.ctx, [m])).get(m.id)!);
  }

  /** Until when the transport is paused (read from the database at most once a second); 0 when not paused. */
  async pausedUntil(): Promise<number> {
    const s = this.pause;
    const now = this.ctx.clock.now();
    if (now - s.checkedAt >= 1000 || now < s.checkedAt) {
      const p = await pausedUntil(this.ctx);
      Object.assign(s, { checkedAt: now, until: p?.until ?? 0, reason: p?.reason ?? null });
    }
    return s.until > now ? s.until : 0;
  }

  /** This process's counters, serial-path timings and last known pause (a copy). */
  stats(): SendStats {
    const { until, reason } = this.pause;
    return { counts: { ...this.counts }, gateTimings: { ...this.timings }, pause: { until, reason } };
  }

  private async claimAndSend(id: number): Promise<SendOutcome> {
    if (await this.pausedUntil()) {
      await this.ctx.k.updateTable('messages').set({ dispatched_at: null }).where('id', '=', id).execute();
      return 'paused';
    }
    const inputs = await this.batcher.load(id);
    if (!inputs) return 'lost_claim';
    return this.sendWithInputs(inputs);
  }

  private async sendWithInputs(inputs: SendInputs): Promise<SendOutcome> {
    const { ctx } = this;
    const { message: m, customer, enrollment } = inputs;
    const seq = await ctx.sequences.version(enrollment.sequence_id, enrollment.sequence_version);
    const suppressed = inputs.suppressedScopes.has('all') || inputs.suppressedScopes.has(seq.id);
    const policy = { consent: seq.consent, ownSimilarGoods: seq.own_similar_goods };
    const decision = canSend(customer, inputs.consent, suppressed, policy);
    if (!decision.allowed || (enrollment.status !== 'active' && enrollment.status !== 'completed')) {
      const reason = decision.allowed ? `enrolment ${enrollment.status}` : decision.reason;
      await this.ledger.record(m, { status: 'cancelled', error: reason });
      return 'cancelled';
    }
    // The customer's choices, checked again now: a topic left cancels, a snooze makes the mail wait
    // (given back without using up an attempt).
    const gate = preferenceGate(inputs.preferences, ctx.clock.now(), [], seq.topic);
    if (gate.kind === 'block') {
      await this.ledger.record(m, { status: 'cancelled', error: `preference: ${gate.reason}` });
      return 'cancelled';
    }
    if (gate.kind === 'defer') {
      await this.ledger.release(m, gate.until, 'snoozed by the customer');
      return 'paused';
    }
    let composed: ComposedMail;
    try {
      composed = await composeMail(ctx, seq, inputs);
    } catch (err) {
      return handleFailure(ctx, this.parts, m, customer.email_hash, err);
    }
    // Outside the try above: deliver() records its own failures; an error it lets through happened
    // after the provider took the mail and must not be treated as a failed send.
    return deliver(ctx, this.parts, m, composed, customer.email_hash);
  }
}
