import type { EngineContext } from '../engine/context.js';
import { ClickBursts } from './bursts.js';
import { classifyClick, classifyOpen, type ClassifyRules, type RequestShape, type Verdict } from './classify.js';
import { MessageCache, type TrackedMessage } from './messages.js';
import { HONEYPOT_INDEX } from './urls.js';
import type { EventRow, EventWriter } from './writer.js';

/** The outcome of a click on a tracking link. */
export type ClickOutcome =
  | { kind: 'redirect'; url: string; verdict: Verdict }
  | { kind: 'honeypot' }
  /** Forged or altered token, unknown message, or a link index the message does not have. */
  | { kind: 'invalid' };

/** Called for every event recorded (metrics). */
export type EventObserver = (type: string, machine: boolean) => void;

const MAX_UA = 512;

/**
 * Opens and clicks on the hot path: the token is verified before anything else (a forged one
 * costs no database read), the message comes from a cache, the request is classified, and the
 * event goes to the buffered writer. The click target is always the one stored with the message.
 */
export class Tracker {
  readonly messages: MessageCache;
  private readonly bursts: ClickBursts;
  private readonly rules: ClassifyRules & { burstWindowMs: number };

  constructor(
    private readonly ctx: EngineContext,
    private readonly writer: EventWriter,
    private readonly observe: EventObserver = () => undefined,
  ) {
    this.messages = new MessageCache(ctx.k);
    this.rules = ctx.config.tracking;
    this.bursts = new ClickBursts(this.rules.burstWindowMs);
  }

  /** A message by id (cached). */
  message(id: number): Promise<TrackedMessage | undefined> | TrackedMessage | undefined {
    return this.messages.get(id);
  }

  private row(m: TrackedMessage, type: string, source: string, at: number, req: RequestShape, verdict: Verdict, linkIndex: number | null, detail?: Record<string, unknown>): EventRow {
    this.observe(type, verdict.machine);
    return {
      message_id: m.id,
      customer_id: m.customerId,
      enrollment_id: m.enrollmentId,
      type,
      link_index: linkIndex,
      machine: verdict.machine ? 1 : 0,
      machine_reason: verdict.machine ? verdict.reason : null,
      source,
      provider_event_id: null,
      user_agent: req.userAgent ? req.userAgent.slice(0, MAX_UA) : null,
      detail: detail ? JSON.stringify(detail) : '{}',
      occurred_at: at,
    };
  }

  /** Records an open from a pixel token. False (nothing recorded) for a bad token or unknown message. */
  async open(token: string, req: RequestShape): Promise<boolean> {
    const p = this.ctx.signer.verify(token, 'open');
    if (!p) return false;
    const m = await this.messages.get(p.id);
    if (!m) return false;
    const now = this.ctx.clock.now();
    const verdict = classifyOpen({ ...req, sinceSentMs: m.sentAt !== null ? now - m.sentAt : undefined }, this.rules);
    await this.writer.push(this.row(m, 'open', 'pixel', now, req, verdict, null));
    return true;
  }

  /**
   * Records a click and returns the stored target for the token's link index. A click on the
   * honeypot index is recorded as a machine click and flags the message's other clicks around it.
   */
  async click(token: string, req: RequestShape): Promise<ClickOutcome> {
    const p = this.ctx.signer.verify(token, 'click');
    if (!p || p.index === undefined) return { kind: 'invalid' };
    const m = await this.messages.get(p.id);
    if (!m) return { kind: 'invalid' };
    const now = this.ctx.clock.now();
    const sinceSentMs = m.sentAt !== null ? now - m.sentAt : undefined;
    if (p.index === HONEYPOT_INDEX) {
      const verdict = classifyClick({ ...req, sinceSentMs }, { honeypot: true }, this.rules);
      await this.writer.push(this.row(m, 'click', 'honeypot', now, req, verdict, p.index));
      this.writer.reflag(m.id, now - this.rules.burstWindowMs, 'honeypot_link');
      return { kind: 'honeypot' };
    }
    const url = m.links[p.index];
    if (!url) return { kind: 'invalid' };
    const isGet = req.method?.toUpperCase() !== 'HEAD';
    const burst = isGet ? this.bursts.note(m.id, p.index, now) : { otherLinks: 0, since: now };
    const verdict = classifyClick({ ...req, sinceSentMs }, { otherLinksInBurst: burst.otherLinks }, this.rules);
    await this.writer.push(this.row(m, 'click', 'link', now, req, verdict, p.index));
    if (burst.otherLinks > 0) this.writer.reflag(m.id, burst.since, 'multi_link_burst');
    return { kind: 'redirect', url, verdict };
  }

  /**
   * Records a visit to the web view as an open (`source: webview`), classified like a click
   * (a person follows the link; a scanner fetches it).
   */
  async view(messageId: number, req: RequestShape): Promise<void> {
    const m = await this.messages.get(messageId);
    if (!m) return;
    const now = this.ctx.clock.now();
    const verdict = classifyClick({ ...req, sinceSentMs: m.sentAt !== null ? now - m.sentAt : undefined }, {}, this.rules);
    await this.writer.push(this.row(m, 'open', 'webview', now, req, verdict, null));
  }

  /** Records a machine click on a survey or other one-click link without its consequence. */
  async machineLinkClick(m: TrackedMessage, source: string, req: RequestShape, verdict: Verdict, linkIndex: number | null): Promise<void> {
    await this.writer.push(this.row(m, 'click', source, this.ctx.clock.now(), req, verdict, linkIndex));
  }

  /** Classifies a request on a one-click link (survey answer, web view) of a message. */
  classifyLink(m: TrackedMessage, req: RequestShape): Verdict {
    const now = this.ctx.clock.now();
    return classifyClick({ ...req, sinceSentMs: m.sentAt !== null ? now - m.sentAt : undefined }, {}, this.rules);
  }
}
