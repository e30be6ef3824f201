/**
 * State changes of the send ledger (`messages`). Every change after the claim is fenced by the
 * attempt number the claim produced, so a worker whose claim was taken back (it stalled past the
 * claim timeout) can no longer move the row.
 *
 *   reserved ──claim──▶ claimed ──commit──▶ sending ──▶ sent | failed | reserved (retry)
 *      ▲                   │                   │
 *      └── stale claim ────┘                   └── stale or connection lost ──▶ uncertain
 */
import { GroupCommit } from '../db/group-commit.js';
import { prepared, type PreparedQuery } from '../db/prepared.js';
import type { Message } from '../db/schema.js';
import { emitEvent, webhookTypes } from '../webhooks/emit.js';
import type { EngineContext } from './context.js';

/** Columns a worker may write when it records an outcome. */
export type Outcome = Partial<
  Pick<
    Message,
    'status' | 'error' | 'provider_id' | 'sent_at' | 'subject' | 'links' | 'transport' | 'due_at' | 'dispatched_at'
  >
>;

// The three writes every message goes through, compiled once (src/db/prepared.ts).
const claimQuery = prepared(['id', 'now'], (k, p) =>
  k
    .updateTable('messages')
    .set((eb) => ({ status: 'claimed', claimed_at: p.now, updated_at: p.now, attempts: eb('attempts', '+', 1) }))
    .where('id', '=', p.id)
    .where('status', '=', 'reserved')
    .where('due_at', '<=', p.now)
    .returningAll(),
);
const markSendingQuery = prepared(['id', 'attempts', 'now', 'subject', 'links', 'header'], (k, p) =>
  k
    .updateTable('messages')
    .set({ status: 'sending', updated_at: p.now, subject: p.subject, links: p.links, message_id_header: p.header })
    .where('id', '=', p.id)
    .where('attempts', '=', p.attempts)
    .where('status', '=', 'claimed'),
);
/** One prepared update per set of outcome columns (a handful: sent, retry, failed, ...). */
const recordQueries = new Map<string, PreparedQuery<string, unknown>>();

/** What a rendered mail showed its recipient, stored with `sending`. */
export interface ShownMail {
  subject: string;
  /** The tracked link targets, as JSON. */
  links: string;
  /** The Message-ID header it is handed over with. */
  messageIdHeader?: string;
}

const releaseQuery = prepared(['id', 'attempts', 'now', 'due_at', 'error'], (k, p) =>
  k
    .updateTable('messages')
    .set((eb) => ({
      status: 'reserved',
      due_at: p.due_at,
      error: p.error,
      updated_at: p.now,
      dispatched_at: null,
      attempts: eb('attempts', '-', 1),
    }))
    .where('id', '=', p.id)
    .where('attempts', '=', p.attempts)
    .where('status', 'in', ['claimed', 'sending']),
);

/**
 * The ledger's writes after scheduling: claim, `sending`, the outcome, a release. They share one
 * group commit (src/db/group-commit.ts), so a worker's many small state changes share commits;
 * the send pipeline owns one ledger per engine.
 */
export class Ledger {
  private readonly commit: GroupCommit;

  constructor(private readonly ctx: EngineContext) {
    this.commit = new GroupCommit(ctx.k);
  }

  /** Runs a claim: SQLite has one connection anyway, so claims share commits; PostgreSQL claims in parallel on its pool. */
  private runClaim<T>(write: (k: EngineContext['k']) => Promise<T>): Promise<T> {
    return this.ctx.db.dialect === 'sqlite' ? this.commit.run(write) : write(this.ctx.k);
  }

  /** Claims a due reserved message (reserved → claimed). Undefined when it is not (or no longer) claimable. */
  async claim(id: number): Promise<Message | undefined> {
    const values = { id, now: this.ctx.clock.now() };
    const r = await this.runClaim((k) => claimQuery.run(k, values));
    return r.rows[0] as Message | undefined;
  }

