import Handlebars from 'handlebars';
import { TemplateError } from '../errors.js';
import { formatMoney } from '../util/money.js';
import { LINK_HELPER, linkHelper, TEXT_LINK_HELPER, textLinkHelper } from './links.js';

type Options = Handlebars.HelperOptions;
const DAY = 86_400_000;

/** Names of Comeback's helpers (besides Handlebars' own if, unless, each, with, lookup). */
export const HELPERS = [
  'money',
  'number',
  'date',
  'since',
  'ago',
  'plural',
  'percent',
  'formal',
  'eq',
  'default',
] as const;

/** The helper the compiler wraps around every printed value: fails the message instead of a blank. */
export const VALUE_HELPER = '__value';

const root = (o: Options) => (o.data?.root ?? {}) as Record<string, unknown>;
const localeOf = (o: Options) => (root(o).locale as string | undefined) ?? 'en';
const isDe = (locale: string) => locale.toLowerCase().startsWith('de');

// Building an Intl formatter costs tens of microseconds; a render must not pay that per value.
const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat | Intl.PluralRules | Intl.RelativeTimeFormat>();
function cached<T extends Intl.NumberFormat | Intl.DateTimeFormat | Intl.PluralRules | Intl.RelativeTimeFormat>(
  key: string,
  make: () => T,
): T {
  let f = cache.get(key) as T | undefined;
  if (!f) cache.set(key, (f = make()));
  return f;
}

/** The unit and count a duration is best said in: 10 days, 3 weeks, 4 months, 2 years. */
export function durationUnit(ms: number): { unit: 'day' | 'week' | 'month' | 'year'; count: number } {
  const days = Math.max(0, Math.floor(ms / DAY));
  if (days < 14) return { unit: 'day', count: days };
  if (days < 60) return { unit: 'week', count: Math.round(days / 7) };
  if (days < 548) return { unit: 'month', count: Math.round(days / 30.44) };
  return { unit: 'year', count: Math.round(days / 365.25) };
}

const DE_SINCE = {
  day: ['einem Tag', 'Tagen'],
  week: ['einer Woche', 'Wochen'],
  month: ['einem Monat', 'Monaten'],
  year: ['einem Jahr', 'Jahren'],
} as const;

/**
 * "seit 3 Monaten" (de), "for 3 months" (en): how long something has been so, from `then` to `now`.
 * Other languages fall back to the relative form ("3 months ago" in that language).
 */
export function sinceText(then: number, now: number, locale: string): string {
  const { unit, count } = durationUnit(now - then);
  if (isDe(locale)) {
    if (count === 0) return 'seit heute';
    return `seit ${count === 1 ? DE_SINCE[unit][0] : `${count} ${DE_SINCE[unit][1]}`}`;
  }
  if (locale.toLowerCase().startsWith('en'))
    return count === 0 ? 'since today' : `for ${count} ${unit}${count === 1 ? '' : 's'}`;
  return agoText(then, now, locale);
}

/** "vor 3 Monaten", "3 months ago", "gestern": Intl.RelativeTimeFormat in the customer's language. */
export function agoText(then: number, now: number, locale: string): string {
  const { unit, count } = durationUnit(now - then);
  return cached(`rt|${locale}`, () => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })).format(-count, unit);
}

