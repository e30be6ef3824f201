/** Terminal rendering of the programme's uplift over the global control group (`comeback stats`). */
import type { ProgrammeReport } from '../../metrics/types.js';
import { formatMoney } from '../../util/money.js';
import { pct, upliftCell } from './report.js';

/** The programme section, or '' when there is no control group and never was one. */
export function programmeText(p: ProgrammeReport, currency: string, locale = 'en'): string {
  const u = p.uplift;
  if (p.controlShare === 0 && u.holdout.enrolled === 0) return '';
  const money = (m: number | null) => (m === null ? '–' : formatMoney(Math.round(m), currency, locale));
  const range = (ci: [number, number] | null) => (ci ? ` [${money(ci[0])}, ${money(ci[1])}]` : '');
  const head = `programme vs global control group (${pct(p.controlShare)} of customers, rotation "${p.rotation}"), orders within ${p.windowDays} days of a customer's first entry`;
  const pending = p.pending > 0 ? `; ${p.pending} customers still inside their window` : '';
  if (!u.available || !u.absoluteCi95) return `${head}\n  ${u.reason ?? 'n/a'}${pending}`;
  return [
    head,
    `  conversion: programme ${pct(u.mailed.conversionRate)} (${u.mailed.conversions}/${u.mailed.enrolled}) vs control ${pct(u.holdout.conversionRate)} (${u.holdout.conversions}/${u.holdout.enrolled}): ${upliftCell(u)} 95% CI — ${u.verdict}`,
    `  revenue per eligible customer: ${money(u.mailed.revenuePerEnrolledMinor)} vs ${money(u.holdout.revenuePerEnrolledMinor)}, difference ${money(u.revenuePerEnrolledDifferenceMinor)}${range(u.revenuePerEnrolledDifferenceCi95)} — ${u.revenueVerdict}`,
    `  net revenue per eligible customer: difference ${money(p.netRevenue.differenceMinor)}${range(p.netRevenue.ci95)} — ${p.netRevenue.verdict ?? '–'}${pending}`,
  ].join('\n');
}
