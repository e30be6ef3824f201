import { TemplateError } from '../errors.js';

/** Turns a link target into the URL written into the mail (a signed tracking link). */
export type LinkRewriter = (target: string, index: number) => string;

/**
 * How links are decorated. `utm` values may use `{sequence}`, `{step}`, `{variant}`, `{template}`,
 * `{locale}` and `{language}`; a parameter whose value comes out empty is left off, and one the
 * link already carries is kept as written. UTM parameters go only on links to `utmHosts`
 * (default: the host of `shop_url`), never on third-party links.
 */
export interface LinkSettings {
  utm: Record<string, string> | null;
  utmHosts: string[] | null;
}

/** The default: source comeback, medium email, the sequence as campaign, the step as content. */
export const DEFAULT_LINK_SETTINGS: LinkSettings = {
  utm: { utm_source: 'comeback', utm_medium: 'email', utm_campaign: '{sequence}', utm_content: '{step}{variant}' },
  utmHosts: null,
};

const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&quot;': '"',
  '&#x27;': "'",
  '&#39;': "'",
  '&#x3D;': '=',
  '&#61;': '=',
  '&#x60;': '`',
  '&lt;': '<',
  '&gt;': '>',
};
const ENTITY = /&(?:amp|quot|lt|gt|#x27|#39|#x3D|#61|#x60);/g;

/** The URL an `href` attribute value stands for (Handlebars escapes `=`, `&`, quotes). */
export function decodeHref(value: string): string {
  return value.includes('&') ? value.replace(ENTITY, (e) => ENTITIES[e]!) : value;
}

/** An attribute-safe form of a URL. */
export function encodeHref(url: string): string {
  if (!/[&"<>]/.test(url)) return url;
  return url.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const SAFE_SCHEMES = new Set(['http', 'https', 'mailto', 'tel']);

/** Refuses links a mail must never carry (javascript:, data:, relative paths that lead nowhere). */
export function assertSafeLink(target: string): void {
  if (target.startsWith('https://') || target.startsWith('http://') || target === '' || target.startsWith('#')) return;
  // Browsers ignore control characters and spaces inside a scheme ("java\nscript:").
  const compact = target.replace(/[\u0000-\u0020]/g, '');
  const scheme = SCHEME.exec(compact)?.[1]?.toLowerCase();
  if (!scheme)
    throw new TemplateError(`link "${target.slice(0, 80)}" is not absolute: write https://… (a mail has no base URL)`);
  if (!SAFE_SCHEMES.has(scheme))
    throw new TemplateError(`link scheme "${scheme}:" is not allowed in a mail (only http, https, mailto, tel)`);
}

const hostCache = new Map<string, string | null>();
function hostOf(url: string): string | null {
  let h = hostCache.get(url);
  if (h === undefined) {
    try {
      h = new URL(url).host.toLowerCase();
    } catch {
      h = null;
    }
    if (hostCache.size > 1000) hostCache.clear();
    hostCache.set(url, h);
  }
  return h;
}

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** The UTM parameters for one message, with placeholders filled from the data. */
export function utmFor(settings: LinkSettings, data: Record<string, unknown>): [string, string][] {
  if (!settings.utm) return [];
  const m = (data.message ?? {}) as Record<string, unknown>;
  const values: Record<string, string> = {
    sequence: str(m.sequence),
    step: str(m.step),
    variant: m.variant ? `-${str(m.variant)}` : '',
    template: str(m.template),
    locale: str(data.locale),
    language: str(data.language),
  };
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(settings.utm)) {
    const filled = v.replace(/\{(\w+)\}/g, (_m, key: string) => values[key] ?? '').replace(/^-/, '');
    if (filled) out.push([k, filled]);
  }
  return out;
}

const HOST = /^https?:\/\/(?:[^@/?#]*@)?([^/?#]+)/i;

/**
 * Adds UTM parameters to a link to one of the shop's hosts (a parameter the link already carries
 * is kept). String work only: parsing a URL object per link costs more than the rest of a render.
 */
export function withUtm(target: string, utm: [string, string][], hosts: string[]): string {
  if (utm.length === 0) return target;
  const host = HOST.exec(target)?.[1]?.toLowerCase();
  if (!host || !hosts.includes(host)) return target;
  const hashAt = target.indexOf('#');
  const base = hashAt < 0 ? target : target.slice(0, hashAt);
  const fragment = hashAt < 0 ? '' : target.slice(hashAt);
  const queryAt = base.indexOf('?');
  const query = queryAt < 0 ? '' : base.slice(queryAt);
  let out = base;
  let sep = queryAt < 0 ? '?' : query === '?' || query.endsWith('&') ? '' : '&';
  for (const [k, v] of utm) {
    if (query.includes(`?${k}=`) || query.includes(`&${k}=`)) continue;
    out += `${sep}${encodeURIComponent(k)}=${encodeURIComponent(v)}`;
    sep = '&';
  }
  return out === base ? target : out + fragment;
}

/** The block helper the compiler wraps around every `href` value: `href="{{#__link}}…{{/__link}}"`. */
export const LINK_HELPER = '__link';

/** The same for the text part (no attribute encoding). */
export const TEXT_LINK_HELPER = '__textlink';

/** Matches the value of every `<a href="…">` in HTML. */
export const HREF = /(<a\b[^>]*?\bhref=")([^"]*)(")/gi;
const TEXT_LINK = /<((?:https?|mailto|tel):[^>\s]+)>/g;

/**
 * Decides the URL written for each link of one message. Every http(s) link except the unsubscribe
 * link, the web view and links already pointing at the tracking server becomes a tracking link
 * (the same target gets the same link), with UTM parameters added for the shop's own hosts.
 * `mailto:` and `tel:` stay as written. Unsafe schemes fail the message. `links` holds the tracked
 * targets by index: they are stored with the message, so a click URL never carries its target.
 */
export class LinkTracker {
  readonly links: string[] = [];
  private readonly tracked = new Map<string, string>();
  private readonly unsubscribe: unknown;
  private readonly webview: unknown;
  private readonly trackingBase: string;
  private utm?: [string, string][];
  private hosts?: string[];

  constructor(
    private readonly data: Record<string, unknown>,
    private readonly settings: LinkSettings,
    private readonly rewrite?: LinkRewriter,
  ) {
    this.unsubscribe = data.unsubscribe_url;
    this.webview = data.webview_url;
    this.trackingBase = typeof data.tracking_base === 'string' && data.tracking_base ? data.tracking_base : '\u0000';
  }

  /** The URL to write into the mail for a link target. */
  url(target: string): string {
    assertSafeLink(target);
    if (
      !this.rewrite ||
      !/^https?:\/\//i.test(target) ||
      target === this.unsubscribe ||
      target === this.webview ||
      target.startsWith(this.trackingBase)
    )
      return target;
    let url = this.tracked.get(target);
    if (url === undefined) {
      if (!this.utm) {
        this.utm = utmFor(this.settings, this.data);
        const shopHost = hostOf(str(this.data.shop_url));
        this.hosts = this.settings.utmHosts ?? (shopHost ? [shopHost] : []);
      }
      const full = withUtm(target, this.utm, this.hosts!);
      url = this.rewrite(full, this.links.length);
      this.links.push(full);
      this.tracked.set(target, url);
    }
    return url;
  }
}

type LinkHelperOptions = { fn: (ctx: unknown) => string; data?: { tracker?: LinkTracker } };

/**
 * `{{#__link}}…{{/__link}}` around an href value (inserted by the compiler): renders the value
 * and writes the URL the message's LinkTracker decides, attribute-encoded, so no per-recipient
 * scan of the whole HTML is needed.
 */
export function linkHelper(this: unknown, options: LinkHelperOptions): string {
  const inner = options.fn(this);
  const target = decodeHref(inner);
  const tracker = options.data?.tracker;
  const url = tracker ? tracker.url(target) : (assertSafeLink(target), target);
  return url === target ? inner : encodeHref(url);
}

/** The text-part twin of `linkHelper`: the same target gets the same URL, unencoded. */
export function textLinkHelper(this: unknown, options: LinkHelperOptions): string {
  const inner = options.fn(this);
  const tracker = options.data?.tracker;
  return tracker ? tracker.url(inner) : (assertSafeLink(inner), inner);
}

/**
 * Rewrites the links of already rendered HTML and text with a LinkTracker (for HTML that did not
 * come through the compiler, e.g. a naive per-recipient MJML compile).
 */
export function rewriteLinks(
  html: string,
  text: string,
  data: Record<string, unknown>,
  settings: LinkSettings,
  rewrite?: LinkRewriter,
): { html: string; text: string; links: string[] } {
  const tracker = new LinkTracker(data, settings, rewrite);
  const seen = new Map<string, string>();
  html = html.replace(HREF, (_m, pre: string, href: string, post: string) => {
    const target = decodeHref(href);
    const url = tracker.url(target);
    if (url !== target) seen.set(target, url);
    return pre + (url === target ? href : encodeHref(url)) + post;
  });
  if (seen.size > 0) {
    // The text part names the same targets: point them at the same tracking links.
    text = text.replace(TEXT_LINK, (m, target: string) => {
      const url = seen.get(target);
      return url ? `<${url}>` : m;
    });
  }
  return { html, text, links: tracker.links };
}