  /**
   * Claims many due reserved messages in one statement (one commit); returns those it claimed.
   * Ids not (or no longer) claimable are simply absent.
   */
  async claimMany(ids: number[]): Promise<Message[]> {
    if (ids.length === 1) {
      const m = await this.claim(ids[0]!);
      return m ? [m] : [];
    }
    const now = this.ctx.clock.now();
    const write = (k: EngineContext['k']) =>
      k
        .updateTable('messages')
        .set((eb) => ({ status: 'claimed', claimed_at: now, updated_at: now, attempts: eb('attempts', '+', 1) }))
        .where('id', 'in', ids)
        .where('status', '=', 'reserved')
        .where('due_at', '<=', now)
        .returningAll()
        .execute();
    return this.runClaim(write);
  }

  /**
   * The point of no return: claimed → sending, only if this claim still holds. The subject, the
   * links and the Message-ID of the rendered mail are stored now, not with the outcome: a mail whose
   * outcome is never recorded (`uncertain`) may have arrived, its tracked links must lead somewhere,
   * and the operator needs the header it went out with to look it up.
   */
  async markSending(m: Message, shown?: ShownMail): Promise<boolean> {
    const values = {
      id: m.id,
      attempts: m.attempts,
      now: this.ctx.clock.now(),
      subject: shown?.subject ?? m.subject,
      links: shown?.links ?? m.links,
      header: shown?.messageIdHeader ?? m.message_id_header,
    };
    return (await this.commit.update(markSendingQuery.compile(this.ctx.k, values), `message ${m.id}`)) === 1;
  }

  /**
   * Records the outcome of this claim. Ignored when the claim was taken back; a late `sent` still
   * overwrites `uncertain`, because it is the truth. The write is queued for the group commit
   * before this returns.
   */
  record(m: Message, outcome: Outcome): Promise<boolean> {
    const ctx = this.ctx;
    // A message back in `reserved` (a retry, a pause) goes to the queue again when it is due, not
    // only after `worker.redispatchAfterMs`.
    const fields: Outcome = outcome.status === 'reserved' ? { ...outcome, dispatched_at: null } : outcome;
    const query = recordQuery(fields);
    const values = { ...fields, id: m.id, attempts: m.attempts, now: ctx.clock.now() };
    if (outcome.status === 'sent' && webhookTypes(ctx.config).has('message.sent')) {
      // The webhook event commits with the `sent` it reports, in the same (group) transaction.
      const update = query.compile(ctx.k, values);
      return this.commit.run((k) =>
        inTransaction(k, async (t) => {
          const n = Number((await t.executeQuery(update)).numAffectedRows ?? 0);
          if (n === 1)
            await emitEvent(t, ctx.config, {
              type: 'message.sent',
              customerId: m.customer_id,
              enrollmentId: m.enrollment_id,
              messageId: m.id,
              occurredAt: values.now,
            });
          return n === 1;
        }),
      );
    }
    // Queued synchronously: a write issued after this call commits with it or later (see deliver.ts).
    return this.commit.update(query.compile(ctx.k, values), `message ${m.id}`).then((n) => n === 1);
  }

  /**
   * Gives a claimed message back, due at `dueAt`, without counting the attempt, when nothing was
   * handed over and the message is not to blame (the provider could not be reached, the template
   * cannot be used).
   */
  release(m: Message, dueAt: number, error: string): Promise<boolean> {
    const values = { id: m.id, attempts: m.attempts, now: this.ctx.clock.now(), due_at: dueAt, error };
    return this.commit.update(releaseQuery.compile(this.ctx.k, values), `message ${m.id}`).then((n) => n === 1);
  }
}

/** The prepared update of one set of outcome columns. */
function recordQuery(fields: Outcome): PreparedQuery<string, unknown> {
  // Undefined values are left out, as kysely's own `set` does.
  const columns = (Object.keys(fields) as (keyof Outcome)[]).filter((c) => fields[c] !== undefined).sort();
  const key = columns.join(',');
  let found = recordQueries.get(key);
  if (!found) {
    found = prepared([...columns, 'id', 'attempts', 'now'], (k, p) =>
      k
        .updateTable('messages')
        .set({ ...Object.fromEntries(columns.map((c) => [c, p[c]])), updated_at: p.now })
        .where('id', '=', p.id)
        .where('attempts', '=', p.attempts)
        .where('status', 'in', ['claimed', 'sending', 'uncertain']),
    );
    recordQueries.set(key, found);
  }
  return found;
}

