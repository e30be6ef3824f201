/**
 * Hands a rendered message to the transport and records what happened: the point of no return
 * goes through the in-doubt gate (at most `worker.maxInDoubt` messages per process between
 * `sending` and their recorded outcome), the rate limit is taken first, and every failure is
 * classified into retry, permanent failure, hard bounce (suppressed), policy block (sender
 * paused, customer not blamed) or unknown outcome (`uncertain`, never resent).
 */
import { suppress } from '../consent/suppressions.js';
import type { Message } from '../db/schema.js';
import type { InDoubtGate } from '../delivery/in-doubt.js';
import type { RateLimiter } from '../delivery/rate-limit.js';
import type { SendReceipt } from '../delivery/types.js';
import {
  ComebackError,
  DeliveryUnknownError,
  PermanentSendError,
  ProviderUnreachableError,
  ShopUnreachableError,
  TemplateError,
  TemplateUnusableError,
} from '../errors.js';
import type { ComposedMail } from './compose.js';
import type { EngineContext } from './context.js';
import { recordEvent } from './events.js';
import { pauseTransport, pausedUntil, type Ledger } from './ledger.js';
import { pauseSequence } from './sequence-state.js';

/** Outcome of sending one reserved message. */
export type SendOutcome = 'sent' | 'cancelled' | 'failed' | 'retry' | 'uncertain' | 'paused' | 'lost_claim';

/** Raised inside the commit hook when this worker's claim was taken back. */
class ClaimLostError extends ComebackError {
  constructor(id: number) {
    super('E_CLAIM_LOST', `message ${id} was claimed again elsewhere; not sent here`);
  }
}

/** Where the serial path past the point of no return spent its time, summed over the mails that took it. */
export interface GateTimings {
  /** Mails that reached the provider's reply. */
  mails: number;
  /** Waiting for the in-doubt gate (another mail was past the point of no return). */
  waitMs: number;
  /** Committing `sending` (with the previous mail's outcome, in one group commit). */
  commitMs: number;
  /** From that commit to the provider's reply: the final `.` and its answer. */
  replyMs: number;
}

/** The cached shared pause of the transport (`delivery_state`), and this process's outage streak. */
export interface PauseState {
  checkedAt: number;
  until: number;
  reason: string | null;
  /** Pauses in a row because the provider could not be reached (each one twice as long); 0 after a send. */
  unreachableStreak: number;
}

/** The parts of the send pipeline that delivery uses (owned by `SendPipeline`, src/engine/pipeline.ts). */
export interface DeliveryParts {
  ledger: Ledger;
  gate: InDoubtGate;
  limiter: RateLimiter;
  /** A worker sends at most `maxInDoubt` / (commit + reply) mails per second. */
  timings: GateTimings;
  pause: PauseState;
}

/**
 * Sends a rendered, claimed message and records the outcome. `shown` (the subject, the tracked
 * links as JSON, the Message-ID) is stored with `sending`, so that the links of a mail that ends
 * `uncertain` work and the operator can look it up.
 */
export async function deliver(
  ctx: EngineContext,
  parts: DeliveryParts,
  m: Message,
  composed: ComposedMail,
  emailHash: string | null,
): Promise<SendOutcome> {
  const { ledger, gate, limiter, timings: t } = parts;
  const { mail, shown } = composed;
  let leave: (() => void) | undefined;
  let receipt: SendReceipt;
  let committedAt = 0;
  try {
    await limiter.take();
    receipt = await ctx.transport.send(mail, {
      commit: async () => {
        const asked = performance.now();
        leave = await gate.enter();
        const entered = performance.now();
        if (!(await ledger.markSending(m, shown))) throw new ClaimLostError(m.id);
        committedAt = performance.now();
        t.waitMs += entered - asked;
        t.commitMs += committedAt - entered;
      },
    });
    if (committedAt) {
      t.mails++;
      t.replyMs += performance.now() - committedAt;
    }
  } catch (err) {
    try {
      if (err instanceof ClaimLostError) return 'lost_claim';
      return await handleFailure(ctx, parts, m, emailHash, err);
    } finally {
      leave?.();
    }
  }
  // Outside the try: the provider has the mail, so a failure to record it must not count as a
  // send failure (that would retry it); it propagates and the row ends `uncertain`.
  // Subject and links went with `sending` (ledger.markSending).
  const sent = {
    status: 'sent' as const,
    provider_id: receipt.providerId,
    sent_at: ctx.clock.now(),
    transport: ctx.transport.name,
    error: null,
  };
  const recorded = ledger.record(m, sent);
  // The gate may open as soon as the outcome is queued: the next message's `sending` commits in
  // the same transaction as this `sent` or after it, never before, so no more than the gate's
  // limit are ever durably in doubt, and the two writes share one commit.
  leave?.();
  parts.pause.unreachableStreak = 0;
  await throughOutage(ctx, recorded, () => ledger.record(m, sent));
  return 'sent';
}

