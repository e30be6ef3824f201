import type { Engine } from '../engine/engine.js';
import { sendState, transportPausedUntil } from '../engine/deliver.js';

/** What the status line shows. */
export interface WorkerStatus {
  sent: number;
  perSecond: number;
  due: number;
  retrying: number;
  inFlight: number;
  uncertain: number;
  failed: number;
  pausedUntil: number;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en');

/** One line: `sent 1,234 (310/s) · due 766 · in flight 8 · retrying 3 · uncertain 0 · failed 1`. */
export function formatStatus(s: WorkerStatus, backend: string): string {
  const parts = [`comeback worker [${backend}]`, `sent ${fmt(s.sent)} (${fmt(s.perSecond)}/s)`, `due ${fmt(s.due)}`, `in flight ${fmt(s.inFlight)}`, `retrying ${fmt(s.retrying)}`, `uncertain ${fmt(s.uncertain)}`, `failed ${fmt(s.failed)}`];
  if (s.pausedUntil) parts.push(`PAUSED until ${new Date(s.pausedUntil).toISOString()} (policy block)`);
  return parts.join(' · ');
}

/** Samples the engine: this process' outcomes, the ledger's waiting and in-doubt rows. */
export class StatusSampler {
  private last = { at: performance.now(), sent: 0 };
  private rate = 0;

  constructor(private readonly engine: Engine) {}

  async sample(): Promise<WorkerStatus> {
    const ctx = this.engine.ctx;
    const now = ctx.clock.now();
    const rows = await ctx.k
      .selectFrom('messages')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>(eb.case().when('due_at', '<=', now).then(1).else(0).end()).as('due')])
      .where('status', 'in', ['reserved', 'claimed', 'sending', 'uncertain'])
      .groupBy('status')
      .execute();
    const by = (st: string) => rows.find((r) => r.status === st);
    const counts = sendState(ctx).counts;
    const t = performance.now();
    const dt = (t - this.last.at) / 1000;
    if (dt >= 0.5) {
      const instant = (counts.sent - this.last.sent) / dt;
      this.rate = this.rate === 0 ? instant : this.rate * 0.5 + instant * 0.5;
      this.last = { at: t, sent: counts.sent };
    }
    const reserved = by('reserved');
    return {
      sent: counts.sent,
      perSecond: this.rate,
      due: Number(reserved?.due ?? 0),
      retrying: Number(reserved?.n ?? 0) - Number(reserved?.due ?? 0),
      inFlight: Number(by('claimed')?.n ?? 0) + Number(by('sending')?.n ?? 0),
      uncertain: Number(by('uncertain')?.n ?? 0),
      failed: counts.failed,
      pausedUntil: await transportPausedUntil(ctx),
    };
  }
}
