import Handlebars from 'handlebars';
import { TemplateError } from '../errors.js';
import { guardValues, type CompiledTemplate } from './compile.js';
import { LinkTracker, type LinkRewriter } from './links.js';

export type { LinkRewriter } from './links.js';

/** A rendered mail body. `links` are the tracked targets, by index, to be stored with the message. */
export interface RenderedBody {
  html: string;
  text: string;
  links: string[];
}

function reason(t: { name: string; locale: string }, err: unknown): TemplateError {
  const e = err as Error & { lineNumber?: number };
  if (e instanceof TemplateError) return new TemplateError(`template ${t.name} (${t.locale}): ${e.message}`);
  // Handlebars strict mode: `"total" not defined in null` when an object the path goes through is missing.
  const viaNull = /Cannot read properties of (null|undefined) \(reading '([^']+)'\)/.exec(e.message);
  const what = viaNull
    ? `"${viaNull[2]}" not defined in ${viaNull[1]}`
    : e.message.replace(/ - \d+:\d+$/, '').replace(/ in \[object Object\]$/, ' in the data');
  return new TemplateError(`template ${t.name} (${t.locale}): a value is missing for this recipient: ${what}`);
}

/**
 * Renders a compiled template for one recipient: one Handlebars call (HTML and text part) in which
 * every link goes through the message's LinkTracker (tracking link, UTM parameters, safe scheme),
 * then the open pixel is appended. A value the data lacks, or
 * a null printed outside a guard, fails the message with a TemplateError naming template and
 * variable, never a blank.
 */
export function renderBody(
  t: CompiledTemplate,
  data: Record<string, unknown>,
  rewrite?: LinkRewriter,
  openPixel?: string,
): RenderedBody {
  const tracker = new LinkTracker(data, t.links, rewrite);
  let both: string;
  try {
    both = t.render(data, { data: { tracker } });
  } catch (err) {
    throw reason(t, err);
  }
  const at = both.indexOf(t.separator);
  let html = both.slice(0, at);
  let text = both.slice(at + t.separator.length);
  // Lines that only held block helpers ({{#if}}, {{/each}}) leave runs of empty lines behind.
  text = text
    .replace(/^[ \t]+|[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (openPixel) {
    const img = `<img src="${openPixel}" width="1" height="1" alt="" style="display:block;height:1px;width:1px;border:0" />`;
    const end = html.lastIndexOf('</body>');
    html = end >= 0 ? html.slice(0, end) + img + html.slice(end) : html + img;
  }
  return { html, text, links: tracker.links };
}

type Hb = typeof Handlebars;
const headerCache = new WeakMap<Hb, Map<string, (d: unknown) => string>>();

/**
 * Renders a subject or preheader template (Handlebars, not HTML-escaped; compiled once per text)
 * and refuses a value containing CR or LF (header injection).
 */
export function renderHeaderText(hb: Hb, template: string, data: Record<string, unknown>): string {
  let value: string;
  try {
    let cache = headerCache.get(hb);
    if (!cache) headerCache.set(hb, (cache = new Map()));
    let fn = cache.get(template);
    if (!fn) {
      if (cache.size > 5000) cache.clear();
      cache.set(template, (fn = hb.compile(guardValues(Handlebars.parse(template)), { strict: true, noEscape: true })));
    }
    value = fn(data);
  } catch (err) {
    throw new TemplateError(`subject "${template}": ${(err as Error).message.replace(/ - \d+:\d+$/, '')}`);
  }
  if (/[\r\n]/.test(value))
    throw new TemplateError(
      `subject "${template}" renders to a value containing a line break (header injection refused)`,
    );
  return value.replace(/\s+/g, ' ').trim();
}
