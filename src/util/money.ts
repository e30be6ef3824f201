/** Number of minor-unit digits of a currency (EUR 2, JPY 0), from Intl. */
export function currencyDigits(currency: string): number {
  let digits = digitCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    digitCache.set(currency, digits);
  }
  return digits;
}
// Building an Intl.NumberFormat costs microseconds; imports call this once per amount.
const digitCache = new Map<string, number>();

/**
 * Parses a decimal amount in major units ("49.90", "1234,5", "-3") into integer minor units
 * without floating-point rounding. Returns undefined when the text is not a number.
 */
export function parseMajorAmount(text: string, currency: string): number | undefined {
  const m = /^\s*(-)?(\d+)(?:[.,](\d+))?\s*$/.exec(text);
  if (!m) return undefined;
  const digits = currencyDigits(currency);
  const frac = (m[3] ?? '').padEnd(digits, '0');
  if (frac.length > digits) return undefined;
  const minor = Number(m[2]) * 10 ** digits + Number(frac || '0');
  return m[1] ? -minor : minor;
}

/** Formats minor units for display, e.g. 123450 EUR in de-DE → "1.234,50 €". */
export function formatMoney(minor: number, currency: string, locale: string): string {
  const key = `${locale}|${currency}`;
  let f = formatCache.get(key);
  if (!f) formatCache.set(key, (f = new Intl.NumberFormat(locale, { style: 'currency', currency })));
  return f.format(minor / 10 ** currencyDigits(currency));
}
const formatCache = new Map<string, Intl.NumberFormat>();
