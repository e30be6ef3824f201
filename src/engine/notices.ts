/**
 * What needs an operator now, as plain sentences for `comeback stats`, the dashboard and the
 * worker's summary: a paused sender (provider unreachable, policy block), paused sequences (the
 * deliverability guard, a broken template), mails whose delivery is unknown and webhook endpoints
 * that are paused, gone or have dead letters.
 */
import type { EngineContext } from './context.js';
import { pausedUntil } from './ledger.js';
import { pausedSequenceIds } from './sequence-state.js';
import { countUncertain } from './uncertain.js';
import { webhookNotices } from '../webhooks/admin.js';

/** One sentence per thing that needs attention; empty when all is well. */
export async function operatorNotices(ctx: EngineContext): Promise<string[]> {
  const notes: string[] = [];
  const paused = await pausedUntil(ctx);
  if (paused)
    notes.push(
      `sending is paused until ${new Date(paused.until).toISOString()}: ${paused.reason ?? 'no reason recorded'}`,
    );
  for (const id of await pausedSequenceIds(ctx.k)) {
    const reason = (await ctx.sequences.status(id)).reason ?? 'paused';
    notes.push(`sequence ${id} is paused (${reason.split('\n')[0]}); its mails wait until comeback resume ${id}`);
  }
  const uncertain = await countUncertain(ctx);
  notes.push(...(await webhookNotices(ctx.k, ctx.config, ctx.clock.now())));
  if (uncertain > 0)
    notes.push(
      `${uncertain} mail${uncertain === 1 ? '' : 's'} may or may not have arrived: comeback uncertain lists them with what to look up at the provider`,
    );
  return notes;
}

/** The notices as output lines, each starting with `! `. */
export function noticeLines(notes: string[]): string {
  return notes.map((n) => `! ${n}\n`).join('');
}
