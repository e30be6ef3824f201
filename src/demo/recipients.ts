import { HOUR, MINUTE } from '../clock.js';
import type { Engine } from '../engine/engine.js';
import type { Tracker } from '../tracking/tracker.js';
import { exponential } from '../util/random.js';
import { CHURN_REASONS } from '../shop/types.js';

/** Something a simulated recipient does at a given time. */
export interface PlannedAction {
  at: number;
  run: () => Promise<unknown>;
  /** True for an open or click the tracker buffers: the writer is flushed before anything else runs. */
  buffered?: boolean;
}

/** How simulated recipients behave; defaults follow the source material (¼ open a first mail, up to ½ a later one). */
export interface Behaviour {
  appleMailShare: number;
  scannerShare: number;
  firstOpenRate: number;
  laterOpenRate: number;
  clickGivenOpen: number;
  unsubscribeGivenOpen: number;
  complaintRate: number;
  surveyAnswerGivenOpen: number;
}

export const DEFAULT_BEHAVIOUR: Behaviour = {
  appleMailShare: 0.3,
  scannerShare: 0.05,
  firstOpenRate: 0.25,
  laterOpenRate: 0.45,
  clickGivenOpen: 0.3,
  unsubscribeGivenOpen: 0.015,
  complaintRate: 0.001,
  surveyAnswerGivenOpen: 0.4,
};

const HUMAN_UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

/**
 * Plans what the recipient of a sent message does. Every action goes through the `Tracker` the
 * HTTP server uses (signed tokens, machine/human classification, burst and honeypot flags, the
 * buffered writer, consent effects).
 */
export function planRecipient(
  engine: Engine,
  tracker: Tracker,
  rand: () => number,
  m: { id: number; sent_at: number; step_index: number; links: number; template: string },
  b: Behaviour,
  onHumanClick: (messageId: number, at: number) => void,
): PlannedAction[] {
  const signer = engine.ctx.signer;
  const sign = (purpose: 'open' | 'click' | 'unsubscribe' | 'reason', index?: number) =>
    signer.sign({ purpose, id: m.id, index });
  const plan: PlannedAction[] = [];
  if (rand() < b.appleMailShare) {
    plan.push({
      at: m.sent_at + 2_000,
      run: () => tracker.open(sign('open'), { userAgent: 'Mozilla/5.0' }),
      buffered: true,
    });
  }
  if (m.links > 0 && rand() < b.scannerShare) {
    plan.push({
      at: m.sent_at + 3_000,
      run: () => tracker.click(sign('click', 0), { method: 'GET', userAgent: 'Mimecast URL Protect' }),
      buffered: true,
    });
  }
  if (rand() < b.complaintRate) {
    plan.push({
      at: m.sent_at + HOUR,
      run: () => engine.events.record({ messageId: m.id, type: 'complaint', source: 'demo_feedback_loop' }),
    });
    return plan;
  }
  const openRate = m.step_index === 0 ? b.firstOpenRate : b.laterOpenRate;
  if (rand() >= openRate) return plan;
  const openAt = m.sent_at + 10 * MINUTE + exponential(rand, 20 * HOUR);
  plan.push({ at: openAt, run: () => tracker.open(sign('open'), { userAgent: HUMAN_UA }), buffered: true });
  if (m.template.includes('reason-survey') && rand() < b.surveyAnswerGivenOpen) {
    const reason = Math.floor(rand() * CHURN_REASONS.length);
    plan.push({
      at: openAt + 2 * MINUTE,
      run: () => tracker.reason(sign('reason', reason), { method: 'GET', userAgent: HUMAN_UA }),
    });
  } else if (m.links > 0 && rand() < b.clickGivenOpen) {
    const at = openAt + MINUTE;
    plan.push({
      at,
      buffered: true,
      run: async () => {
        await tracker.click(sign('click', Math.floor(rand() * m.links)), { method: 'GET', userAgent: HUMAN_UA });
        onHumanClick(m.id, at);
      },
    });
  }
  if (rand() < b.unsubscribeGivenOpen) {
    plan.push({ at: openAt + 3 * MINUTE, run: () => tracker.unsubscribe(sign('unsubscribe')) });
  }
  return plan;
}