/** How long the outcome of a mail the provider took is retried through a database outage. */
const RECORD_RETRY_MS = 120_000;

/**
 * Awaits a ledger write; while the database is unreachable (a restart, a failover) it is issued
 * again until it lands, so a mail the provider took ends `sent`, not `uncertain`. The write is
 * conditional on the row's state, so repeating one whose commit did land changes nothing.
 */
async function throughOutage(
  ctx: EngineContext,
  first: Promise<unknown>,
  again: () => Promise<unknown>,
): Promise<void> {
  const deadline = Date.now() + Math.min(RECORD_RETRY_MS, ctx.config.worker.sendingTimeoutMs / 2);
  let write = first;
  for (let wait = 250; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      await write;
      return;
    } catch (err) {
      if (!ctx.db.outage.failed(err) || Date.now() + wait > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    write = again();
  }
}

/** The longest pause for an unreachable provider: it is tried again at least this often. */
const MAX_UNREACHABLE_PAUSE_MS = 10 * 60_000;

/**
 * The provider cannot be reached: pause the transport (`worker.unreachablePauseMs`, doubling while
 * it stays down, at most 10 minutes), alert once per pause, and give the message back without
 * counting the attempt, so an outage of any length costs no mail.
 */
async function providerDown(
  ctx: EngineContext,
  parts: DeliveryParts,
  m: Message,
  message: string,
): Promise<SendOutcome> {
  const s = parts.pause;
  const now = ctx.clock.now();
  let until = s.until;
  if (until <= now) {
    // Another worker may have paused already (this one's cached state is up to a second old).
    const shared = await pausedUntil(ctx);
    if (shared) Object.assign(s, { checkedAt: now, until: shared.until, reason: shared.reason });
    until = s.until;
  }
  if (until <= now) {
    // The first job to notice pauses; the jobs already under way wait for the same time.
    const at = ctx.clock.now();
    until = at + Math.min(MAX_UNREACHABLE_PAUSE_MS, ctx.config.worker.unreachablePauseMs * 2 ** s.unreachableStreak);
    s.unreachableStreak++;
    const reason = `provider unreachable: ${message}`;
    Object.assign(s, { checkedAt: at, until, reason });
    await pauseTransport(ctx, until, reason);
    ctx.log.error(
      {
        alert: 'provider_unreachable',
        transport: ctx.transport.name,
        pausedUntil: new Date(until).toISOString(),
        err: message,
      },
      'ALERT: the mail provider cannot be reached; sending paused, mails wait without using up their attempts',
    );
  }
  await parts.ledger.release(m, until, message);
  return 'paused';
}

/**
 * The shop cannot be reached to create the mail's coupon: the mail waits without using up an
 * attempt (its code must exist at the checkout first) and the operator is alerted.
 */
async function shopDown(ctx: EngineContext, ledger: Ledger, m: Message, message: string): Promise<SendOutcome> {
  await ledger.release(m, ctx.clock.now() + ctx.config.worker.unreachablePauseMs, `shop unreachable: ${message}`);
  ctx.log.error(
    { alert: 'shop_unreachable', messageId: m.id, err: message },
    'ALERT: the shop cannot be reached to create a coupon; the mail waits and is tried again',
  );
  return 'paused';
}

/**
 * The template cannot be used at all (a broken edit, a missing file): pause the sequence and alert
 * once, and give the message back without counting the attempt; `comeback resume` after the fix
 * sends every parked mail. Failing each mail instead would lose the whole step to one typo.
 */
async function templateUnusable(ctx: EngineContext, ledger: Ledger, m: Message, message: string): Promise<SendOutcome> {
  await ledger.release(m, ctx.clock.now(), `template: ${message}`);
  if (await pauseSequence(ctx, m.sequence_id, `template cannot be sent: ${message}`)) {
    ctx.log.error(
      { alert: 'sequence_paused', sequenceId: m.sequence_id, template: m.template, err: message },
      `ALERT: sequence ${m.sequence_id} paused itself: a template it sends cannot be used; fix it (comeback validate), then comeback resume ${m.sequence_id}`,
    );
  }
  return 'paused';
}

/** Records a failed attempt: retry with backoff, failed, suppressed, sender paused, or uncertain. */
export async function handleFailure(
  ctx: EngineContext,
  parts: DeliveryParts,
  m: Message,
  emailHash: string | null,
  err: unknown,
): Promise<SendOutcome> {
  const { ledger } = parts;
  const message = (err as Error).message ?? String(err);
  const w = ctx.config.worker;
  const now = ctx.clock.now();
  if (err instanceof ProviderUnreachableError) return providerDown(ctx, parts, m, message);
  if (err instanceof ShopUnreachableError) return shopDown(ctx, ledger, m, message);
  if (err instanceof DeliveryUnknownError) {
    await ledger.record(m, { status: 'uncertain', error: message, transport: ctx.transport.name });
    ctx.log.warn({ messageId: m.id, err: message }, 'delivery unknown: recorded as uncertain, not resent');
    return 'uncertain';
  }
  if (err instanceof TemplateUnusableError) return templateUnusable(ctx, ledger, m, message);
  if (err instanceof TemplateError) {
    await ledger.record(m, { status: 'failed', error: `template: ${message}` });
    ctx.log.error({ messageId: m.id, err: message }, 'message failed: template');
    return 'failed';
  }
  if (err instanceof PermanentSendError && err.kind === 'policy') {
    // The provider refuses our mail (spam/policy block): stop sending for a while and alert;
    // the customer did nothing wrong, so nothing is suppressed and the message waits.
    const until = now + w.policyPauseMs;
    await pauseTransport(ctx, until, message);
    parts.pause.checkedAt = -Infinity;
    await ledger.record(m, { status: 'reserved', error: `policy block, sender paused: ${message}`, due_at: until });
    ctx.log.error(
      {
        alert: 'sender_paused',
        transport: ctx.transport.name,
        messageId: m.id,
        pausedUntil: new Date(until).toISOString(),
        err: message,
      },
      'ALERT: provider policy block (5.7.x); sending paused, check the sender reputation and authentication',
    );
    return 'paused';
  }
  if (err instanceof PermanentSendError) {
    await ledger.record(m, { status: 'failed', error: `${err.kind}: ${message}` });
    if (err.kind === 'hard_bounce') {
      if (emailHash) await suppress(ctx.k, emailHash, 'hard_bounce', now);
      await recordEvent(ctx, {
        messageId: m.id,
        type: 'bounce',
        source: ctx.transport.name,
        detail: { reason: message },
      });
    }
    ctx.log.warn({ messageId: m.id, kind: err.kind, err: message }, 'message failed permanently');
    return 'failed';
  }
  if (m.attempts >= w.maxAttempts) {
    await ledger.record(m, { status: 'failed', error: `gave up after ${m.attempts} attempts: ${message}` });
    ctx.log.warn(
      { messageId: m.id, attempts: m.attempts, err: message },
      'message failed: too many transient failures',
    );
    return 'failed';
  }
  // Exponential backoff with jitter (50–100 % of base·2^(n-1)) so retries don't stampede.
  const delay = w.retryBaseMs * 2 ** (m.attempts - 1) * (0.5 + Math.random() * 0.5);
  await ledger.record(m, { status: 'reserved', error: message, due_at: now + Math.round(delay) });
  ctx.log.info({ messageId: m.id, attempt: m.attempts, err: message }, 'transient send failure, will retry');
  return 'retry';
}
