import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Database } from '../db/schema.js';
import { ClickBursts } from './bursts.js';
import { classifyClick, classifyOpen, type ClassifyRules, type RequestShape, type Verdict } from './classify.js';
import { MessageCache, type TrackedMessage } from './messages.js';
import type { TokenSigner } from './tokens.js';
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

/** An event whose consequences (consent withdrawal, the branch on a churn reason) apply before the answer. */
export interface ImmediateEvent {
  messageId: number;
  type: 'unsubscribe' | 'reason';
  source: string;
  linkIndex?: number;
  userAgent?: string;
  providerEventId?: string;
  detail?: Record<string, unknown>;
}

/** What the tracker needs from the engine (filled by `trackerDeps` in src/engine/tracking.ts). */
export interface TrackerDeps {
  k: Kysely<Database>;
  signer: TokenSigner;
  clock: Clock;
  rules: ClassifyRules & { burstWindowMs: number };
  /** Records an event with its consequences at once: the engine's one door for events. */
  record: (event: ImmediateEvent) => Promise<boolean>;
}

const MAX_UA = 512;

/**
 * The one recording path of tracking (the server's routes and the demo's simulated recipients).
 * Opens and clicks on the hot path: the token is verified before anything else (a forged one
 * costs no database read), the message comes from a cache, the request is classified, and the
 * event goes to the buffered writer. The click target is always the one stored with the message.
 * Unsubscribes and survey answers go through the engine's door at once (`deps.record`).
 */
export class Tracker {
  readonly messages: MessageCache;
  private readonly bursts: ClickBursts;
  private readonly rules: ClassifyRules & { burstWindowMs: number };

  constructor(
    private readonly deps: TrackerDeps,
    private readonly writer: EventWriter,
    private readonly observe: EventObserver = () => undefined,
  ) {
    this.messages = new MessageCache(deps.k);
    this.rules = deps.rules;
    this.bursts = new ClickBursts(this.rules.burstWindowMs);
  }

  /** A message by id (cached). */
  message(id: number): Promise<TrackedMessage | undefined> | TrackedMessage | undefined {
    return this.messages.get(id);
  }

  private row(
    m: TrackedMessage,
    type: string,
    source: string,
    at: number,
    req: RequestShape,
    verdict: Verdict,
    linkIndex: number | null,
    detail?: Record<string, unknown>,
  ): EventRow {
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
    const p = this.deps.signer.verify(token, 'open');
    if (!p) return false;
    const m = await this.messages.get(p.id);
    if (!m) return false;
    const now = this.deps.clock.now();
    const verdict = classifyOpen({ ...req, sinceSentMs: m.sentAt !== null ? now - m.sentAt : undefined }, this.rules);
    await this.writer.push(this.row(m, 'open', 'pixel', now, req, verdict, null));
    return true;
  }

  /**
   * Records a click and returns the stored target for the token's link index. A click on the
   * honeypot index is recorded as a machine click and flags the message's other clicks around it.
   */
  async click(token: string, req: RequestShape): Promise<ClickOutcome> {
    const p = this.deps.signer.verify(token, 'click');
    if (!p || p.index === undefined) return { kind: 'invalid' };
    const m = await this.messages.get(p.id);
    if (!m) return { kind: 'invalid' };
    const now = this.deps.clock.now();
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
    const now = this.deps.clock.now();
    const verdict = classifyClick(
      { ...req, sinceSentMs: m.sentAt !== null ? now - m.sentAt : undefined },
      {},
      this.rules,
    );
    await this.writer.push(this.row(m, 'open', 'webview', now, req, verdict, null));
  }

  /** Records a machine click on a survey or other one-click link without its consequence. */
  async machineLinkClick(
    m: TrackedMessage,
    source: string,
    req: RequestShape,
    verdict: Verdict,
    linkIndex: number | null,
  ): Promise<void> {
    await this.writer.push(this.row(m, 'click', source, this.deps.clock.now(), req, verdict, linkIndex));
  }

  /** Classifies a request on a one-click link (survey answer, web view) of a message. */
  classifyLink(m: TrackedMessage, req: RequestShape): Verdict {
    const now = this.deps.clock.now();
    return classifyClick({ ...req, sinceSentMs: m.sentAt !== null ? now - m.sentAt : undefined }, {}, this.rules);
  }

  /**
   * Records the answer to the reason survey (the churn reason by index) with its consequence.
   * `via` says how it came: `link` (a person's click), `confirm` (the page's button after a click
   * that looked like a scanner's).
   */
  async answer(m: TrackedMessage, index: number, userAgent: string | undefined, via: string): Promise<void> {
    const ua = userAgent?.slice(0, MAX_UA);
    await this.deps.record({
      messageId: m.id,
      type: 'reason',
      source: 'survey',
      linkIndex: index,
      userAgent: ua,
      detail: { via },
    });
  }

  /**
   * A click on a survey link by token: a person's answer is recorded, a scanner's is kept as a
   * machine click only. False for a bad token or an unknown message.
   */
  async reason(token: string, req: RequestShape): Promise<boolean> {
    const p = this.deps.signer.verify(token, 'reason');
    if (!p || p.index === undefined) return false;
    const m = await this.messages.get(p.id);
    if (!m) return false;
    const verdict = this.classifyLink(m, req);
    if (verdict.machine) await this.machineLinkClick(m, 'reason_link', req, verdict, p.index);
    else await this.answer(m, p.index, req.userAgent, 'link');
    return true;
  }

  /**
   * Unsubscribes the recipient of a message: from all marketing mail (the default, and what RFC 8058
   * one-click means) or from the message's sequence only. `via` names the path (`one_click`,
   * `page`), `reason` is the optional answer to "why are you leaving?". Idempotent: the same request
   * again (a client retrying, a double click, 50 identical POSTs at once) records one event and one
   * withdrawal, held by the events table's unique key, not by a read before the write. The key holds
   * the person's latest consent grant, so an old mail's link works again after a re-subscription.
   * True for a valid token (also when it changed nothing), false for a bad one.
   */
  async unsubscribe(
    token: string,
    scope: 'all' | 'sequence' = 'all',
    options: { via?: string; reason?: string; evidence?: Record<string, unknown> } = {},
  ): Promise<boolean> {
    const p = this.deps.signer.verify(token, 'unsubscribe');
    if (!p) return false;
    const { k } = this.deps;
    const m = await k
      .selectFrom('messages')
      .select(['sequence_id', 'customer_id'])
      .where('id', '=', p.id)
      .executeTakeFirst();
    if (!m) return false;
    const target = scope === 'all' ? 'all' : m.sequence_id;
    const grant = await k
      .selectFrom('consents')
      .select('id')
      .where('customer_id', '=', m.customer_id)
      .where('action', '=', 'grant')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    const detail: Record<string, unknown> = { scope: target };
    if (options.reason) detail.reason = options.reason;
    // Keyed hashes of IP and user agent (never the values), kept with the withdrawal in the ledger.
    if (options.evidence) detail.evidence = options.evidence;
    const key = `unsubscribe:${p.id}:${target}:${grant?.id ?? 0}`;
    await this.deps.record({
      messageId: p.id,
      type: 'unsubscribe',
      source: options.via ?? 'one_click',
      detail,
      providerEventId: key,
    });
    return true;
  }
}
