import { esc } from '../server/pages.js';
import { formatMoney } from '../util/money.js';

/** How a number is shown: a count, minor units of money, or a fraction shown as a percentage. */
export type MetricFormat = 'int' | 'money' | 'pct' | 'pp' | 'prob';

/** JSON pointer (RFC 6901) to a value inside the stats report. */
export function pointer(path: (string | number)[]): string {
  return path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** The text of a number as the page shows it; null (no denominator, no data) is a dash. */
export function display(value: number | null | undefined, format: MetricFormat, currency = 'EUR'): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  switch (format) {
    case 'int':
      return value.toLocaleString('en-US', { maximumFractionDigits: 0 });
    case 'money':
      return formatMoney(Math.round(value), currency, 'en');
    case 'pct': {
      // Complaint rates live around 0.1%: small rates keep two decimals so thresholds stay visible.
      const digits = Math.abs(value) < 0.01 && value !== 0 ? 2 : 1;
      return `${(value * 100).toFixed(digits)}%`;
    }
    case 'pp': {
      const sign = value > 0 ? '+' : value < 0 ? '−' : '±';
      return `${sign}${Math.abs(value * 100).toFixed(2)} pp`;
    }
    case 'prob':
      return value.toFixed(3);
  }
}

/**
 * A number on the page: the shown text plus `data-metric` (a readable name such as
 * `winback-lapsed.sent`), `data-path` (a JSON pointer into the report that `comeback stats --json`
 * prints), `data-format` and `data-value` (the exact value, empty for null), so a test or a script
 * can check the page against the JSON.
 */
export function metric(
  name: string,
  path: (string | number)[],
  value: number | null | undefined,
  format: MetricFormat,
  currency?: string,
): string {
  const raw = value === null || value === undefined ? '' : String(value);
  return (
    `<span class="metric" data-metric="${esc(name)}" data-path="${esc(pointer(path))}" data-format="${format}" data-value="${esc(raw)}"` +
    `${currency ? ` data-currency="${esc(currency)}"` : ''}>${esc(display(value, format, currency))}</span>`
  );
}

/** An interval such as `[−0.40 pp, +3.10 pp]`, or a dash. Each end is its own metric. */
export function interval(
  name: string,
  path: (string | number)[],
  value: [number, number] | null | undefined,
  format: MetricFormat,
  currency?: string,
): string {
  if (!value) return `<span class="muted">—</span>`;
  return `[${metric(`${name}.low`, [...path, 0], value[0], format, currency)}, ${metric(`${name}.high`, [...path, 1], value[1], format, currency)}]`;
}

/** Serialises data for a `<script type="application/json">` block: no `<`, `>`, `&` or line separators can end it early. */
export function jsonForScript(data: unknown): string {
  return JSON.stringify(data).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
