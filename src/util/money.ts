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
 * Removes unambiguous digit grouping: "1.234,50", "1,234.50", "1'234.50", "1.234.567". A single
 * group without a decimal part ("1.234") stays as it is: it could be a decimal number.
 */
function ungroup(text: string): string {
  const m = /^(-?)(\d{1,3}(?:([.,'])\d{3})+)(?:([.,])(\d+))?$/.exec(text);
  if (!m) return text;
  const [, sign, grouped, sep, decimalSep, decimals] = m;
  if (decimalSep === sep) return text;
  const groups = grouped!.split(sep!).length - 1;
  if (!decimalSep && sep !== "'" && groups < 2) return text;
  return `${sign}${grouped!.split(sep!).join('')}${decimalSep ? `.${decimals}` : ''}`;
}

/**
 * Parses a decimal amount in major units ("49.90", "1234,5", "-3", "1.234,50") into integer
 * minor units without floating-point rounding. Returns undefined when the text is not a number,
 * or has more decimals than the currency ("1.234" in EUR: a thousand or one?).
 */
export function parseMajorAmount(text: string, currency: string): number | undefined {
  const m = /^(-)?(\d+)(?:[.,](\d+))?$/.exec(ungroup(text.trim()));
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
