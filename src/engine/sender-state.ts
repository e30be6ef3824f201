/**
 * Resuming a paused sender by hand. The sender pauses itself when the provider cannot be reached
 * or blocks by policy (5.7.x), until a time (`delivery_state`); the mails that met the pause wait
 * with that time as their due time. An operator who fixed the cause (or learnt from the provider
 * that it is over) resumes it now instead of waiting: the pause ends and those mails are due at
 * once. Recorded in the operator trail.
 */
import { pausedUntil } from './ledger.js';
import type { EngineContext } from './context.js';
import { checkReason, recordOperatorAction, type Actor } from './operator-log.js';

/** The sender's pause and what a resume would send at once. */
export interface SenderPause {
  until: number;
  reason: string | null;
  /** Mails that wait for the end of the pause: due at once on resume. */
  waiting: number;
}

/** The sender's pause now, or undefined when it is not paused. */
export async function senderPause(ctx: EngineContext): Promise<SenderPause | undefined> {
  const p = await pausedUntil(ctx);
  if (!p) return undefined;
  const { n } = await ctx.k
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'reserved')
    .where('due_at', '=', p.until)
    .executeTakeFirstOrThrow();
  return { until: p.until, reason: p.reason, waiting: Number(n) };
}

/**
 * Ends the sender's pause now; the mails that waited for it are due at once. Returns the pause it
 * ended, or undefined when the sender was not paused (nothing is changed then). Other worker
 * processes see it within a second (they re-read the pause that often).
 */
export async function resumeSender(
  ctx: EngineContext,
  options: { by?: Actor; reason?: string } = {},
): Promise<SenderPause | undefined> {
  checkReason(options.reason);
  const now = ctx.clock.now();
  const p = await senderPause(ctx);
  const entry = {
    at: now,
    action: 'sender.resume',
    target: ctx.transport.name,
    reason: options.reason ?? null,
    ...(options.by ? { by: options.by } : {}),
  };
  // Conditional on the pause just read, so two operators resuming at once end it only once.
  const ended = p
    ? Number(
        (
          await ctx.k
            .updateTable('delivery_state')
            .set({ paused_until: null, updated_at: now })
            .where('transport', '=', ctx.transport.name)
            .where('paused_until', '=', p.until)
            .executeTakeFirst()
        ).numUpdatedRows,
      )
    : 0;
  if (!p || ended === 0) {
    await recordOperatorAction(ctx.k, { ...entry, outcome: 'not paused' });
    return undefined;
  }
  const due = await ctx.k
    .updateTable('messages')
    .set({ due_at: now, dispatched_at: null, updated_at: now })
    .where('status', '=', 'reserved')
    .where('due_at', '=', p.until)
    .executeTakeFirst();
  await recordOperatorAction(ctx.k, { ...entry, counts: { dueAtOnce: Number(due.numUpdatedRows) } });
  return p;
}
