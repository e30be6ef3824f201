/**
 * Strict parsing of the times people and shop exports write. Date.parse is too lenient for
 * imports: it reads "12" as the year 2001, "2026-02-30" as 2 March, and a time without an
 * offset in the machine's own time zone, so the same file would import differently per server.
 */
import { InputError } from '../errors.js';

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
/** German and other European shop exports: 24.11.2026 or 24.11.2026 14:03. */
const DOTTED = /^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

/** What the parsers accept, for error messages. */
export const TIME_FORMATS = 'a date like 2026-03-01 or 01.03.2026, or a time like 2026-03-01T12:00:00Z';

function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  if (d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return undefined; // 30 February, 31 April
  return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}

/**
 * Epoch milliseconds of an ISO 8601 date or time (`2026-03-01`, `2026-03-01T12:00`,
 * `2026-03-01 12:00:00+01:00`) or a dotted day-first date (`01.03.2026`, `01.03.2026 12:00`);
 * UTC unless the text carries an offset. Undefined for anything else, impossible dates included.
 */
export function parseTime(text: string): number | undefined {
  const s = text.trim();
  const iso = ISO.exec(s);
  if (iso) {
    const [, y, mo, d, h, mi, sec, frac, zone] = iso;
    const t = utc(+y!, +mo!, +d!, +(h ?? 0), +(mi ?? 0), +(sec ?? 0), frac ? Math.floor(+`0.${frac}` * 1000) : 0);
    if (t === undefined) return undefined;
    if (!zone || zone.toUpperCase() === 'Z') return t;
    const digits = zone.slice(1).replace(':', '');
    const offset = (+digits.slice(0, 2) * 60 + +(digits.slice(2) || '0')) * 60_000;
    return zone[0] === '+' ? t - offset : t + offset;
  }
  const dotted = DOTTED.exec(s);
  if (dotted) {
    const [, d, mo, y, h, mi, sec] = dotted;
    return utc(+y!, +mo!, +d!, +(h ?? 0), +(mi ?? 0), +(sec ?? 0));
  }
  return undefined;
}

/** `parseTime` for a command-line option or field: an InputError naming it when the text is not a time. */
export function parseTimeOption(text: string, option: string, expected = TIME_FORMATS): number {
  const t = parseTime(text);
  if (t === undefined) throw new InputError(option, [`expected ${expected}, got "${text}"`]);
  return t;
}

/** Zones already checked; bounded, since the names come from imported data. */
const knownZones = new Map<string, boolean>();

/**
 * Whether `tz` is an IANA time zone this runtime knows (`Europe/Berlin`). Constructing a formatter
 * is the only portable check and costs about 80 µs, so each name is checked once.
 */
export function isTimeZone(tz: string): boolean {
  let ok = knownZones.get(tz);
  if (ok !== undefined) return ok;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    ok = true;
  } catch {
    ok = false;
  }
  if (knownZones.size < 1000) knownZones.set(tz, ok);
  return ok;
}