/** Runs `write` in the caller's transaction, or in one of its own. */
function inTransaction<T>(k: EngineContext['k'], write: (t: EngineContext['k']) => Promise<T>): Promise<T> {
  return k.isTransaction ? write(k) : k.transaction().execute(write);
}

/** What a sweep changed. */
export interface SweepResult {
  /** Claimed by a worker that stopped before sending: back to `reserved`, sent again. */
  released: number;
  /** Left in `sending` by a worker that stopped: the provider may have them. */
  uncertain: number;
}

/**
 * Recovers from stopped workers: a claim that never reached the point of no return is released
 * (nothing was sent); a message left in `sending` becomes `uncertain`, counted and never resent.
 */
export async function sweep(ctx: EngineContext): Promise<SweepResult> {
  const now = ctx.clock.now();
  const w = ctx.config.worker;
  const released = await ctx.k
    .updateTable('messages')
    .set({
      status: 'reserved',
      updated_at: now,
      dispatched_at: null,
      error: 'claimed by a worker that stopped before sending; sent again',
    })
    .where('status', '=', 'claimed')
    .where('claimed_at', '<', now - w.claimTimeoutMs)
    .executeTakeFirst();
  const uncertain = await ctx.k
    .updateTable('messages')
    .set({ status: 'uncertain', updated_at: now, error: 'worker stopped while sending; delivery unknown' })
    .where('status', '=', 'sending')
    .where('updated_at', '<', now - w.sendingTimeoutMs)
    .executeTakeFirst();
  return { released: Number(released.numUpdatedRows), uncertain: Number(uncertain.numUpdatedRows) };
}

/**
 * Ids of reserved messages whose time has come, oldest first. With `redispatchAfterMs`, only those
 * never handed to the queue or handed over that long ago (the queue may have lost them), marked
 * as handed over now.
 */
export async function dueMessageIds(ctx: EngineContext, limit: number, redispatchAfterMs?: number): Promise<number[]> {
  const now = ctx.clock.now();
  let q = ctx.k.selectFrom('messages').select('id').where('status', '=', 'reserved').where('due_at', '<=', now);
  if (redispatchAfterMs !== undefined) {
    q = q.where((eb) => eb.or([eb('dispatched_at', 'is', null), eb('dispatched_at', '<', now - redispatchAfterMs)]));
  }
  const ids = (await q.orderBy('due_at').orderBy('id').limit(limit).execute()).map((r) => r.id);
  if (redispatchAfterMs !== undefined && ids.length) {
    await ctx.k.updateTable('messages').set({ dispatched_at: now }).where('id', 'in', ids).execute();
  }
  return ids;
}

/** Until when the transport is paused (a policy block), or undefined. */
export async function pausedUntil(ctx: EngineContext): Promise<{ until: number; reason: string | null } | undefined> {
  const row = await ctx.k
    .selectFrom('delivery_state')
    .select(['paused_until', 'reason'])
    .where('transport', '=', ctx.transport.name)
    .executeTakeFirst();
  return row?.paused_until && row.paused_until > ctx.clock.now()
    ? { until: row.paused_until, reason: row.reason }
    : undefined;
}

/** Pauses the transport for every worker until `until`. */
export async function pauseTransport(ctx: EngineContext, until: number, reason: string): Promise<void> {
  const now = ctx.clock.now();
  await ctx.k
    .insertInto('delivery_state')
    .values({ transport: ctx.transport.name, paused_until: until, reason, updated_at: now })
    .onConflict((oc) => oc.column('transport').doUpdateSet({ paused_until: until, reason, updated_at: now }))
    .execute();
}
