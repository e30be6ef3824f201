/**
 * What needs an operator now, as plain sentences for `comeback stats` and the dashboard: a paused
 * sender (provider unreachable, policy block) and mails whose delivery is unknown.
 */
import type { EngineContext } from './context.js';
import { pausedUntil } from './ledger.js';
import { countUncertain } from './uncertain.js';

/** One sentence per thing that needs attention; empty when all is well. */
export async function operatorNotices(ctx: EngineContext): Promise<string[]> {
  const notes: string[] = [];
  const paused = await pausedUntil(ctx);
  if (paused) notes.push(`sending is paused until ${new Date(paused.until).toISOString()}: ${paused.reason ?? 'no reason recorded'}`);
  const uncertain = await countUncertain(ctx);
  if (uncertain > 0) notes.push(`${uncertain} mail${uncertain === 1 ? '' : 's'} may or may not have arrived: comeback uncertain lists them with what to look up at the provider`);
  return notes;
}