/** A Handlebars instance with Comeback's helpers; one per store, so helpers never leak globally. */
export function createHandlebars(): typeof Handlebars {
  const hb = Handlebars.create();

  /** `{{money total_spent}}` → "1.234,50 €" in de-DE. Minor units; currency from the data or the 2nd argument. */
  hb.registerHelper('money', function (minor: unknown, ...args: unknown[]) {
    const options = args.pop() as Options;
    const currency = typeof args[0] === 'string' ? args[0] : ((root(options).currency as string | undefined) ?? 'EUR');
    if (typeof minor !== 'number')
      throw new TemplateError(`money: expected an amount in minor units, got ${JSON.stringify(minor)}`);
    return formatMoney(minor, currency, localeOf(options));
  });

  /** `{{number orders_count}}` → "1.234" in de. */
  hb.registerHelper('number', function (value: unknown, options: Options) {
    const locale = localeOf(options);
    return cached(`n|${locale}`, () => new Intl.NumberFormat(locale)).format(Number(value));
  });

  /** `{{date last_order.ordered_at}}` → "12.03.2026"; `{{date t "long"}}` → "12. März 2026". In the customer's time zone. */
  hb.registerHelper('date', function (ms: unknown, ...args: unknown[]) {
    const options = args.pop() as Options;
    if (typeof ms !== 'number') throw new TemplateError(`date: expected a time, got ${JSON.stringify(ms)}`);
    const style = (typeof args[0] === 'string' ? args[0] : 'medium') as 'short' | 'medium' | 'long' | 'full';
    const locale = localeOf(options);
    const tz = (root(options).time_zone as string | undefined) ?? 'UTC';
    return cached(
      `d|${locale}|${style}|${tz}`,
      () => new Intl.DateTimeFormat(locale, { dateStyle: style, timeZone: tz }),
    ).format(ms);
  });

  /** `{{since last_order.ordered_at}}` → "seit 3 Monaten" / "for 3 months" (relative to the send time). */
  hb.registerHelper('since', function (ms: unknown, options: Options) {
    if (typeof ms !== 'number') throw new TemplateError(`since: expected a time, got ${JSON.stringify(ms)}`);
    return sinceText(ms, (root(options).now as number | undefined) ?? Date.now(), localeOf(options));
  });

  /** `{{ago last_order.ordered_at}}` → "vor 3 Monaten" / "3 months ago". */
  hb.registerHelper('ago', function (ms: unknown, options: Options) {
    if (typeof ms !== 'number') throw new TemplateError(`ago: expected a time, got ${JSON.stringify(ms)}`);
    return agoText(ms, (root(options).now as number | undefined) ?? Date.now(), localeOf(options));
  });

  /**
   * `{{plural orders_count "Bestellung" "Bestellungen"}}` picks the word by the locale's plural
   * rules; `{{plural n one="…" few="…" other="…"}}` covers languages with more forms. `#` in the
   * chosen form is replaced by the formatted number: `{{plural n "# Bestellung" "# Bestellungen"}}`.
   */
  hb.registerHelper('plural', function (n: unknown, ...args: unknown[]) {
    const options = args.pop() as Options;
    const locale = localeOf(options);
    const count = Number(n);
    const category = cached(`p|${locale}`, () => new Intl.PluralRules(locale)).select(count);
    const forms = options.hash as Record<string, string>;
    const chosen =
      forms[category] ??
      (category === 'one'
        ? ((args[0] as string | undefined) ?? forms.one)
        : ((args[1] as string | undefined) ?? forms.other)) ??
      '';
    return chosen.includes('#')
      ? chosen.replace(/#/g, cached(`n|${locale}`, () => new Intl.NumberFormat(locale)).format(count))
      : chosen;
  });

  /** `{{percent 15}}` → "15 %" in de, "15%" in en. */
  hb.registerHelper('percent', function (value: unknown, options: Options) {
    const locale = localeOf(options);
    return cached(`pc|${locale}`, () => new Intl.NumberFormat(locale, { style: 'percent' })).format(
      Number(value) / 100,
    );
  });

  /** `{{formal "Sie" "du"}}`: the first text for the formal style, the second for the informal one. */
  hb.registerHelper('formal', function (formalText: unknown, informalText: unknown, options: Options) {
    return root(options).style === 'informal' ? informalText : formalText;
  });

  /** `{{#if (eq churn_reason "price")}}`: strict equality. */
  hb.registerHelper('eq', function (a: unknown, b: unknown) {
    return a === b;
  });

  /** `{{default first_name "Kundin, Kunde"}}`: the value, or the fallback when it is null or empty. */
  hb.registerHelper('default', function (value: unknown, fallback: unknown) {
    return value === null || value === undefined || value === '' ? fallback : value;
  });

  /** Wrapped around every printed value by the compiler: a null value fails the message, never a blank. */
  hb.registerHelper(VALUE_HELPER, function (value: unknown, name: string) {
    if (value === null || value === undefined)
      throw new TemplateError(
        `{{${name}}} has no value for this recipient (guard it with {{#if ${name}}} or use {{default ${name} "…"}})`,
      );
    return value;
  });
  hb.registerHelper(LINK_HELPER, linkHelper);
  hb.registerHelper(TEXT_LINK_HELPER, textLinkHelper);
  return hb;
}
