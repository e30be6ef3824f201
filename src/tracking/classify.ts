/**
 * Human or machine: the rules that keep prefetched opens and scanner clicks out of human metrics
 * and branching. Every rule is a pure function of the request shape, so tests replay recorded
 * requests; the rules and their reasons are documented in docs/TRACKING.md.
 */

/** The shape of an HTTP request as the machine/human rules see it. */
export interface RequestShape {
  method?: string;
  userAgent?: string;
  /** The client address (behind a proxy: the forwarded one, with `server.trustProxy`). */
  ip?: string;
  /** Milliseconds between the message being sent and this request. */
  sinceSentMs?: number;
  /** A prefetch hint header (`Purpose`, `Sec-Purpose` or `X-Moz`), if any. */
  purpose?: string;
}

/** What the server knows about other clicks on the same message (see `ClickBursts`). */
export interface ClickContext {
  /** The link is the hidden honeypot link no person can see. */
  honeypot?: boolean;
  /** Distinct other links of the message clicked within the burst window before this one. */
  otherLinksInBurst?: number;
}

/** Thresholds of the time-based rules. */
export interface ClassifyRules {
  /** An open this soon after sending is a prefetch (default 5 s). */
  machineOpenWithinMs: number;
  /** A click this soon after sending is a scanner (default 10 s). */
  botClickWithinMs: number;
}

/** The default thresholds (also the defaults of the `tracking` config section). */
export const DEFAULT_RULES: ClassifyRules = { machineOpenWithinMs: 5_000, botClickWithinMs: 10_000 };

/** A verdict: machine (with the rule that fired) or human. */
export type Verdict = { machine: false } | { machine: true; reason: string };

/** Why an event was flagged: the stable values stored in `events.machine_reason`. */
export const MACHINE_REASONS = [
  'head_request',
  'prefetch_header',
  'apple_mpp_user_agent',
  'apple_proxy_network',
  'no_user_agent',
  'bare_user_agent',
  'scanner_user_agent',
  'too_soon_after_send',
  'honeypot_link',
  'multi_link_burst',
  'provider_machine_open',
] as const;

/**
 * Security gateways, link scanners, link-preview bots, HTTP libraries and headless browsers.
 * Matched case-insensitively anywhere in the user agent.
 */
export const SCANNER_AGENTS =
  /(barracuda|mimecast|proofpoint|safelinks|symantec|messagelabs|forcepoint|trendmicro|trend micro|sophos|fortiguard|fortinet|ironport|cisco|zscaler|trustwave|hornetsecurity|vadesecure|spamtitan|avanan|checkpoint|urldefense|appriver|bitdefender|kaspersky|\beset\b|mcafee|bot\b|bot\/|crawler|spider|preview|python-requests|python-urllib|aiohttp|curl\/|wget\/|go-http-client|java\/|okhttp|apache-httpclient|axios|node-fetch|undici|libwww|httpclient|headless|phantomjs|slurp)/i;

/** Image proxies that fetch when the recipient opens the mail (not ahead of it): kept as human. */
export const OPEN_TRIGGERED_PROXIES =
  /(GoogleImageProxy|ggpht\.com|YahooMailProxy|OutlookImageProxy|Outlook-iOS-Android\/.*Proxy)/i;

/** Apple's own address block (17.0.0.0/8), from which Mail Privacy Protection fetches. */
function isAppleNetwork(ip: string | undefined): boolean {
  if (!ip) return false;
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return v4.startsWith('17.') && /^17\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

function isPrefetch(purpose: string | undefined): boolean {
  return purpose !== undefined && /prefetch|preview/i.test(purpose);
}

/**
 * Opens that are not a person reading. In order: a HEAD request; a prefetch hint header; Apple
 * Mail Privacy Protection (its proxy sends the bare user agent `Mozilla/5.0`, from Apple's
 * 17.0.0.0/8 network); no user agent; a security gateway or other non-browser agent; and any open
 * within seconds of sending. Gmail's, Yahoo's and Outlook's image proxies fetch when the mail is
 * opened, so they count as human (see docs/TRACKING.md).
 */
export function classifyOpen(r: RequestShape, rules: ClassifyRules = DEFAULT_RULES): Verdict {
  if (r.method?.toUpperCase() === 'HEAD') return { machine: true, reason: 'head_request' };
  if (isPrefetch(r.purpose)) return { machine: true, reason: 'prefetch_header' };
  const ua = r.userAgent?.trim() ?? '';
  if (ua === 'Mozilla/5.0') return { machine: true, reason: 'apple_mpp_user_agent' };
  if (isAppleNetwork(r.ip) && !OPEN_TRIGGERED_PROXIES.test(ua)) return { machine: true, reason: 'apple_proxy_network' };
  if (ua === '') return { machine: true, reason: 'no_user_agent' };
  if (!OPEN_TRIGGERED_PROXIES.test(ua) && SCANNER_AGENTS.test(ua))
    return { machine: true, reason: 'scanner_user_agent' };
  if (r.sinceSentMs !== undefined && r.sinceSentMs < rules.machineOpenWithinMs)
    return { machine: true, reason: 'too_soon_after_send' };
  return { machine: false };
}

/**
 * Clicks that are a link scanner, not a person. In order: a HEAD request; the hidden honeypot
 * link; a prefetch hint header; no user agent or the bare `Mozilla/5.0` (no browser sends it); a
 * scanner agent; a click within seconds of sending; and a second distinct link of the same
 * message within the burst window (a person returns to the mail between two links).
 */
export function classifyClick(r: RequestShape, c: ClickContext = {}, rules: ClassifyRules = DEFAULT_RULES): Verdict {
  if (r.method?.toUpperCase() === 'HEAD') return { machine: true, reason: 'head_request' };
  if (c.honeypot) return { machine: true, reason: 'honeypot_link' };
  if (isPrefetch(r.purpose)) return { machine: true, reason: 'prefetch_header' };
  const ua = r.userAgent?.trim() ?? '';
  if (ua === '') return { machine: true, reason: 'no_user_agent' };
  if (ua === 'Mozilla/5.0') return { machine: true, reason: 'bare_user_agent' };
  if (SCANNER_AGENTS.test(ua)) return { machine: true, reason: 'scanner_user_agent' };
  if (r.sinceSentMs !== undefined && r.sinceSentMs < rules.botClickWithinMs)
    return { machine: true, reason: 'too_soon_after_send' };
  if ((c.otherLinksInBurst ?? 0) > 0) return { machine: true, reason: 'multi_link_burst' };
  return { machine: false };
}
